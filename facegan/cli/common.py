"""What the verbs share: the model a command loads, its faces' codes, writing faces, StyleGAN's
rendering flags, and the parent parsers of the verbs that use a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facegan import checks, models
from facegan.checks import arg_real, arg_whole


def load_model(args):
    """The model of --checkpoint, or the technique's default (with its notice on stderr)."""
    from facegan import hub

    if args.checkpoint:
        model = hub.load(args.checkpoint)
    else:
        if args.technique not in hub.read_manifest(hub.MANIFEST):
            raise ValueError(f"no default {args.technique} checkpoint is bundled yet: give --checkpoint (a checkpoint "
                             "folder or <hub repo>@<revision>)")
        default = hub.default_checkpoint(args.technique)
        print(default.notice, file=sys.stderr)
        model = hub.load_folder(default.folder)
    if models.technique_of(model) != args.technique:
        raise ValueError(f"{args.checkpoint} is a {models.technique_of(model)} checkpoint, not {args.technique}")
    return model


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


def render_flags(args) -> tuple:
    """--psi, --cutoff, --noise, --noise-seed (stylegan's; their defaults when not given)."""
    given = [name for name in RENDERING if getattr(args, name, None) is not None]
    if given and args.technique != "stylegan":
        raise ValueError(f"--{given[0].replace('_', '-')} is for stylegan, not {args.technique}")
    defaults = {"psi": 1.0, "cutoff": None, "noise": "const", "noise_seed": 0}
    return tuple(defaults[n] if getattr(args, n, None) is None else getattr(args, n) for n in RENDERING)


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
