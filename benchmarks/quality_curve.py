"""Quality against images seen and against CPU-hours, for several runs on one plot.

    python benchmarks/quality_curve.py RUN [RUN ...] --out curve.png [--labels A B ...]

Each RUN is a training run's folder whose quality.jsonl holds the quick figures
``facegan train --eval-every IMAGES`` logs (FID and anime-FD of --eval-n faces against as many
training images, facegan.quality.QuickMetric). Panels: Inception FID, anime-FD and recall (anime
features; a collapsing recipe shows there), each against images seen and against CPU-hours, so that
two recipes compare at equal cost. Quick
figures are for curves; a model's figure of record is benchmarks/quality.py's 10k protocol.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan.train import read_jsonl  # noqa: E402


def curves(runs: list[Path]) -> dict[str, list[dict]]:
    out = {}
    for run in runs:
        rows = sorted(read_jsonl(Path(run) / "quality.jsonl"), key=lambda r: r.get("images_seen", 0))
        if not rows:
            raise SystemExit(f"quality_curve: {run} has no quality.jsonl lines (train it with --eval-every IMAGES)")
        out[str(run)] = rows
    return out


METRICS = {"fid": "Inception FID (quick)", "anime_fd": "anime-FD (quick)",
           "recall": "recall, anime features (quick)",  # lower, lower, higher is better
           "kid_a2b": "KID x100 A→B (test set)", "kid_b2a": "KID x100 B→A (test set)"}  # translations: lower


def plot(data: dict[str, list[dict]], labels: list[str], out: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in METRICS if any(m in r for rows in data.values() for r in rows)]
    fig, axes = plt.subplots(len(metrics), 2, figsize=(11, 3.75 * len(metrics)), sharey="row", squeeze=False)
    for (run, rows), label in zip(data.items(), labels):
        for i, metric in enumerate(metrics):
            for j, x in enumerate(("images_seen", "cpu_hours")):
                have = [r for r in rows if metric in r]  # recall came later: older lines lack it
                xs = [r.get(x, 0) / (1000 if x == "images_seen" else 1) for r in have]
                axes[i][j].plot(xs, [r[metric] for r in have], marker="o", ms=3, label=label)
    for i, metric in enumerate(metrics):
        axes[i][0].set_ylabel(METRICS[metric])
    for j, name in enumerate(("images seen (thousands)", "CPU-hours")):
        axes[-1][j].set_xlabel(name)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    n = next(iter(data.values()))[0].get("n", "?")
    fig.suptitle(title or f"quick figures: {n} faces vs {n} training images (FID, FD: lower is better; recall: higher)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=Path("curve.png"))
    p.add_argument("--labels", nargs="+", help="one per run (default: the folder names)")
    p.add_argument("--title", default="")
    args = p.parse_args()
    labels = args.labels or [r.name for r in args.runs]
    if len(labels) != len(args.runs):
        raise SystemExit("quality_curve: give one label per run")
    data = curves(args.runs)
    plot(data, labels, args.out, args.title)
    for (run, rows), label in zip(data.items(), labels):
        last = rows[-1]
        if "fid" in last:  # a faces run
            figures = f"FID {last['fid']:.1f}, anime-FD {last['anime_fd']:.2f}" + (
                f", recall {last['recall']:.2f}" if "recall" in last else "")
        else:  # a translation run (U-GAT-IT): its own quick figures
            figures = ", ".join(f"{METRICS[m]} {last[m]:.2f}" for m in METRICS if m in last)
        print(f"{label}: {len(rows)} points, last at {last.get('images_seen', 0):,} images / "
              f"{last.get('cpu_hours', 0):.2f} CPU-h: {figures}")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
