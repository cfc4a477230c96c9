"""AC-GAN speed: the class grid the app's tab makes (12 classes x 8 columns), in ms.

    python benchmarks/acgan_speed.py [--checkpoint DIR|repo@rev] [--columns 8] [--repeats 30] [--float32]

Times ``ClassGrid.grid`` (every class of the checkpoint, ``--columns`` latents from a seed, the
pictures made as the app sends them) after two warm-up calls; median and p90. Without
--checkpoint it uses the bundled default, or a randomly initialised model of the bundled size
(ngf = ndf = 48, 12 hair colours) when none is bundled: the speed is the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan import hub
from facegan.classgrid import ClassGrid
from facegan.models import acgan


def load(ref: str | None):
    if ref:
        return hub.load(ref), ref
    try:
        default = hub.default_checkpoint("acgan")
        return hub.load_folder(default.folder), default.folder.name
    except hub.CheckpointError:
        return acgan.Model(acgan.Config(ngf=48, ndf=48)).eval(), "random, ngf 48 (no bundled AC-GAN)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint")
    p.add_argument("--columns", type=int, default=8)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--float32", action="store_true", help="exact float32 (else bf16 autocast where native)")
    args = p.parse_args()
    model, name = load(args.checkpoint)
    cg = ClassGrid(model, dtype="float32" if args.float32 else "auto")
    for seed in range(2):
        cg.grid(None, args.columns, seed)
    ms = []
    for seed in range(args.repeats):
        t0 = time.perf_counter()
        cg.grid(None, args.columns, seed)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    print(f"acgan class grid ({name}): {len(cg.classes)} classes x {args.columns} columns: median "
          f"{statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms ({cg.dtype}, "
          f"{torch.get_num_threads()} threads, n={len(ms)})")


if __name__ == "__main__":
    main()
