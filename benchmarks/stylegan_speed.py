"""StyleGAN speed: one face, a 6 x 6 style-mixing grid, a 3-face 72-frame interpolation, and training images/s.

    python benchmarks/stylegan_speed.py [--checkpoint DIR|repo@rev] [--preset cpu] [--repeats 10] [--threads 2]
                                        [--float32] [--parts face,mix,interpolation,train] [--batch-size 32]
                                        [--steps 16] [--windows 3] [--warmup 2] [--cpu-bf16] [--device cpu]

Everything but training goes through ``facegan.studio.Studio`` with the StyleGAN tab's settings
(psi 0.7, every style truncated, the checkpoint's fixed noise; ``apps/stylegan.py``), each after
two warm-up calls, a different seed per call; median and p90 in ms (targets on the 2-core CPU):

``face``
    ``Studio.face(seed, psi=0.7)``: one face and its code, as ``stylegan_generate`` (< 60 ms).
``mix``
    ``Studio.mix`` of 6 row and 6 column faces, the coarse styles copied (48 faces drawn: the 12
    sources and the 36 cells), then ``Mixing.figure(128)``, the labelled figure the tab shows, as
    ``stylegan_mix`` (< 1 s); the Studio.mix part alone is printed beside it.
``interpolation``
    ``Studio.interpolate`` of seeds 1, 2, 3 with the tab's defaults: lerp in W, 24 frames per
    face, looping back, 1 side by side, 20 fps, 128 px frames: 72 frames, the GIF and the MP4
    written (to a temporary folder), as ``stylegan_interpolate`` (< 5 s).
``train``
    ``facegan.models.stylegan.TrainStep`` at the preset (or the checkpoint's config), a fresh
    model, on one in-memory batch (random pictures in [-1, 1], reused every step): the
    optimisation step alone, no data loading, G's EMA, logging, sample grids or checkpoints.
    ``--warmup`` untimed steps, then ``--windows`` windows of ``--steps`` steps; the median window
    in images/s. R1 (every 16th D step) and path length (every 4th G step) are lazy, so a window
    of 16 steps (the default) holds exactly one R1 step and four path-length steps, the same
    share as a long run. float32, and with ``--cpu-bf16`` also under bf16 autocast, as ``facegan
    train --cpu-bf16`` runs it; channels_last, as the Trainer keeps StyleGAN (on CUDA: bf16 only).

Without --checkpoint it times a randomly initialised model of ``--preset`` ("cpu": the bundled
size, 64 px, z / w 128, at most 128 channels; "64": StyleGAN2-ADA's auto size at 64 px): the
speed is the same as a trained one's, and the output says which it timed. Inference runs in bf16
autocast where the CPU computes it natively (as the app), exact float32 with ``--float32``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/stylegan_speed.py` from a plain checkout
    sys.path.insert(0, str(ROOT))

from acgan_train_speed import cpu_name

from facegan import hub
from facegan.models import stylegan
from facegan.studio import Studio

PARTS = ("face", "mix", "interpolation", "train")
PSI = 0.7  # the tab's psi slider
FIGURE_PX = FRAME_PX = 128  # apps/stylegan.py: the mixing figure's and an interpolation's pictures
MIX_SIDE = 6
MORPH = {"frames": 24, "mode": "lerp-w", "loop": True, "side_by_side": 1, "fps": 20}  # the tab's defaults: 72 frames


def load(args, device: torch.device) -> tuple[stylegan.Model, str]:
    if args.checkpoint:
        model = hub.load(args.checkpoint, device)
        if not isinstance(model, stylegan.Model):
            raise SystemExit(f"--checkpoint {args.checkpoint}: a {type(model).__name__}, not a StyleGAN checkpoint")
        return model.eval(), args.checkpoint
    torch.manual_seed(0)
    model = stylegan.Model(stylegan.Config(preset=args.preset)).to(device).eval()
    return model, f"randomly initialised, preset {args.preset!r} (no --checkpoint: the speed is a trained one's)"


def ms_stats(ms: list[float]) -> str:
    return f"median {statistics.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms"


def timed(fn, repeats: int) -> list[float]:
    """``fn(i)`` twice untimed, then ``repeats`` timed calls; ms each."""
    for i in range(2):
        fn(1000 + i)
    ms = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def bench_studio(st: Studio, parts: list[str], repeats: int, results: list) -> None:
    if "face" in parts:
        ms = timed(lambda i: st.face(i, psi=PSI), repeats)
        results.append(("one face", ms, 60))
        print(f"  one face (Studio.face, psi {PSI}): {ms_stats(ms)}")
    if "mix" in parts:
        mix_ms = []

        def mix(i: int) -> None:
            seeds = range(2 * MIX_SIDE * i, 2 * MIX_SIDE * (i + 1))
            t0 = time.perf_counter()
            m = st.mix(list(seeds[:MIX_SIDE]), list(seeds[MIX_SIDE:]), "coarse", psi=PSI)
            mix_ms.append((time.perf_counter() - t0) * 1e3)
            m.figure(max(st.size, FIGURE_PX))

        ms = timed(mix, repeats)
        del mix_ms[:2]  # the warm-up calls'
        results.append((f"{MIX_SIDE} x {MIX_SIDE} style-mixing grid + figure", ms, 1000))
        print(f"  {MIX_SIDE} x {MIX_SIDE} mixing grid, coarse styles (Studio.mix + Mixing.figure({FIGURE_PX})): "
              f"{ms_stats(ms)}; Studio.mix alone {ms_stats(mix_ms)}")
    if "interpolation" in parts:
        frames = st.frame_count(3, MORPH["frames"], MORPH["loop"])
        with tempfile.TemporaryDirectory(prefix="facegan-bench-") as out:
            sizes = []

            def morph(i: int) -> None:
                gif, mp4 = st.interpolate([3 * i + 1, 3 * i + 2, 3 * i + 3], size=FRAME_PX, psi=PSI, out_dir=out,
                                          **MORPH)
                sizes[:] = [gif.stat().st_size, mp4.stat().st_size]

            ms = timed(morph, repeats)
        results.append((f"3-face {frames}-frame interpolation, GIF + MP4", ms, 5000))
        print(f"  3 faces, {frames} frames at {FRAME_PX} px, GIF + MP4 (Studio.interpolate, {MORPH['mode']}, "
              f"{MORPH['fps']} fps): {ms_stats(ms)} (GIF {sizes[0] / 1e3:.0f} kB, MP4 {sizes[1] / 1e3:.0f} kB)")


def bench_train(cfg: stylegan.Config, args, device: torch.device) -> list[tuple[str, list[float]]]:
    runs = [("float32", contextlib.nullcontext)]
    if args.cpu_bf16 or device.type == "cuda":
        runs.append(("bf16 autocast", lambda: torch.autocast(device.type, dtype=torch.bfloat16)))
    if device.type == "cuda":
        runs = runs[1:]  # the Trainer's default there
    torch.manual_seed(0)
    real = torch.rand(args.batch_size, 3, cfg.image_size, cfg.image_size, device=device) * 2 - 1
    channels_last = device.type == "cuda" or stylegan.TECHNIQUE.cpu_channels_last  # as the Trainer
    if channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    out = []
    for name, autocast in runs:
        torch.manual_seed(0)
        model = stylegan.Model(cfg).to(device).train()
        if channels_last:
            model.to(memory_format=torch.channels_last)
        step = stylegan.TrainStep(model, cfg)
        for _ in range(args.warmup):
            step((real, None), autocast)
        sync(device)
        windows = []
        for _ in range(args.windows):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                losses = step((real, None), autocast)
            sync(device)
            windows.append((time.perf_counter() - t0) / args.steps)
        last = ", ".join(f"{k} {v.item():.3f}" for k, v in losses.items())
        print(f"  train {name}: windows {', '.join(f'{s * 1e3:.0f}' for s in windows)} ms/step; "
              f"{args.batch_size / statistics.median(windows):.1f} images/s; last: {last}")
        out.append((name, windows))
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for what each part times.")
    p.add_argument("--checkpoint", help="a checkpoint folder or repo@revision (default: a random model of --preset)")
    p.add_argument("--preset", default="cpu", choices=list(stylegan.PRESETS),
                   help="the random model's size without --checkpoint (default cpu, the bundled size)")
    p.add_argument("--repeats", type=int, default=10, help="timed calls of each Studio part (default 10)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--float32", action="store_true", help="exact float32 (else bf16 autocast where native)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)} (default all)")
    p.add_argument("--batch-size", type=int, default=stylegan.TECHNIQUE.batch_size,
                   help=f"training batch (default {stylegan.TECHNIQUE.batch_size}, the technique's)")
    p.add_argument("--steps", type=int, default=16, help="training steps per timed window (default 16: one R1 step "
                   "and four path-length steps in each)")
    p.add_argument("--windows", type=int, default=3, help="timed training windows; the median is shown (default 3)")
    p.add_argument("--warmup", type=int, default=2, help="untimed training steps first (default 2)")
    p.add_argument("--cpu-bf16", action="store_true", dest="cpu_bf16",
                   help="also train under bf16 autocast, as `facegan train --cpu-bf16`")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default cpu")
    args = p.parse_args(argv)
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    if not parts or any(x not in PARTS for x in parts):
        raise SystemExit(f"--parts: comma-separated, of {', '.join(PARTS)}; got {args.parts!r}")
    if min(args.repeats, args.batch_size, args.steps, args.windows) < 1 or args.warmup < 0:
        raise SystemExit("--repeats, --batch-size, --steps and --windows must be >= 1, --warmup >= 0")
    if args.threads is not None:
        if args.threads < 1:
            raise SystemExit("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available here")

    model, name = load(args, device)
    cfg = model.config
    where = (torch.cuda.get_device_name(device) if device.type == "cuda" else
             f"CPU ({cpu_name()}, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores visible)")
    print(f"torch {torch.__version__}, python {platform.python_version()}, {where}")
    g_params = sum(p.numel() for p in model.generator.parameters())
    d_params = sum(p.numel() for p in model.discriminator.parameters())
    print(f"model: {name}; {cfg.image_size} px, z / w {cfg.z_dim} / {cfg.w_dim}, {cfg.mapping_layers} mapping layers, "
          f"channels min({cfg.channel_base} // res, {cfg.channel_max}), {model.num_ws} styles; "
          f"G {g_params / 1e6:.2f} M, D {d_params / 1e6:.2f} M parameters")

    results: list = []
    studio_parts = [x for x in parts if x != "train"]
    if studio_parts:
        st = Studio(model, dtype="float32" if args.float32 else "auto")
        print(f"Studio ({st.dtype}), {args.repeats} timed calls each after 2 warm-up calls:")
        bench_studio(st, studio_parts, args.repeats, results)
    train = []
    if "train" in parts:
        print(f"TrainStep, batch {args.batch_size}, {cfg.image_size} px: {args.warmup} warm-up steps, then "
              f"{args.windows} windows of {args.steps} steps (R1 every {cfg.r1_interval} D steps, path length every "
              f"{cfg.pl_interval} G steps: lazy, inside the windows)")
        train = bench_train(cfg, args, device)

    print()
    print("| what | median | p90 | target | met |")
    print("|---|---|---|---|---|")
    for what, ms, target in results:
        med = statistics.median(ms)
        print(f"| {what} | {med:.1f} ms | {np.percentile(ms, 90):.1f} ms | < {target:,} ms | "
              f"{'yes' if med < target else 'no'} |")
    for what, windows in train:
        med = statistics.median(windows)
        print(f"| training {what}, batch {args.batch_size} | {args.batch_size / med:.1f} images/s "
              f"({med * 1e3:.0f} ms/step) | slowest window {args.batch_size / max(windows):.1f} images/s | | |")


if __name__ == "__main__":
    main()
