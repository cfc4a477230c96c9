"""DCGAN speed: sampling a face grid, and training images/s of facegan vs. the pytorch/examples DCGAN.

Three measurements, each printed as figures (nothing is asserted):

``grid``
    Milliseconds to turn 64 latent codes into one 8x8 picture with the bundled default
    checkpoint (``hub.default_checkpoint("dcgan")`` -> ``hub.load_folder``), i.e.
    ``Explorer.generate`` (G in inference mode, in batches) + ``images.grid`` (uint8 and
    the tiled picture): median and p90 over ``--repeats`` after ``--warmup`` untimed ones.

``train``
    Training throughput of the real facegan loop: ``facegan.train.Trainer`` (DCGAN
    ``TrainStep`` + EMA update + the on-device loss sums) on an ``ImageSet`` decoded
    once from ``--data`` by ``facegan.data.load_folder`` and batched by
    ``facegan.data.Batches`` on the device, as ``facegan train dcgan`` does. The run is
    ``Trainer.run()`` for ``--warmup`` steps, then ``Trainer.run()`` timed for ``--steps``
    more (CUDA synchronised at both ends). The log/sample/checkpoint intervals are set out
    of reach, and the sample grid and checkpoint a run writes at its very last step are
    left out of the figure (they are timed once on their own and printed separately),
    so the figure is the per-step cost of a long run.

``reference``
    The same measurement for pytorch/examples' ``dcgan/main.py`` training loop,
    re-implemented below (its G and D, BCELoss on sigmoid outputs, Adam, a DataLoader
    that opens and transforms every image on every epoch with ``--workers`` processes),
    so the two figures can be compared on one machine.

Run (from the repository root)::

    python benchmarks/dcgan_speed.py grid --repeats 50
    python benchmarks/dcgan_speed.py train --device cuda --batch-size 128 --steps 200 --warmup 20
    python benchmarks/dcgan_speed.py train --device cuda --compile --no-amp
    python benchmarks/dcgan_speed.py reference --device cuda --batch-size 128 --steps 200 --workers 8

``--data`` defaults to ``$FACEGAN_DATA/anime-faces-64``, else ``../shared/data/anime-faces-64``
next to the repository. ``--limit N`` uses the first N images only.

Example output (last lines; 2 CPU cores shared with a training job, so slow and noisy)::

    $ python benchmarks/dcgan_speed.py grid --repeats 10
    facegan grid: 284.0 ms median, 326.5 ms p90 for 64 faces = 4.44 ms per image on CPU (AMD EPYC, 2 torch threads, ...)
    $ python benchmarks/dcgan_speed.py train --steps 5 --warmup 2 --batch-size 32 --limit 512
    facegan train: 8 images/s, 3843.9 ms/step (batch 32, 5 steps after 2 warm-up) on CPU (AMD EPYC, ...), torch 2.14.1
    $ python benchmarks/dcgan_speed.py reference --steps 5 --warmup 2 --batch-size 32 --limit 512
    reference (pytorch/examples dcgan) train: 9 images/s, 3721.3 ms/step (batch 32, 5 steps after 2 warm-up) on CPU ...
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/dcgan_speed.py` from a plain checkout: facegan importable
    sys.path.insert(0, str(ROOT))

from timing import sync, timed_training

# ----------------------------------------------------------------------------- shared helpers


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available here")
    return device


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({cpu_name()}, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores visible)"


def default_data() -> Path:
    from facegan.data import data_root

    return data_root() / "anime-faces-64"


def print_environment(device: torch.device) -> None:
    print(f"torch {torch.__version__}, python {platform.python_version()}, device {device}: {hardware(device)}")
    print(f"torch threads: {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}), CPU: {cpu_name()}")


def ms_summary(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"median {np.median(a):.2f} ms, p90 {np.percentile(a, 90):.2f} ms, "
            f"min {a.min():.2f} ms, mean {a.mean():.2f} ms (n={len(a)})")


# ----------------------------------------------------------------------------- grid


def cmd_grid(args) -> None:
    from facegan import hub
    from facegan import images as img_lib
    from facegan.explorer import Explorer

    device = pick_device(args.device)
    print_environment(device)
    default = hub.default_checkpoint("dcgan")
    print(f"checkpoint: {default.folder} ({default.source}): {default.notice}")
    model = hub.load_folder(default.folder, device)
    c = model.config
    n_params = sum(p.numel() for p in model.generator.parameters())
    print(f"model: nz={c.nz} ngf={c.ngf} ndf={c.ndf}, {n_params:,} G parameters")
    ex = Explorer(model)
    z = ex.z(ex.random_codes(args.count, seed=0))  # codes -> z is not timed: the figure is G + picture

    for _ in range(args.warmup):
        img_lib.grid(ex.generate(z))
    total, gen, pic = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        faces = ex.generate(z)  # returns a CPU tensor, so a CUDA run is synchronised here
        t1 = time.perf_counter()
        picture = img_lib.grid(faces)
        t2 = time.perf_counter()
        gen.append((t1 - t0) * 1e3)
        pic.append((t2 - t1) * 1e3)
        total.append((t2 - t0) * 1e3)

    med = float(np.median(total))
    print(f"grid of {args.count} faces -> {picture.shape[1]}x{picture.shape[0]} picture, "
          f"{args.repeats} repeats after {args.warmup} warm-up:")
    print(f"  total (Explorer.generate + images.grid): {ms_summary(total)}")
    print(f"  Explorer.generate only:                  {ms_summary(gen)}")
    print(f"  images.grid only:                        {ms_summary(pic)}")
    print(f"facegan grid: {med:.1f} ms median, {np.percentile(total, 90):.1f} ms p90 for {args.count} faces "
          f"= {med / args.count:.2f} ms per image on {hardware(device)}")


# ----------------------------------------------------------------------------- train (facegan)


def cmd_train(args) -> None:
    from facegan import data as data_lib
    from facegan import models
    from facegan.train import TrainConfig

    device = pick_device(args.device)
    print_environment(device)
    module = models.get("dcgan")
    model_cfg = module.Config(**{k: getattr(args, k) for k in ("nz", "ngf", "ndf") if getattr(args, k) is not None})

    t0 = time.perf_counter()
    data = data_lib.load_folder(args.data, model_cfg.image_size, limit=args.limit or None)
    print(f"data: {len(data)} images from {args.data} decoded in {time.perf_counter() - t0:.1f} s "
          f"({len(data.skipped)} unreadable skipped); kept on {device} as uint8")

    never = 10**9  # log / sample / checkpoint intervals out of reach: only the final log step runs
    cfg = TrainConfig(steps=args.warmup, batch_size=args.batch_size, seed=0, log_every=never,
                      sample_every=never, checkpoint_every=never, device=str(device), amp=args.amp,
                      channels_last=args.channels_last, compile=args.compile, limit=args.limit)
    flags = (f"amp={'bf16' if args.amp and device.type == 'cuda' else 'off'} "
             f"channels_last={args.channels_last and device.type == 'cuda'} compile={args.compile} "
             f"nz={model_cfg.nz} ngf={model_cfg.ngf} ndf={model_cfg.ndf}")
    if device.type != "cuda" and (args.amp or args.channels_last):
        flags += " (Trainer applies amp and channels_last on CUDA only)"

    with timed_training("dcgan", data, model_cfg, cfg, args.steps) as t:
        dt, warm_s = t.timed_s, t.warm_s
        own_ips = t.trainer.status.get("images_per_s", float("nan"))
        losses = t.trainer.status.get("losses", {})
        del t.trainer.save_samples, t.trainer.save_checkpoint  # the real ones again
        t1 = time.perf_counter()
        t.trainer.save_samples()
        t.trainer.save_checkpoint()
        sync(device)
        io_s = time.perf_counter() - t1

    ips = args.steps * args.batch_size / dt
    print(f"warm-up: {args.warmup} steps in {warm_s:.2f} s")
    print(f"timed: {args.steps} steps in {dt:.3f} s; the Trainer's own images/s for the same steps: {own_ips:.1f}")
    print(f"last losses: {', '.join(f'{k} {v:.3f}' for k, v in losses.items())}")
    print(f"one sample grid + checkpoint (what a run adds every --sample-every/--checkpoint-every steps, "
          f"not in the figure): {io_s * 1e3:.0f} ms")
    print(f"flags: {flags}")
    print(f"facegan train: {ips:.0f} images/s, {dt / args.steps * 1e3:.1f} ms/step (batch {args.batch_size}, "
          f"{args.steps} steps after {args.warmup} warm-up) on {hardware(device)}, torch {torch.__version__}")


# ----------------------------------------------------------------------------- reference
# Reproduces the training loop of pytorch/examples/dcgan/main.py (``--dataset folder``),
# re-implemented here so that it runs on the same data and machine as ``train``:
#   * G and D as in that script: DCGAN convs, BatchNorm, no biases, a Sigmoid at D's end,
#     its weights_init (N(0, 0.02) convs, N(1, 0.02) BN scales), nz=100, ngf=ndf=64;
#   * an ImageFolder-style data set (PIL open + convert RGB on every access) with
#     Resize(64) / CenterCrop(64) / ToTensor / Normalize(0.5, 0.5), in a DataLoader with
#     shuffle=True and num_workers (its --workers, default 2), a new iterator every epoch;
#   * per step: D on real (label 1) and on G(z).detach() (label 0) with BCELoss, Adam step;
#     then G against label 1, Adam step (lr 2e-4, betas (0.5, 0.999)); cudnn.benchmark on;
#   * its per-step log line with five .item() calls (host syncs) is computed but not printed.
# Left out, as on the facegan side: the sample images it saves every 100 iterations and
# the per-epoch checkpoints. No AMP, channels_last or compile: the script has none.


class RefGenerator(nn.Module):
    def __init__(self, nz: int, ngf: int, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),  # 4x4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),  # 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),  # 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),  # 64x64
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class RefDiscriminator(nn.Module):
    def __init__(self, ndf: int, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),  # 32x32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),  # 1x1
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1, 1).squeeze(1)


def ref_weights_init(m: nn.Module) -> None:
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class RefFolder(torch.utils.data.Dataset):
    """torchvision ImageFolder's reading (``default_loader`` + transform per item, label 0) over
    the same file list facegan reads, so ``--limit`` picks the same images and a flat folder works."""

    def __init__(self, paths: list[Path], transform):
        from torchvision.datasets.folder import default_loader

        self.paths, self.transform, self.loader = [str(p) for p in paths], transform, default_loader

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return self.transform(self.loader(self.paths[i])), 0


class Reference:
    """One iteration of pytorch/examples' dcgan/main.py loop per call (see above), over ``paths``."""

    def __init__(self, paths: list[Path], device: torch.device, batch_size: int, nz: int = 100, ngf: int = 64,
                 ndf: int = 64, workers: int = 2):
        import torchvision.transforms as T

        image_size = 64
        torch.backends.cudnn.benchmark = True
        self.device, self.nz = device, nz
        dataset = RefFolder(paths, T.Compose([
            T.Resize(image_size), T.CenterCrop(image_size), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]))
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers)
        self.netG = RefGenerator(nz, ngf).to(device)
        self.netG.apply(ref_weights_init)
        self.netD = RefDiscriminator(ndf).to(device)
        self.netD.apply(ref_weights_init)
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.batches = self._batches()
        self.log = ""

    def _batches(self):
        epoch = 0
        while True:  # the script's `for epoch ...: for i, data in enumerate(dataloader)`
            for i, data in enumerate(self.loader):
                yield epoch, i, data
            epoch += 1

    def __call__(self) -> int:
        """One step; returns the images it trained on."""
        netD, netG, criterion, device = self.netD, self.netG, self.criterion, self.device
        real_label, fake_label = 1, 0
        epoch, i, data = next(self.batches)
        # (1) D: maximise log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real = data[0].to(device)
        b = real.size(0)
        label = torch.full((b,), real_label, dtype=real.dtype, device=device)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(b, self.nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()

        # (2) G: maximise log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        self.log = (f"[{epoch}][{i}/{len(self.loader)}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} "
                    f"D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}")
        return b


