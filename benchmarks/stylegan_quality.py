"""FID and KID of a StyleGAN checkpoint against the real anime faces, at several truncation psi.

    python benchmarks/stylegan_quality.py [--checkpoint DIR|repo@rev] [--data DIR] [--n 2000]
        [--psi 1 0.7] [--floor] [--detect 200]

The protocol of benchmarks/dcgan_quality.py, so that the two techniques compare in one table:
the same seeded --n real faces at 64 px (plus a disjoint set of --n more as a real-vs-real floor
with --floor), --n fakes from the model's own prior (seeded; the same latents at every psi, the
checkpoint's fixed noise), the TF-FID Inception features of facegan.metrics. psi 1 is the
untruncated model (what FID usually means); psi 0.7 trades diversity for quality, so expect a
worse FID there even when single faces look better. Figures at a few thousand 64 px samples
compare runs of this project with each other; they are not comparable with papers' 50k-sample FIDs.

Beside FID, the share of faces the anime face detector finds (``facegan.faces.found_share``: each
face enlarged to 256 px, as the editors enlarge a small face) in the first --detect fakes at each
psi and in as many real faces: "does it draw faces?", in a figure anyone can read.

Example output line:
    stylegan quality: psi 1: FID 35.1, KID 0.029 ± 0.002 (2000 fake vs 2000 real, 64 px), faces found 93% of 200 [checkpoints/stylegan-anime-64]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan import data, faces, hub, metrics, models
from facegan.images import to_pil


def load(checkpoint: str | None, device: str = "cpu"):
    """The model and its folder: --checkpoint, else the manifest's default stylegan checkpoint
    (also the other StyleGAN benchmarks' loader)."""
    if checkpoint:
        folder = hub.resolve(checkpoint)
    else:
        try:
            folder = hub.default_checkpoint("stylegan").folder
        except hub.CheckpointError as e:
            raise SystemExit(f"no bundled StyleGAN checkpoint yet ({e}); pass --checkpoint DIR "
                             "(a run's checkpoints/step-NNNNNN or an exported folder)") from None
    model = hub.load_folder(folder, device)
    if models.technique_of(model) != "stylegan":
        raise SystemExit(f"{folder} is a {models.technique_of(model)} checkpoint, not stylegan")
    return model.eval(), folder


@torch.inference_mode()
def fakes(model, n: int, psi: float, seed: int, batch: int) -> torch.Tensor:
    """``n`` faces of the model's prior (seeded: the same latents at every psi), fixed noise."""
    z = model.sample_latent(n, generator=torch.Generator().manual_seed(seed))
    return torch.cat([model.generate(part, psi=psi) for part in metrics.batches(z, batch)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="folder or repo@revision (default: the bundled stylegan checkpoint)")
    p.add_argument("--data", default=str(data.data_root() / "anime-faces-64"))
    p.add_argument("--n", type=int, default=2000, help="fake and real images each")
    p.add_argument("--psi", type=float, nargs="+", default=[1.0, 0.7], help="truncation values (default 1 0.7)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--floor", action="store_true", help="also FID/KID of real vs another --n real faces")
    p.add_argument("--detect", type=int, default=200,
                   help="faces the anime face detector is run on, fake at each psi and real (default 200; 0: none)")
    args = p.parse_args()
    if args.n < 2:
        p.error("--n must be at least 2")

    model, folder = load(args.checkpoint)
    size = model.config.image_size
    t0 = time.perf_counter()
    real = metrics.real_images(args.data, 64, args.n * (2 if args.floor else 1), args.seed)
    inception = metrics.Inception()
    real_feats = inception.features(metrics.batches(real[:args.n], args.batch))
    scores, found = {}, {}
    detect = min(args.detect, args.n)
    if detect:
        found["real"] = faces.found_share(to_pil(real[:detect]))
    for psi in args.psi:
        fake = fakes(model, args.n, psi, args.seed, args.batch)
        scores[psi] = metrics.compare(real_feats, inception.features(metrics.batches(fake, args.batch)))
        if detect:
            found[psi] = faces.found_share(to_pil(fake[:detect]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {time.perf_counter() - t0:.0f} s")
    if args.floor:
        floor = metrics.compare(real_feats, inception.features(metrics.batches(real[args.n:], args.batch)))
        print(f"real-vs-real floor: FID {floor.fid:.1f}, KID {floor.kid:.4f} ± {floor.kid_std:.4f}")
    if detect:
        print(f"faces found by the anime face detector (256 px): real {found['real']:.0%} of {detect}")
    for psi, s in scores.items():
        seen = f", faces found {found[psi]:.0%} of {detect}" if detect else ""
        print(f"stylegan quality: psi {psi:g}: FID {s.fid:.1f}, KID {s.kid:.4f} ± {s.kid_std:.4f} "
              f"({s.n_fake} fake vs {s.n_real} real, {size} px){seen} [{folder}]")


if __name__ == "__main__":
    main()
