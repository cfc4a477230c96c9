"""U-GAT-IT speed: converting one picture, and training iterations/s.

    python benchmarks/ugatit_speed.py convert [--checkpoint DIR|repo@rev] [--repeats 30]
    python benchmarks/ugatit_speed.py train [--size 128] [--ch 64] [--light|--full] [--n-res 4]
                                            [--batch-size 1] [--steps 20] [--device auto] [--compile]

``convert`` times ``Translator.translate`` on a 128 px face picture with cropping off (the
model's forward pass, the attention map and the three output pictures), median and p90 in ms.
``train`` times facegan's Trainer (the U-GAT-IT step: four D and two G, both directions, rho
clipping, EMA) on random two-domain data kept on the device, and prints iterations/s and
images/s with the batch size and hardware. The paper's setting is --size 256 --ch 64 --full
--batch-size 1; the official PyTorch code reaches 2.83 it/s on an H100 at light, 128 px, batch 1.
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
from facegan.models import ugatit
from facegan.train import TrainConfig, hardware, pick_device
from facegan.translator import Translator


def cmd_convert(args) -> None:
    folder = hub.resolve(args.checkpoint) if args.checkpoint else hub.default_checkpoint("ugatit").folder
    model = hub.load_folder(folder)
    tr = Translator(model)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8))
    for _ in range(3):
        tr.translate(picture, "a2b", crop="none")
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        tr.translate(picture, "a2b", crop="none")
        times.append((time.perf_counter() - t0) * 1e3)
    cfg = model.config
    print(f"model: {folder} (size {cfg.image_size}, ch {cfg.ch}, n_res {cfg.n_res}, "
          f"{'light' if cfg.light else 'full'}); torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"ugatit convert: {statistics.median(times):.0f} ms median, {np.percentile(times, 90):.0f} ms p90 "
          f"per {cfg.image_size} px picture ({args.repeats} repeats) on {hardware(torch.device('cpu'))}")


def random_set(n: int, size: int, seed: int) -> data_lib.ImageSet:
    g = torch.Generator().manual_seed(seed)
    return data_lib.ImageSet(torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8), [""] * n)


def cmd_train(args) -> None:
    device = pick_device(args.device)
    cfg = ugatit.Config(image_size=args.size, ch=args.ch, n_res=args.n_res, light=not args.full)
    two = data_lib.TwoDomainSet(random_set(64, cfg.load_size, 0), random_set(64, cfg.load_size, 1))
    never = 10**9
    tc = TrainConfig(steps=args.warmup, batch_size=args.batch_size, log_every=never, sample_every=never,
                     checkpoint_every=never, device=str(device), compile=args.compile, n_samples=2)
    with timed_training("ugatit", two, cfg, tc, args.steps) as t:
        warm, dt = t.warm_s, t.timed_s
    its = args.steps / dt
    print(f"warm-up {args.warmup} steps in {warm:.1f} s; timed {args.steps} steps in {dt:.2f} s")
    print(f"ugatit train: {its:.2f} it/s, {its * args.batch_size:.1f} images/s per domain (batch {args.batch_size}, "
          f"{args.size} px, ch {args.ch}, n_res {args.n_res}, {'full' if args.full else 'light'}, "
          f"compile={args.compile}) on {hardware(device)}, torch {torch.__version__}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert")
    c.add_argument("--checkpoint")
    c.add_argument("--repeats", type=int, default=30)
    t = sub.add_parser("train")
    t.add_argument("--size", type=int, default=128)
    t.add_argument("--ch", type=int, default=64)
    t.add_argument("--n-res", type=int, default=4)
    t.add_argument("--full", action="store_true", help="the full variant (default light)")
    t.add_argument("--batch-size", type=int, default=1)
    t.add_argument("--steps", type=int, default=20)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--device", default="auto")
    t.add_argument("--compile", action="store_true")
    args = p.parse_args()
    cmd_convert(args) if args.cmd == "convert" else cmd_train(args)


if __name__ == "__main__":
    main()
