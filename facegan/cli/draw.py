"""facegan generate, rank, morph, interpolate: faces from codes and seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegan import checks
from facegan.checks import arg_real, arg_whole
from facegan.cli.common import open_pipeline, render_flags, split_codes, write_faces

PICTURE_VERBS = {"ugatit": "facegan translate ugatit PICTURE", "stargan": "facegan edit stargan PICTURE"}


def _generate(args) -> int:
    from facegan import latent
    from facegan.images import save_grid

    if args.technique in PICTURE_VERBS:
        raise ValueError(f"{args.technique} changes a picture you give it; it draws no faces from codes: use "
                         f"{PICTURE_VERBS[args.technique]}")
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    if classes and args.technique != "acgan":
        raise ValueError(f"--classes is for a class-conditional model (acgan), not {args.technique}")
    rendering = render_flags(args)  # stylegan's; refused for the others before anything is loaded
    codes = split_codes(args.code) if args.code is not None else None
    if codes == []:
        raise ValueError("--code gives no code: give one or more face codes, separated by commas")
    if args.technique == "stylegan":  # truncation and noise; a code may carry variation steps
        st = open_pipeline(args)
        codes = [st.code(c) for c in codes or latent.random_codes(args.count, st.model.latent_dim, args.seed)]
        return write_faces(args, st.images(codes, render=st.rendering(**rendering)), codes)
    pipe = open_pipeline(args, exact=True)  # a converted model's faces are its reference's bit for bit
    codes = codes or latent.random_codes(args.count, pipe.nz, args.seed)
    if args.good or args.bad:  # article 002's offset vector: mean(good) - mean(bad), times --strength
        if not (args.good and args.bad):
            raise ValueError("--good and --bad go together (codes of faces you like and dislike)")
        codes = pipe.steer(codes, split_codes(args.good, "--good"), split_codes(args.bad, "--bad"), args.strength)
    if args.technique == "acgan":  # a row per class, the same latent down a column
        classes = classes or pipe.classes
        if len(classes) * len(codes) > checks.MAX_RANK:
            raise ValueError(f"{len(classes)} classes x {len(codes)} faces is more than {checks.MAX_RANK} faces: "
                             "fewer --classes or a smaller --count")
        print(save_grid(pipe.draw(classes, codes).flatten(0, 1), args.out, ncol=len(codes)))
        if args.print_codes:
            print("\n".join(codes))
        return 0
    return write_faces(args, pipe.generate(pipe.z(codes)), codes)


def _interpolate(args) -> int:
    from facegan.images import save_gif, save_mp4

    if args.technique != "stylegan":
        raise ValueError(f"interpolate is for stylegan, not {args.technique} (for dcgan: facegan morph)")
    for out in args.out:
        checks.out_file(out, "--out", checks.ANIMATION_FILES)
    faces = split_codes(args.seeds, "--seeds", checks.MAX_MORPH_FACES)
    st = open_pipeline(args)
    frames = st.interpolation_frames(faces, args.frames, args.mode, args.loop, args.side_by_side, args.size,
                                     render=st.rendering(**render_flags(args)))
    for out in args.out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        print((save_gif if Path(out).suffix.lower() == ".gif" else save_mp4)(frames, out, args.fps))
    return 0



def _rank(args) -> int:
    from facegan import latent
    from facegan.images import save_grid

    ex = open_pipeline(args, exact=True)
    if not 1 <= args.top <= args.count:
        raise ValueError(f"--top must be between 1 and --count ({args.count})")
    r = ex.rank(latent.random_codes(args.count, ex.nz, args.seed))
    k = args.top
    print(save_grid(r.images[:k], args.out, ncol=min(k, 10)))
    if args.worst:
        print(save_grid(r.images[-k:].flip(0), args.worst, ncol=min(k, 10)))
    for label, codes, scores in (("best", r.codes[:k], r.scores[:k]), ("worst", r.codes[::-1][:k], r.scores[::-1][:k])):
        for c, s in zip(codes, scores):
            print(f"{label}\t{c}\t{s:.4f}")
    return 0


def _morph(args) -> int:
    from facegan.images import save_gif, save_mp4

    for out in args.out:
        checks.out_file(out, "--out", checks.ANIMATION_FILES)  # before the model is loaded
    ex = open_pipeline(args, exact=True)
    codes = split_codes(args.code, most=checks.MAX_MORPH_FACES)
    if len(codes) < 2:
        raise ValueError("a morph needs at least 2 codes (--code A --code B ...)")
    frames = ex.morph_frames(codes, args.frames, args.mode, not args.no_loop, args.size)
    for out in args.out:
        suffix = Path(out).suffix.lower()  # .gif or .mp4: checked above
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        print((save_gif if suffix == ".gif" else save_mp4)(frames, out, args.fps))
    return 0


def add(sub, model_args: argparse.ArgumentParser, render_args: argparse.ArgumentParser) -> None:
    """The parsers of these verbs."""
    g = sub.add_parser("generate", parents=[model_args, render_args], help="generate faces from a code or a seed",
                       description="Generate faces: one from --code, or a grid of --count from --seed; "
                                   "--good/--bad add article 002's offset vector; stylegan takes --psi, --cutoff, "
                                   "--noise.")
    g.add_argument("--code", help="hex code(s) of faces, e.g. 32 hex digits for nz=16; several separated by commas")
    g.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    g.add_argument("--count", type=arg_whole("count", 1, checks.MAX_FACES), default=1,
                   help=f"faces in the grid (default 1, at most {checks.MAX_FACES})")
    g.add_argument("--columns", type=arg_whole("columns", 1, checks.MAX_COLUMNS), help="faces per row of the grid")
    g.add_argument("--good", help="codes of faces you like (commas or spaces between them)")
    g.add_argument("--bad", help="codes of faces you dislike; the codes move by mean(good) - mean(bad)")
    g.add_argument("--strength", type=arg_real("strength", -checks.MAX_STRENGTH, checks.MAX_STRENGTH), default=1.0,
                   help="times the offset vector (default 1)")
    g.add_argument("--classes", help="acgan: the classes, comma-separated (e.g. blue,red; default all): a row of "
                                      "--count faces per class, the same latent down each column")
    g.add_argument("--out", required=True, type=checks.arg_picture_file("--out"),
                   help="output PNG (or .jpg, .webp)")
    g.add_argument("--print-codes", action="store_true", help="print the code of every face")
    g.set_defaults(func=_generate)

    r = sub.add_parser("rank", parents=[model_args], help="rank random faces by the discriminator",
                       description="Generate --count faces from --seed, score them with D and write the "
                                   "--top best (and worst) as grids; prints code and score of each.")
    r.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    r.add_argument("--count", type=arg_whole("count", 1, checks.MAX_RANK), default=128,
                   help=f"faces scored (default 128, at most {checks.MAX_RANK})")
    r.add_argument("--top", type=arg_whole("top", 1, checks.MAX_RANK), default=10,
                   help="how many best (and worst) faces")
    r.add_argument("--out", required=True, type=checks.arg_picture_file("--out"),
                   help="PNG grid of the best faces")
    r.add_argument("--worst", type=checks.arg_picture_file("--worst"),
                   help="PNG grid of the worst faces, worst first")
    r.set_defaults(func=_rank)

    m = sub.add_parser("morph", parents=[model_args], help="a GIF / MP4 through 2+ faces",
                       description="Interpolate through the faces of 2 or more codes (lerp or slerp).")
    m.add_argument("--code", action="append", required=True, help="a face's code; give 2 or more")
    m.add_argument("--out", nargs="+", required=True, help="output .gif and/or .mp4")
    m.add_argument("--frames", type=arg_whole("frames", 2, checks.MAX_FRAMES), default=24,
                   help="frames per face (default 24)")
    m.add_argument("--mode", choices=["slerp", "lerp"], default="slerp")
    m.add_argument("--fps", type=arg_whole("fps", 1, checks.MAX_FPS), default=20)
    m.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                   help="frame size in pixels (default 256)")
    m.add_argument("--no-loop", action="store_true", help="stop at the last face instead of returning")
    m.set_defaults(func=_morph)

    ip = sub.add_parser("interpolate", parents=[model_args, render_args],
                        help="a StyleGAN GIF / MP4 through a list of faces",
                        description="One face morphing through the faces of --seeds (lerp in W or slerp in Z); "
                                    "with --side-by-side k the list is read k faces at a time, k faces walking "
                                    "side by side.")
    ip.add_argument("--seeds", required=True, help="seeds or face codes, comma-separated, e.g. 1,2,3")
    ip.add_argument("--out", nargs="+", required=True, help="output .gif and/or .mp4")
    ip.add_argument("--frames", type=arg_whole("frames", 2, checks.MAX_FRAMES), default=24,
                    help="frames from each face to the next (default 24)")
    ip.add_argument("--mode", choices=["lerp-w", "slerp-z"], default="lerp-w",
                    help="lerp in W (the default; any code) or slerp in Z")
    ip.add_argument("--loop", action="store_true", help="return to the first face at the end")
    ip.add_argument("--fps", type=arg_whole("fps", 1, checks.MAX_FPS), default=20)
    ip.add_argument("--side-by-side", type=arg_whole("side-by-side", 1, checks.MAX_SIDE_BY_SIDE), default=1,
                    dest="side_by_side", help="faces walking side by side (the list is read that many at a time)")
    ip.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                    help="each face's side in pixels (default 256)")
    ip.set_defaults(func=_interpolate)
