"""facegan project, translate, edit: a user's picture as a face code, in the other domain, edited."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facegan import checks
from facegan.checks import arg_real, arg_whole
from facegan.cli.common import RENDERING, open_pipeline, render_flags


def _project(args) -> int:
    """``project stylegan``: a picture into W (facegan.project); its latent, pictures, video and code in --out."""
    from tqdm import tqdm

    from facegan import project
    from facegan.images import open_picture

    if args.technique != "stylegan":
        raise ValueError(f"project is for stylegan, not {args.technique}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out} is a file: give a folder")
    picture = open_picture(args.picture, args.picture)  # pixel cap, damaged files: InputError, one line
    st = open_pipeline(args)  # float32, exact: the code draws the projection's picture bit for bit
    bar = tqdm(total=args.steps, unit="step", desc="projecting", disable=args.quiet, dynamic_ncols=True)

    def progress(done: int, steps: int, loss: float) -> None:
        bar.update(done - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    try:
        p = st.project(picture, args.steps, args.space, args.crop, args.face, args.seed, progress=progress,
                       pixel_weight=args.pixel_weight, optimise_noise=args.optimise_noise)
    finally:
        bar.close()
    if p.notice:
        print(p.notice, file=sys.stderr)
    files = project.save(p, out, size=args.size)
    if p.code is None:
        print(f"this checkpoint's W+ ({st.num_ws} x {st.w_dim} values) is too large for a face code: the latent is "
              f"in {files['latent']}", file=sys.stderr)
    print(f"{p.space.upper()} after {len(p.losses)} steps: loss {p.loss:.4f} (step {p.best_step}), PSNR "
          f"{project.psnr(p.target, p.picture):.1f} dB, {p.seconds:.1f} s", file=sys.stderr)
    for path in files.values():
        print(path)
    return 0



def _translate(args) -> int:
    from facegan.images import open_picture

    if args.technique != "ugatit":
        raise ValueError(f"translate needs a two-domain model (ugatit), not {args.technique}")
    if not (args.out or args.attention or args.side_by_side):
        raise ValueError("say where to write: --out, --attention and/or --side-by-side")
    tr = open_pipeline(args)  # float32, exact: the reference a converted model is checked by
    picture = open_picture(args.picture, args.picture)  # pixel cap, damaged files: InputError, one line
    r = tr.translate(picture, args.direction, args.crop, args.face, display=args.size)
    if r.notice:
        print(r.notice, file=sys.stderr)
    written = []
    for path, pic in ((args.out, r.output), (args.attention, r.attention), (args.side_by_side, r.side_by_side)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pic.save(path)
            written.append(path)
    print(f"{tr.direction_label(args.direction)}: {', '.join(written)}")
    return 0


def _set_labels(items: list[str]) -> dict:
    """``--set hair=blue --set attributes=+Male,-Young`` -> target labels: a categorical value, the
    attributes on (``a,b``), or attributes switched (``+a,-b``)."""
    target: dict = {}
    for item in items:
        group, sep, value = item.partition("=")
        group, value = group.strip(), value.strip()
        if not sep or not group:
            raise ValueError(f"--set {checks.quote(item)}: write GROUP=VALUE, e.g. --set hair=blue")
        if group in target:
            raise ValueError(f"--set names {checks.quote(group)} twice")
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if parts and all(p[0] in "+-" for p in parts):
            target[group] = {p[1:]: p[0] == "+" for p in parts}
        elif any(p[0] in "+-" for p in parts):
            raise ValueError(f"--set {checks.quote(item)}: switch every attribute (+a,-b) or list the ones on "
                             "(a,b), not both")
        else:
            target[group] = value if len(parts) == 1 and "," not in value else parts
    return target


STYLEGAN_EDIT = ("seed", "code", "direction", "layers", "strength", "strip")  # edit stylegan's flags


def _direction_arg(text: str) -> int | str:
    """--direction: a SeFa direction (a whole number, checked here) or a labelled direction's name."""
    try:
        float(text)
    except ValueError:
        return text.strip()  # a name ("hair: blue"): the studio checks it against the checkpoint's
    return arg_whole("direction", 0, checks.MAX_WIDTH - 1)(text)


