"""Discriminators compared at equal CPU cost: quality against CPU-hours for each recipe, one run each.

    python benchmarks/disc_compare.py dcgan --data ../shared/data/anime-faces-64 --out runs/disc-dcgan \\
        [--cpu-minutes 25] [--eval-every 25600] [--eval-n 500] [--recipes dcgan projected ...]

Each recipe is a ``facegan train`` run on one thread (OMP_NUM_THREADS=1, nice) from random weights,
logging quick figures every --eval-every images (FID, anime-FD, precision / recall in anime features,
``facegan.quality.QuickMetric``). The run is stopped (SIGTERM: it saves a checkpoint) at the first
figure logged past --cpu-minutes of its own CPU time (the figures' time is not counted), so that
every curve ends at the same cost. A run folder that already holds a run is resumed up to the
budget: a longer budget later continues the same runs. Then:

- ``curve.png``: the runs' curves (``benchmarks/quality_curve.py``) against images and CPU-hours;
- ``<recipe>.png``: 64 faces of each run's last checkpoint (seed 0), to look at (a collapse
  shows there and in recall before FID notices); for U-GAT-IT the 8 fixed test pictures each way
  (``benchmarks/fixed_pictures.py``) under their inputs;
- ``results.md``: per recipe, its images and CPU-hours (an --init run's own, without its model's),
  images per CPU-second and the last figures.

U-GAT-IT (issue #22: the light model, a wider one, the projected D on the anime side or both)
logs KID x100 both ways on the test pictures, the A -> B anime-FD and layout instead
(``facegan.quality.TranslationMetric``); run it with its own batch (1) and --eval-every in images:

    python benchmarks/disc_compare.py ugatit --data ../shared/data/selfie2anime/128 --out runs/disc-ugatit \
        --cpu-minutes 60 --eval-every 2000 --cpu-bf16

With ``--init FOLDER`` every run continues that exported model instead (``facegan train --init``: fresh
optimisers, the lr warm-up), the campaign's own question, which recipe improves the bundled model most per
CPU-hour; ``{}`` is then the model's own recipe, and the DCGAN recipes ``no-fm``, ``lr-5e-5`` and
``no-fm-lr-5e-5`` change what the bundled DCGAN's networks allow (feature matching off, a lower lr):

    python benchmarks/disc_compare.py dcgan --init checkpoints/dcgan-anime-64 --data ../shared/data/anime-faces-64 \
        --out runs/dcgan-recipes --recipes dcgan no-fm lr-5e-5 no-fm-lr-5e-5 --cpu-minutes 25 --batch-size 64

Quick figures compare recipes with each other; a bundled model's figure of record is the 10k
protocol of ``benchmarks/quality.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.quality_curve import curves, plot  # noqa: E402
from facegan.train import latest_checkpoint, read_json, read_jsonl  # noqa: E402

PROJECTED = {"disc": "projected", "beta1": 0.0, "beta2": 0.99}  # Projected GAN's Adam (Sauer et al. 2021)
RECIPES = {  # technique -> recipe name -> --model settings
    # (with --init, {} is the recipe the model was trained with; the others change only what the
    # networks' shapes allow: the bundled DCGAN's feature matching and learning rate)
    "dcgan": {"dcgan": {}, "projected": PROJECTED, "projected-224": {**PROJECTED, "disc_resize": 224},
              "no-fm": {"feature_matching": 0.0}, "lr-5e-5": {"lr": 5e-5}, "no-fm-lr-5e-5": {"feature_matching": 0.0, "lr": 5e-5}},
    "acgan": {"backbone": {}, "projected": {"disc": "projected", "beta1": 0.0, "beta2": 0.99}},
    "stylegan": {"stylegan2": {}, "projected": {"disc": "projected"},
                 "projected-224": {"disc": "projected", "disc_resize": 224}},
    # U-GAT-IT (issue #22): the bundled light model's width, a wider one, and the projected D on the
    # anime side or on both; quick figures are KID x100 both ways on the test pictures
    "ugatit": {"light": {"ch": 16}, "wide": {"ch": 32}, "projected": {"ch": 16, "projected": "b"},
               "projected-both": {"ch": 16, "projected": "both"}},
}
# the columns of results.md: the quick figures each kind of run logs
COLUMNS = {"faces": [("fid", "FID (quick)", ".1f"), ("anime_fd", "anime-FD (quick)", ".2f"),
                     ("precision", "precision", ".2f"), ("recall", "recall", ".2f")],
           "ugatit": [("kid_a2b", "KID x100 A→B", ".2f"), ("kid_b2a", "KID x100 B→A", ".2f"),
                      ("anime_fd", "anime-FD A→B", ".2f"), ("layout_a2b", "layout A→B", ".3f")]}


def own_cost(run: Path) -> tuple[int, float]:
    """What an --init run's model had cost before it (images, CPU-hours), which its figures count in."""
    info = read_json(run / "run.json") or {}
    return int(info.get("init_images_seen", 0)), float(info.get("init_cpu_hours", 0.0))


