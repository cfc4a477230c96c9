"""Training speed of the present discriminator against the projected one, side by side in one run.

    python benchmarks/projected_speed.py [--threads 1] [--batch 64] [--steps 6] [--resize 0 224]

DCGAN's TrainStep (the bundled sizes: ngf / ndf 48, nz 16) with ``disc="dcgan"`` (the paper's D,
feature matching) and ``disc="projected"`` (EfficientNet-lite0 features at the 64 px images as they
are, and enlarged to each --resize), in float32 and under bf16 autocast, images per second on
--threads threads (median of --steps timed steps after two warm-up steps). Real images are random:
speed does not depend on them.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan.models import dcgan  # noqa: E402


def images_per_s(cfg: dcgan.Config, batch: int, steps: int, bf16: bool) -> float:
    torch.manual_seed(0)
    model = dcgan.Model(cfg).train()
    step = dcgan.TrainStep(model, cfg)
    real = torch.rand(batch, 3, 64, 64) * 2 - 1
    cast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        step((real, None), cast)
        if i >= 2:
            times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--resize", type=int, nargs="*", default=[0, 224])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    base = {"ngf": 48, "ndf": 48, "nz": 16}
    rows = [("dcgan D (the paper's, feature matching)", dcgan.Config(**base))]
    rows += [(f"projected D, {'64 px as they are' if r == 0 else f'enlarged to {r} px'}",
              dcgan.Config(**base, disc="projected", disc_resize=r, beta1=0.0, beta2=0.99)) for r in args.resize]
    print(f"DCGAN training step, batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}")
    print(f"{'discriminator':44s} {'float32 img/s':>14s} {'bf16 img/s':>11s}")
    for name, cfg in rows:
        f32 = images_per_s(cfg, args.batch, args.steps, False)
        bf = images_per_s(cfg, args.batch, args.steps, True)
        print(f"{name:44s} {f32:14.1f} {bf:11.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