def _edit_stylegan(args) -> int:
    """``edit stylegan``: a face (--seed / --code) along a SeFa direction of --layers or a labelled
    direction ("hair: blue", all styles by default), or its --strip."""
    from facegan.studio import span

    for flag, given in (("a picture", args.picture), ("--group", args.group), ("--set", args.set),
                        ("--side-by-side", args.side_by_side)):
        if given:
            raise ValueError(f"edit stylegan takes a face as --seed or --code, not {flag} (that is stargan's)")
    if args.seed is not None and args.code is not None:
        raise ValueError("give the face as --seed or --code, not both")
    flags = render_flags(args)
    st = open_pipeline(args)  # float32, exact, as generate stylegan; with the directions the checkpoint ships
    rendering = st.rendering(**flags)
    face = args.code if args.code is not None else (args.seed if args.seed is not None else 0)
    direction = 0 if args.direction is None else args.direction
    layers = args.layers  # None: coarse for a SeFa direction, all for a labelled one
    strength = 3.0 if args.strength is None else args.strength
    e = st.edit(face, direction, layers, strength, render=rendering)  # every check before anything is written
    out = Path(args.out)
    if args.strip:
        strip = st.edit_strip(e.code, e.direction, e.layers, e.strength, args.strip, render=rendering)
        picture = strip.figure(args.size or max(st.size, 128))
    else:
        picture = e.picture
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    what = f"strip of {args.strip} over ±{abs(e.strength):g}" if args.strip else f"strength {e.strength:+g}"
    if isinstance(e.direction, str):
        print(f"labelled direction {e.direction!r} (boundary accuracy {e.accuracy:.0%} on held-out faces) in styles "
              f"{span(e.layers)}, {what}: {out}")
    else:
        print(f"direction {e.direction} of {e.directions} of styles {span(e.layers)} (eigenvalue {e.eigenvalue:.3g}, "
              f"{e.share:.0%}), {what}: {out}")
    return 0


def _edit(args) -> int:
    from facegan.editor import describe
    from facegan.images import open_picture

    if args.technique == "stylegan":
        return _edit_stylegan(args)
    given = [n for n in (*STYLEGAN_EDIT, *RENDERING) if getattr(args, n, None) is not None]
    if given:
        raise ValueError(f"--{given[0].replace('_', '-')} is for edit stylegan, not {args.technique}")
    if not args.picture:
        raise ValueError(f"edit {args.technique} needs a picture (the file to edit)")
    if bool(args.group) == bool(args.set):
        raise ValueError("say what to make: --group GROUP (every value of a group, as a grid) or "
                         "--set GROUP=VALUE [--set ...] (one edit)")
    if args.technique != "stargan":
        raise ValueError(f"edit needs a StarGAN model, not {args.technique} (edit stylegan moves a face along a direction)")
    ed = open_pipeline(args)  # float32, exact, as generate and rank
    target = _set_labels(args.set) if args.set else None
    if args.group and args.group not in ed.groups:
        raise ValueError(f"{checks.quote(args.group)} is not a label group of this checkpoint; its groups are "
                         f"{', '.join(ed.groups)}")
    if target is not None:
        ed.check(target)  # before reading the picture: a bad group or value is the message
    picture = open_picture(args.picture, args.picture)  # pixel cap, damaged files: InputError, one line
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.group:
        r = ed.grid(picture, args.group, args.crop, args.face, display=args.size or 256)
        r.grid.save(out)
        what = f"{args.group}: {', '.join(label for _, label in r.pictures)}"
    else:
        r = ed.edit(picture, target, args.crop, args.face, display=args.size or 256)
        (r.side_by_side if args.side_by_side else r.output).save(out)
        what = describe(r.target)
    if r.notice:
        print(r.notice, file=sys.stderr)
    print(f"read as {describe(r.read)}", file=sys.stderr)
    print(f"{what}: {out}")
    return 0


