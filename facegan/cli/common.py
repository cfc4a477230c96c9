"""What the verbs share: the model a command loads, its faces' codes, writing faces, StyleGAN's
rendering flags, and the parent parsers of the verbs that use a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facegan import checks, models
from facegan.checks import arg_real, arg_whole


def load_model(args):
    """The model of --checkpoint (a folder, ``repo@revision``, a bundled name), or the technique's default."""
    from facegan import pipelines

    model, _, notice = pipelines.load(args.technique, args.checkpoint)
    _say_where(args, notice)
    return model


def open_pipeline(args, dtype: str = "float32", **options):
    """The technique's pipeline (``facegan.pipelines``) of --checkpoint, float32 by default: the CLI
    draws exactly (a face's code gives the same picture bit for bit; ``exact=True`` for the
    DCGAN/AC-GAN wrappers, which otherwise take oneDNN's channels_last path)."""
    from facegan import pipelines

    pipe = pipelines.pipeline_for(args.technique).from_pretrained(args.checkpoint, dtype=dtype, **options)
    _say_where(args, pipe.notice)
    return pipe


def _say_where(args, notice: str) -> None:
    """Where the model came from, said only for a Hub reference: the one case where it is news."""
    from facegan import hub

    ref = args.checkpoint or ""
    try:
        from_hub = hub.parse_ref(ref) is not None or hub.parse_file_ref(ref) is not None
    except hub.CheckpointError:
        from_hub = False
    if from_hub and not Path(ref).is_dir():
        print(notice, file=sys.stderr)


def split_codes(text: str | list[str], flag: str = "--code", most: int = checks.MAX_FACES) -> list[str]:
    """Codes separated by commas or spaces, at most ``most`` of them (a code's own check comes later)."""
    parts = text if isinstance(text, list) else [text]
    codes = [c for part in parts for c in part.replace(",", " ").split()]
    if len(codes) > most:
        raise checks.InputError(f"{flag} gives {len(codes):,} codes: at most {most}")
    return codes



def write_faces(args, images, codes: list[str]) -> int:
    """(N, 3, S, S) in [-1, 1] -> --out: one face as itself, more as a grid; --print-codes."""
    from facegan.images import save_grid, to_pil

    if len(images) == 1:  # one face is the face itself, not a 1x1 grid with a white border
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        to_pil(images)[0].save(out)
    else:
        out = save_grid(images, args.out, ncol=args.columns)
    print(out)
    if args.print_codes:
        print("\n".join(codes))
    return 0


RENDERING = ("psi", "cutoff", "noise", "noise_seed")


def render_flags(args) -> dict:
    """The --psi, --cutoff, --noise, --noise-seed given (stylegan's), for ``Studio.rendering``,
    which has the defaults and the checks."""
    given = {name: getattr(args, name) for name in RENDERING if getattr(args, name, None) is not None}
    if given and args.technique != "stylegan":
        raise ValueError(f"--{next(iter(given)).replace('_', '-')} is for stylegan, not {args.technique}")
    return given


def parents() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The parent parsers: a trained model's arguments, and StyleGAN's rendering flags."""
    # what every command that uses a trained model takes
    model_args = argparse.ArgumentParser(add_help=False)
    model_args.add_argument("technique", choices=list(models.TECHNIQUES))
    model_args.add_argument("--checkpoint",
                            help="checkpoint folder or '<hub repo>@<revision>' (default: the bundled model)")

    # stylegan's rendering of a face: truncation and noise
    render_args = argparse.ArgumentParser(add_help=False)
    render_args.add_argument("--psi", type=arg_real("psi", -checks.MAX_PSI, checks.MAX_PSI),
                             help="stylegan: truncation towards the average face (1, the default: none; 0: the average)")
    render_args.add_argument("--cutoff", type=arg_whole("cutoff", 0, 64),
                             help="stylegan: truncate only the first N styles (default: all)")
    render_args.add_argument("--noise", choices=["const", "random", "none"],
                             help="stylegan: the checkpoint's fixed noise (const, the default), random from "
                                  "--noise-seed, or none")
    render_args.add_argument("--noise-seed", type=arg_whole("noise-seed", 0, checks.MAX_SEED), dest="noise_seed",
                             help="stylegan: the seed of --noise random (default 0)")
    return model_args, render_args
