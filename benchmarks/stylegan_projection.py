"""How well a StyleGAN checkpoint finds real faces in W: projection (facegan.project) of held-out anime faces.

    python benchmarks/stylegan_projection.py [--checkpoint DIR|repo@rev] [--data DIR] [--n 20]
        [--steps 200] [--space w|w+] [--pixel-weight 1]

The faces are the last --n files by name of the data folder (facegan.data.list_images' order:
a run trained with ``--limit`` used the first files, so these are held out from it), read as the
app reads an upload and projected whole (crop "none": they are face crops already) for --steps
steps. For each face, and their mean:

- PSNR (dB) of the projection (what its code draws: the checkpoint's const noise) against the
  face at the model's size, and of the average face (where the projection starts) for scale;
- the Inception-feature distance: the projection's perceptual distance (facegan.project's, the
  TF-FID Inception's Conv2d_4a / Mixed_5d / Mixed_6e maps, normalised: 0 is the same picture),
  and the L2 distance of their 2048-d pool features (FID's features);
- the seconds per face (the optimisation and the drawing; the Inception weights load once).

Example output line:
    stylegan projection: 20 faces, 200 steps in W: PSNR 17.9 dB (average face 12.1), perceptual 1.23 (2.41), pool L2 14.2 (19.8), 33.1 s per face [checkpoints/stylegan-anime-64, cpu]
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

from stylegan_quality import load

from facegan import data, metrics
from facegan import images as img_lib
from facegan import project as pj
from facegan.images import open_picture


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="folder or repo@revision (default: the bundled stylegan checkpoint)")
    p.add_argument("--data", default=str(data.data_root() / "anime-faces-64"))
    p.add_argument("--n", type=int, default=20, help="faces: the last N files by name (default 20)")
    p.add_argument("--steps", type=int, default=200, help="optimisation steps per face (default 200)")
    p.add_argument("--space", choices=pj.SPACES, default="w")
    p.add_argument("--pixel-weight", type=float, default=1.0, dest="pixel_weight")
    args = p.parse_args()
    if args.n < 1:
        p.error("--n must be at least 1")

    model, folder = load(args.checkpoint)
    device = next(model.parameters()).device
    files = data.list_images(args.data)[-args.n:]
    size = model.config.image_size
    distance = pj.inception_distance(device, pj.perceptual_side(size))
    inception = metrics.Inception(device)
    mean, _ = pj.w_statistics(model)
    average = model.synthesis(mean[None, None].expand(1, model.num_ws, -1).contiguous(), "const")
    rows = []
    for path in files:
        t0 = time.perf_counter()
        r = pj.project(model, open_picture(path), args.steps, args.space, crop="none", pixel_weight=args.pixel_weight)
        seconds = time.perf_counter() - t0
        target, rec = (img_lib.from_pil([pic]).to(device) for pic in (r.target, r.picture))
        with torch.no_grad():
            feats = distance.features(target)
            perceptual = float(distance.distance(rec, feats)), float(distance.distance(average, feats))
        pool = inception.features([torch.cat([target, rec, average])])
        row = {"psnr": pj.psnr(r.picture, r.target), "psnr_avg": pj.psnr(img_lib.to_pil(average)[0], r.target),
               "perceptual": perceptual[0], "perceptual_avg": perceptual[1],
               "pool": float(((pool[0] - pool[1]) ** 2).sum() ** 0.5),
               "pool_avg": float(((pool[0] - pool[2]) ** 2).sum() ** 0.5), "seconds": seconds}
        rows.append(row)
        print(f"  {Path(path).name}: PSNR {row['psnr']:.1f} dB (average face {row['psnr_avg']:.1f}), perceptual "
              f"{row['perceptual']:.3f} ({row['perceptual_avg']:.3f}), pool L2 {row['pool']:.2f} "
              f"({row['pool_avg']:.2f}), loss {r.loss:.4f} at step {r.best_step}, {seconds:.1f} s", flush=True)

    def m(key: str) -> float:
        return statistics.fmean(row[key] for row in rows)

    print(f"stylegan projection: {len(rows)} faces, {args.steps} steps in {args.space.upper()}: PSNR {m('psnr'):.1f} dB "
          f"(average face {m('psnr_avg'):.1f}), perceptual {m('perceptual'):.3f} ({m('perceptual_avg'):.3f}), pool L2 "
          f"{m('pool'):.2f} ({m('pool_avg'):.2f}), {m('seconds'):.1f} s per face "
          f"[{folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder}, {device}, "
          f"{torch.get_num_threads()} threads]")


if __name__ == "__main__":
    main()
