"""One quality table for the bundled generative models (facegan.quality's protocol).

    python benchmarks/quality.py [--only FOLDER ...] [--n 10000] [--psi 1] [--data DIR] [--json FILE]

For each model: Inception FID and KID, the Fréchet distance in the anime tag classifier's
feature space (anime-FD: not ImageNet's, so a projected D cannot game it), precision and recall
in that space, the share of faces the anime face detector finds, and from the card the images
seen and CPU-hours. 10,000 faces against the whole real set is the protocol; --n 1000 is a quick
check and is labelled so. The real set's statistics are computed once per machine (Inception on
36,740 faces: about an hour on one CPU core) and cached (``$FACEGAN_CACHE`` or ~/.cache/facegan).
AC-GAN's classes are drawn as often as the data has them. StarGAN and U-GAT-IT translate pictures:
their figures come from benchmarks/stargan_quality.py (each bundled StarGAN) and
benchmarks/ugatit_quality.py, which this script runs after the table (their output printed and
kept in the JSON under "translators"), unless --only names folders or --no-translators is given.

Example:
    OMP_NUM_THREADS=1 python benchmarks/quality.py --only checkpoints/stylegan-anime-64 --json q.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan import hub, metrics, models, quality  # noqa: E402


def bundled_folders(techniques: tuple[str, ...] = quality.GENERATIVE) -> dict[Path, str]:
    """The bundled checkpoint folders of these techniques (the manifest's), sorted: {folder: technique}."""
    out = {}
    for entry in hub.read_manifest().values():
        folder = (hub.MANIFEST.parent / entry.get("bundled", "")).resolve()
        technique = hub.read_config(folder).get("technique") if (folder / hub.CONFIG_NAME).is_file() else None
        if technique in techniques:
            out[folder] = technique
    return dict(sorted(out.items()))


def card_facts(folder: Path) -> dict:
    card = hub.read_config(folder).get(hub.SUMMARY_KEY) or {}
    return {"images_seen": card.get("images_seen"), "cpu_hours": card.get("cpu_hours"),
            "interim": card.get("interim")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", help="checkpoint folders (default: every bundled dcgan / acgan / stylegan)")
    p.add_argument("--n", type=int, default=quality.N_PROTOCOL, help="faces per model (default 10000, the protocol)")
    p.add_argument("--psi", type=float, default=1.0, help="StyleGAN truncation (default 1: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real-n", type=int, default=0, dest="real_n",
                   help="compare with a seeded part of the real set (default 0: all of it, the protocol)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "anime-faces-64"))
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--no-translators", dest="translators", action="store_false",
                   help="leave out the StarGAN and U-GAT-IT figures (left out anyway with --only)")
    args = p.parse_args()
    torch.set_grad_enabled(False)
    folders = [Path(f).resolve() for f in args.only] if args.only else list(bundled_folders())
    inception, anime = metrics.Inception(), metrics.AnimeFeatures()
    rows = []
    for folder in folders:
        model = hub.load_folder(folder)
        psi = args.psi if models.technique_of(model) == "stylegan" else 1.0
        row = quality.measure(model, args.data, folder.name, args.n, args.seed, psi, inception, anime,
                              progress=lambda s: print(f"  {time.strftime('%H:%M:%S')} {s}", file=sys.stderr),
                              real_n=args.real_n or None)
        rows.append({**row.as_dict(), **card_facts(folder), "technique": models.technique_of(model)})
    print(f"\n{'model':28s} {'FID':>7s} {'KID':>7s} {'anime-FD':>9s} {'prec':>5s} {'recall':>6s} {'faces':>6s} "
          f"{'images seen':>12s} {'CPU-h':>6s}  protocol")
    for r in rows:
        seen = f"{r['images_seen']:,}" if isinstance(r["images_seen"], int) else "–"
        cpu = f"{r['cpu_hours']:.1f}" if isinstance(r["cpu_hours"], (int, float)) else "–"
        print(f"{r['model']:28s} {r['fid']:7.1f} {r['kid']:7.3f} {r['anime_fd']:9.2f} {r['precision']:5.2f} "
              f"{r['recall']:6.2f} {r['faces_found']:6.0%} {seen:>12s} {cpu:>6s}  {r['protocol']}"
              + (f", psi {r['psi']:g}" if r["psi"] != 1 else ""))
    out: dict | list = rows
    if args.translators and not args.only:
        out = {"generators": rows, "translators": translators()}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def translators() -> dict[str, str]:
    """The figures of the bundled picture-to-picture models, by their own scripts: {folder: output}."""
    results = {}
    for folder, technique in bundled_folders(("stargan", "ugatit")).items():
        script = ROOT / "benchmarks" / f"{technique}_quality.py"
        print(f"\n## {folder.name}: python {script.relative_to(ROOT)} --checkpoint {folder}", flush=True)
        done = subprocess.run([sys.executable, str(script), "--checkpoint", str(folder)], capture_output=True, text=True)
        text = done.stdout if done.returncode == 0 else f"failed (exit {done.returncode}): {done.stderr[-2000:]}"
        print(text, flush=True)
        results[folder.name] = text
    return results


if __name__ == "__main__":
    sys.exit(main())
