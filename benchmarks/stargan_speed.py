"""StarGAN speed: one edit (the grid of every hair colour), and training images/s.

    python benchmarks/stargan_speed.py grid [--checkpoint DIR|repo@rev] [--group hair] [--repeats 30]
    python benchmarks/stargan_speed.py train [--size 64] [--g-conv-dim 64] [--d-conv-dim 64] [--g-repeat 6]
                                             [--batch-size 16] [--steps 50] [--device auto] [--compile]

``grid`` times ``Editor.grid`` on a 64 px face picture with cropping off: D reads the input's
labels, G translates it to every value of the group (12 hair colours), and the labelled grid
picture is drawn; median and p90 in ms. Without --checkpoint it uses the bundled default, or
a randomly initialised model of the default size when none is bundled (the speed is the same).
``train`` times facegan's Trainer (the official step: D with WGAN-GP every step, G every
n_critic-th) on random labelled data kept on the device, and prints steps/s and images/s with
the batch size and hardware. The official code reaches 498 images/s (31 it/s) on an H100 at
64 px, batch 16.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import timed_training

from facegan import data as data_lib
from facegan import hub
from facegan.editor import Editor
from facegan.models import stargan
from facegan.train import TrainConfig, hardware, pick_device


def load(checkpoint: str | None) -> tuple[stargan.Model, str]:
    if checkpoint:
        folder = hub.resolve(checkpoint)
        return hub.load_folder(folder), str(folder)
    try:
        folder = hub.default_checkpoint("stargan").folder
        return hub.load_folder(folder), str(folder)
    except Exception:  # noqa: BLE001 - no bundled default: time a fresh model of the default size
        torch.manual_seed(0)
        return stargan.Model(stargan.Config()).eval(), "random weights (no bundled default)"


def cmd_grid(args) -> None:
    model, name = load(args.checkpoint)
    editor = Editor(model)
    size = model.config.image_size
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8))
    for _ in range(3):
        editor.grid(picture, args.group, crop="none")
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = editor.grid(picture, args.group, crop="none")
        times.append((time.perf_counter() - t0) * 1e3)
    cfg = model.config
    print(f"model: {name} ({size} px, g_conv_dim {cfg.g_conv_dim}, {cfg.g_repeat_num} residual blocks); "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"stargan grid of {len(out.pictures)} {args.group} values: {statistics.median(times):.0f} ms median, "
          f"{np.percentile(times, 90):.0f} ms p90 ({args.repeats} repeats) on {hardware(torch.device('cpu'))}")


def random_set(n: int, cfg: stargan.Config, seed: int) -> data_lib.LabelledSet:
    """``n`` random images, each with a random value of every group of the first data set."""
    rng = np.random.default_rng(seed)
    spec = cfg.labels
    rows = [{g.name: str(rng.choice(g.values)) for _, g, _ in spec.groups(0)} for _ in range(n)]
    images = torch.from_numpy(rng.integers(0, 256, (n, 3, cfg.image_size, cfg.image_size), dtype=np.uint8))
    return data_lib.LabelledSet(images, spec.encode_many(rows, 0), torch.zeros(n, dtype=torch.int64), spec, [""] * n)


def cmd_train(args) -> None:
    device = pick_device(args.device)
    cfg = stargan.Config(image_size=args.size, g_conv_dim=args.g_conv_dim, d_conv_dim=args.d_conv_dim,
                         g_repeat_num=args.g_repeat)
    data = random_set(256, cfg, 0)
    never = 10**9
    tc = TrainConfig(steps=args.warmup, batch_size=args.batch_size, log_every=never, sample_every=never,
                     checkpoint_every=never, device=str(device), compile=args.compile, n_samples=2)
    with timed_training("stargan", data, cfg, tc, args.steps) as t:
        warm, dt = t.warm_s, t.timed_s
    steps = args.steps / dt
    print(f"warm-up {args.warmup} steps in {warm:.1f} s; timed {args.steps} steps in {dt:.2f} s")
    print(f"stargan train: {steps:.2f} steps/s, {steps * args.batch_size:.0f} images/s (batch {args.batch_size}, "
          f"{args.size} px, g/d conv dim {args.g_conv_dim}/{args.d_conv_dim}, {args.g_repeat} residual blocks, "
          f"G every {cfg.n_critic} steps, compile={args.compile}) on {hardware(device)}, torch {torch.__version__}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("grid")
    c.add_argument("--checkpoint")
    c.add_argument("--group", default="hair")
    c.add_argument("--repeats", type=int, default=30)
    t = sub.add_parser("train")
    t.add_argument("--size", type=int, default=64)
    t.add_argument("--g-conv-dim", type=int, default=64)
    t.add_argument("--d-conv-dim", type=int, default=64)
    t.add_argument("--g-repeat", type=int, default=6)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--steps", type=int, default=50)
    t.add_argument("--warmup", type=int, default=5)
    t.add_argument("--device", default="auto")
    t.add_argument("--compile", action="store_true")
    args = p.parse_args()
    cmd_grid(args) if args.cmd == "grid" else cmd_train(args)


if __name__ == "__main__":
    main()