def cmd_reference(args) -> None:
    from facegan import data as data_lib

    device = pick_device(args.device)
    print_environment(device)
    nz, ngf, ndf = args.nz or 100, args.ngf or 64, args.ndf or 64
    torch.manual_seed(0)
    paths = data_lib.list_images(args.data)
    paths = paths[:args.limit] if args.limit else paths
    step = Reference(paths, device, args.batch_size, nz, ngf, ndf, args.workers)
    print(f"data: {len(paths)} images from {args.data}, read by a DataLoader with {args.workers} workers, "
          f"{len(step.loader)} batches per epoch")

    t0 = time.perf_counter()
    for _ in range(args.warmup):  # includes the workers' start-up
        step()
    sync(device)
    warm_s = time.perf_counter() - t0

    images = 0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        images += step()
    sync(device)
    dt = time.perf_counter() - t0

    print(f"warm-up: {args.warmup} steps in {warm_s:.2f} s")
    print(f"timed: {args.steps} steps, {images} images in {dt:.3f} s; last log line: {step.log}")
    print(f"flags: fp32, workers={args.workers}, nz={nz} ngf={ngf} ndf={ndf}, cudnn.benchmark=True")
    print(f"reference (pytorch/examples dcgan) train: {images / dt:.0f} images/s, {dt / args.steps * 1e3:.1f} ms/step "
          f"(batch {args.batch_size}, {args.steps} steps after {args.warmup} warm-up) on {hardware(device)}, "
          f"torch {torch.__version__}")


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring (or the source) for what each figure includes.")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch's default)")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grid", help="ms to generate a 64-face grid with the bundled checkpoint")
    g.add_argument("--repeats", type=int, default=50, help="timed repeats (default 50)")
    g.add_argument("--warmup", type=int, default=3, help="untimed repeats first (default 3)")
    g.add_argument("--count", type=int, default=64, help="faces per grid (default 64)")
    g.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                   help="where G runs (default cpu, as in the app)")
    g.set_defaults(fn=cmd_grid)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", type=Path, default=default_data(),
                        help="image folder (default $FACEGAN_DATA/anime-faces-64 or ../shared/data/anime-faces-64; "
                             "now %(default)s)")
    common.add_argument("--limit", type=int, default=0, help="use the first N images only (0 = all)")
    common.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default auto")
    common.add_argument("--batch-size", type=int, default=128, help="default 128")
    common.add_argument("--steps", type=int, default=100, help="timed steps (default 100)")
    common.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    common.add_argument("--nz", type=int, help="latent size (default: 16 for train, 100 for reference)")
    common.add_argument("--ngf", type=int, help="G width (default 64)")
    common.add_argument("--ndf", type=int, help="D width (default 64)")

    t = sub.add_parser("train", parents=[common], help="images/s of facegan's Trainer (DCGAN step + EMA)")
    t.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                   help="bf16 autocast on CUDA (default on, as TrainConfig)")
    t.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                   help="channels_last on CUDA (default on, as TrainConfig)")
    t.add_argument("--compile", action="store_true", help="torch.compile G and D (Module.compile)")
    t.set_defaults(fn=cmd_train)

    r = sub.add_parser("reference", parents=[common],
                       help="images/s of pytorch/examples' dcgan/main.py loop, re-implemented")
    r.add_argument("--workers", type=int, default=2, help="DataLoader workers (default 2, as the script)")
    r.set_defaults(fn=cmd_reference)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.command != "grid":
        if args.steps < 1 or args.warmup < 0:
            raise SystemExit("--steps must be >= 1 and --warmup >= 0")
        if not args.data.is_dir():
            raise SystemExit(f"--data {args.data}: not a folder (set FACEGAN_DATA or pass --data)")
    elif args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    args.fn(args)


if __name__ == "__main__":
    main()
