"""The ``facegan`` command: train, generate, export, push and convert. Errors are one line on stderr and exit 2.

One module per group of verbs, each with its handlers and an ``add(sub, model_args, render_args)``
that adds its parsers: ``train``; ``draw`` (generate, rank, morph, interpolate); ``pictures``
(project, translate, edit); ``quality`` (evaluate, sample); ``checkpoints`` (export, push);
``convert``; ``common`` (what they share)."""

from __future__ import annotations

import argparse
import sys

from facegan.cli import checkpoints, common, convert, draw, pictures, quality, train

VERBS = (train, draw, pictures, quality, checkpoints, convert)  # the order of `facegan --help`


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facegan", description="Generate and edit anime faces with GANs.")
    sub = p.add_subparsers(dest="command", required=True)
    model_args, render_args = common.parents()
    for verbs in VERBS:
        verbs.add(sub, model_args, render_args)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one clear line, no traceback, non-zero exit
        print(f"facegan: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