def train_to_budget(technique: str, recipe: dict, data: str, out: Path, budget_h: float, args) -> None:
    """One run on one thread until a quick figure is logged past ``budget_h`` CPU-hours of its own."""
    done = read_jsonl(out / "quality.jsonl")
    if done and done[-1].get("cpu_hours", 0) - own_cost(out)[1] >= budget_h:
        return
    cmd = [sys.executable, "-m", "facegan", "train", technique, "--out", str(out), "--steps", "10000000",
           "--eval-every", str(args.eval_every), "--eval-n", str(args.eval_n), "--quiet"]
    if (out / "run.json").is_file():
        cmd.append("--resume")
    else:
        cmd += ["--data", data, "--checkpoint-every", "200", "--sample-every", "1000", "--device", "cpu"]
        if args.init:
            cmd += ["--init", args.init]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        if recipe:
            cmd += ["--model", json.dumps(recipe)]
        if args.cpu_bf16:
            cmd.append("--cpu-bf16")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "a") as log:
        proc = subprocess.Popen(["nice", "-n", "10", *cmd], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        while proc.poll() is None:
            time.sleep(5)
            rows = read_jsonl(out / "quality.jsonl")
            if rows and rows[-1].get("cpu_hours", 0) - own_cost(out)[1] >= budget_h:
                proc.send_signal(signal.SIGTERM)  # the trainer saves a checkpoint and exits
                proc.wait()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
    if proc.returncode:
        raise SystemExit(f"disc_compare: the {out.name} run failed (exit {proc.returncode}); see {out / 'train.log'}")


def faces(technique: str, run: Path, picture: Path) -> None:
    ckpt = latest_checkpoint(run)
    if technique == "ugatit":  # the 8 fixed test pictures each way, with their inputs (runs/ is not committed)
        from benchmarks.fixed_pictures import ugatit_rows

        ugatit_rows(str(ckpt), picture)
        return
    subprocess.run([sys.executable, "-m", "facegan", "generate", technique, "--checkpoint", str(ckpt), "--seed", "0",
                    "--count", "64", "--columns", "8", "--out", str(picture)], check=True, cwd=ROOT,
                   capture_output=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("technique", choices=sorted(RECIPES))
    p.add_argument("--data", required=True)
    p.add_argument("--out", type=Path, required=True, help="a folder: one run per recipe, the curve, the results")
    p.add_argument("--recipes", nargs="+", help="default: all of the technique's (" +
                   "; ".join(f"{t}: {', '.join(r)}" for t, r in RECIPES.items()) + ")")
    p.add_argument("--init", help="continue this exported model in every run (facegan train --init) instead of "
                                  "starting from random weights: which recipe improves a trained model most per CPU-hour")
    p.add_argument("--cpu-minutes", type=float, default=25.0)
    p.add_argument("--eval-every", type=int, default=25_600, help="images between quick figures")
    p.add_argument("--eval-n", type=int, default=500,
                   help="faces per quick figure (default 500: a figure costs about 2 CPU-minutes on one thread; "
                        "FID at 500 faces reads higher than at 10k, the same for every recipe)")
    p.add_argument("--batch-size", type=int, help="default: 32, U-GAT-IT the technique's own (1, the paper's)")
    p.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast (faster where the CPU computes bf16)")
    args = p.parse_args()
    if args.batch_size is None and args.technique != "ugatit":
        args.batch_size = 32
    recipes = args.recipes or list(RECIPES[args.technique])
    if unknown := [r for r in recipes if r not in RECIPES[args.technique]]:
        raise SystemExit(f"disc_compare: no recipe {', '.join(unknown)} for {args.technique} "
                         f"(known: {', '.join(RECIPES[args.technique])})")
    runs = [args.out / r for r in recipes]
    for name, run in zip(recipes, runs):
        print(f"{name}: training to {args.cpu_minutes:g} CPU-minutes in {run}", flush=True)
        train_to_budget(args.technique, RECIPES[args.technique][name], args.data, run, args.cpu_minutes / 60, args)
        faces(args.technique, run, args.out / f"{name}.png")
    figures = ("test-set KID, A→B anime-FD" if args.technique == "ugatit" else f"quick figures, {args.eval_n} faces")
    plot(curves(runs), recipes, args.out / "curve.png",
         f"{args.technique}: recipes at equal CPU cost (one thread; {figures})")
    columns = COLUMNS["ugatit" if args.technique == "ugatit" else "faces"]
    lines = ["| recipe | --model | images | CPU-hours | images per CPU-s | " + " | ".join(c[1] for c in columns) + " |",
             "|---|---|---|---|---|" + "---|" * len(columns)]
    hardware = "this machine"
    for name, run in zip(recipes, runs):
        last = read_jsonl(run / "quality.jsonl")[-1]
        status = read_json(run / "status.json") or {}
        images, hours = (a - b for a, b in zip((last["images_seen"], last["cpu_hours"]), own_cost(run)))
        rate = images / max(hours * 3600, 1e-9)
        figures = " | ".join(format(last.get(key, float("nan")), spec) for key, _, spec in columns)
        lines.append(f"| {name} | `{json.dumps(RECIPES[args.technique][name])}` | {images:,} | "
                     f"{hours:.2f} | {rate:.1f} | {figures} |")
        hardware = status.get("hardware") or hardware
    what = ("KID on the test pictures" if args.technique == "ugatit"
            else f"quick figures of {args.eval_n} faces vs {args.eval_n} training images")
    text = (f"{args.technique}, {args.cpu_minutes:g} CPU-minutes per recipe on {hardware}, batch "
            f"{args.batch_size or 'the technique default'}, {what}\n\n"
            + "\n".join(lines) + "\n")
    (args.out / "results.md").write_text(text)
    print(text + str(args.out / "curve.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