def add(sub, model_args: argparse.ArgumentParser, render_args: argparse.ArgumentParser) -> None:
    """The parsers of these verbs."""
    pj = sub.add_parser("project", parents=[model_args], help="your own picture as a StyleGAN face: its latent and code",
                        description="Find a picture's face in StyleGAN's W (StyleGAN2's projector, App. D): crop the "
                                    "face, optimise the latent for --steps steps, and write to --out "
                                    "latent.safetensors (+ latent.json), projection.png (input | projection), "
                                    "projection.mp4 (the optimisation) and code.txt: a face code (w:... or wp:...) "
                                    "that generate, interpolate and edit stylegan take like any other.")
    pj.add_argument("picture", help="the picture (any size; RGB, greyscale or RGBA)")
    pj.add_argument("--out", required=True, help="the folder to write")
    pj.add_argument("--steps", type=arg_whole("steps", 1, checks.MAX_PROJECT_STEPS), default=200,
                    help=f"optimisation steps (default 200, at most {checks.MAX_PROJECT_STEPS}; the paper: 1000)")
    pj.add_argument("--space", choices=["w", "w+"], default="w",
                    help="w: one w for every style (the default); w+: a w per style (closer, less like G's faces)")
    pj.add_argument("--crop", choices=["auto", "anime", "photo", "none"], default="auto",
                    help="face crop: auto (the anime-face detector, then the photo one), anime, photo or none")
    pj.add_argument("--face", type=arg_whole("face", 0, checks.MAX_FACE_INDEX), default=0,
                    help="which detected face, largest first (default 0)")
    pj.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0,
                    help="seed of the noise added to the latent while it explores (default 0)")
    pj.add_argument("--pixel-weight", type=arg_real("pixel-weight", 0, 1e6), default=1.0, dest="pixel_weight",
                    help="weight of the pixel L2 term beside the perceptual (Inception) distance (default 1)")
    pj.add_argument("--optimise-noise", action="store_true", dest="optimise_noise",
                    help="optimise the noise maps too, as the paper (kept in latent.safetensors; the code draws "
                         "with the checkpoint's noise, so it then reproduces the face less exactly)")
    pj.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                    help="each picture's side in projection.png (default 256)")
    pj.add_argument("--quiet", action="store_true", help="no progress bar")
    pj.set_defaults(func=_project)

    x = sub.add_parser("translate", parents=[model_args], help="a picture into the other domain (ugatit)",
                       description="Translate a face picture with a two-domain model: crop the face (optional), "
                                   "translate, write the result, the CAM attention over the input, or both side by side.")
    x.add_argument("picture", help="input picture (any size; RGB, greyscale or RGBA)")
    x.add_argument("--out", type=checks.arg_picture_file("--out"), help="the translated face (PNG)")
    x.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="a2b: selfie -> anime (default)")
    x.add_argument("--crop", choices=["auto", "anime", "photo", "none"], default="auto",
                   help="face crop: auto (the source domain's detector, then the other), anime, photo or none")
    x.add_argument("--face", type=arg_whole("face", 0, checks.MAX_FACE_INDEX), default=0,
                   help="which detected face, largest first (default 0)")
    x.add_argument("--attention", type=checks.arg_picture_file("--attention"),
                   help="also write the CAM attention over the input (PNG)")
    x.add_argument("--side-by-side", dest="side_by_side", type=checks.arg_picture_file("--side-by-side"),
                   help="also write input | result | attention (PNG)")
    x.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                   help="output size in pixels (default 256)")
    x.set_defaults(func=_translate)

    ed = sub.add_parser("edit", parents=[model_args, render_args],
                        help="a face picture to other labels (stargan), a StyleGAN face along a direction",
                        description="stargan: edit a face picture: crop the face (optional), then either every "
                                    "value of one label group as a labelled grid (--group), or one picture with "
                                    "the labels asked for (--set); the labels not named keep what the model's "
                                    "discriminator reads in the picture. stylegan: move a face (--seed or --code) "
                                    "along a closed-form (SeFa) direction of the styles --layers, or a labelled one "
                                    "(--direction \"hair: blue\"), by --strength, or write the --strip of it from "
                                    "-strength to +strength.")
    ed.add_argument("picture", nargs="?", help="stargan: input picture (any size; RGB, greyscale or RGBA)")
    ed.add_argument("--out", required=True, type=checks.arg_picture_file("--out"),
                    help="the grid (--group), the edited face (--set, or stylegan's), or stylegan's --strip, PNG")
    ed.add_argument("--group", help="a label group (e.g. hair): every value of it, as a labelled grid")
    ed.add_argument("--set", action="append", metavar="GROUP=VALUE",
                    help="a target label, e.g. --set hair=blue --set eyes=red; a binary group takes the "
                         "attributes on (Male,Young) or switched (+Male,-Young)")
    ed.add_argument("--crop", choices=["auto", "anime", "photo", "none"], default="auto",
                    help="face crop: auto (the anime-face detector, then the photo one), anime, photo or none")
    ed.add_argument("--face", type=arg_whole("face", 0, checks.MAX_FACE_INDEX), default=0,
                    help="which detected face, largest first (default 0)")
    ed.add_argument("--side-by-side", action="store_true", dest="side_by_side",
                    help="with --set: write input | result, labelled, instead of the result alone")
    ed.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY),
                    help="size of each picture in pixels (stargan: default 256; stylegan: the faces of --strip, "
                         "default 128 or the model's size)")
    ed.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), help="stylegan: the face's seed (default 0)")
    ed.add_argument("--code", help="stylegan: the face's code (hex, +seed:index:step for a variation)")
    ed.add_argument("--direction", type=_direction_arg,
                    help="stylegan: a SeFa direction, 0 the strongest (default 0), or a labelled direction the "
                         "checkpoint ships (directions.safetensors), e.g. \"hair: blue\"")
    ed.add_argument("--layers", help="stylegan: the styles to edit, coarse, middle, fine, all, or indices such as "
                                     "0-3 or 4,5 (default: coarse for a SeFa direction, all for a labelled one)")
    ed.add_argument("--strength", type=arg_real("strength", -checks.MAX_EDIT_STRENGTH, checks.MAX_EDIT_STRENGTH),
                    help=f"stylegan: how far along the unit direction in W, within ±{checks.MAX_EDIT_STRENGTH:g} "
                         "(default 3; 0: the face itself)")
    ed.add_argument("--strip", type=arg_whole("strip", 2, checks.MAX_STRIP_STEPS),
                    help="stylegan: write the face at this many strengths from -strength to +strength, labelled, "
                         "instead of the edited face")
    ed.set_defaults(func=_edit)
