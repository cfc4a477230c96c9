"""AC-GAN training speed: images/s of facegan's TrainStep vs. gitlimlab/ACGAN-PyTorch's training loop.

    python benchmarks/acgan_train_speed.py [--threads 1] [--batch-size 64] [--steps 5] [--windows 5]
                                           [--warmup 3] [--cpu-bf16] [--device cpu]

Both sides train on the same in-memory batch (random pictures in [-1, 1] and random classes,
reused every step), so the figure is the optimisation step alone: no data loading, EMA, logging,
sample grids or checkpoints. Each implementation runs ``--warmup`` untimed steps, then
``--windows`` timed windows of ``--steps`` steps; the table shows the median window
(images/s and ms/step) and the fastest and slowest windows.

``facegan``
    ``facegan.models.acgan.TrainStep`` at the bundled size: 64 px, nz 32, ngf = ndf = 48, the 12
    hair colours, the "dcgan" backbone, the "ac" head (non-saturating loss and class
    cross-entropy on logits, one D step then one G step, Adam 2e-4 (0.5, 0.999)), in float32, and
    with ``--cpu-bf16`` also under bf16 autocast as ``facegan train --cpu-bf16`` runs it (on CUDA:
    bf16 autocast always, as the Trainer's default ``amp``).

``gitlimlab``
    The per-iteration loop of gitlimlab's ``main.py``, re-implemented here: D on the real batch
    (BCELoss on the sigmoid output + NLLLoss on the *softmax* output, as it does) and backward,
    ``compute_acc`` (a host sync), the noise drawn with numpy (N(0, 1), the class one-hot over its
    first num_classes entries) and copied in, D on ``fake.detach()`` and backward, D's Adam step;
    then D on ``fake`` against the real label and backward (D's gradients are computed too, as in
    the script), G's Adam step; its log line's ``.item()`` calls. Adam lr 2e-4, betas (0.5, 0.999),
    its ``weights_init``, float32 (the script has no autocast). Its nets have no 64 px version, so
    they are its CIFAR-10 pair grown by one stage each, at the same size:

    - G: ``fc1`` Linear(32 + 12, 384) (its 110-entry noise becomes nz 32 + 12 one-hot entries),
      ``tconv2`` ConvT(384, 192, 4, 1, 0) 4x4, ``tconv3`` (192 -> 96) 8x8, ``tconv4`` (96 -> 48)
      16x16, **added** ``tconv5`` (48 -> 24) 32x32, each with BN and ReLU, and ``tconv6``
      ConvT(24, 3, 4, 2, 1) + Tanh at 64x64 (its ``tconv5`` moved one stage on);
    - D: its six 3x3 convs (16, 32, 64, 128, 256, 512; strides 2, 1, 2, 1, 2, 1; BN from conv2 on,
      LeakyReLU 0.2, Dropout 0.5), 64 -> 8x8, then an **added** ``conv7`` Conv(512, 512, 3, 2, 1)
      with BN, LeakyReLU, Dropout to 4x4, so ``fc_dis`` / ``fc_aux`` read 4*4*512 as in CIFAR.

The two pairs of nets differ (the table's parameter and multiply-accumulate counts say by how
much), so the figures compare the two ways of training an AC-GAN of this size, not one network
under two loops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/acgan_train_speed.py` from a plain checkout
    sys.path.insert(0, str(ROOT))

from facegan.models import acgan

NZ, NGF, NDF, SIZE = 32, 48, 48, 64  # the bundled AC-GAN's size
CLASSES = list(acgan.ANIME_HAIR)  # its 12 hair colours


# ----------------------------------------------------------------------------- gitlimlab's nets, grown to 64 px


def _tconv(cin: int, cout: int, k: int, s: int, p: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))


def _conv(cin: int, cout: int, stride: int, bn: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True), nn.Dropout(0.5, inplace=False))


class GitlimlabG(nn.Module):
    """_netG_CIFAR10 with one more up stage (tconv5 48 -> 24 at 32x32; tconv6 to 64x64)."""

    def __init__(self, nz: int):
        super().__init__()
        self.nz = nz
        self.fc1 = nn.Linear(nz, 384)
        self.tconv2 = _tconv(384, 192, 4, 1, 0)
        self.tconv3 = _tconv(192, 96, 4, 2, 1)
        self.tconv4 = _tconv(96, 48, 4, 2, 1)
        self.tconv5 = _tconv(48, 24, 4, 2, 1)  # added
        self.tconv6 = nn.Sequential(nn.ConvTranspose2d(24, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        h = self.fc1(input.view(-1, self.nz)).view(-1, 384, 1, 1)
        return self.tconv6(self.tconv5(self.tconv4(self.tconv3(self.tconv2(h)))))


class GitlimlabD(nn.Module):
    """_netD_CIFAR10 with one more down stage (conv7 512 -> 512, stride 2, to 4x4); sigmoid and softmax out."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv1 = _conv(3, 16, 2, bn=False)
        self.conv2 = _conv(16, 32, 1)
        self.conv3 = _conv(32, 64, 2)
        self.conv4 = _conv(64, 128, 1)
        self.conv5 = _conv(128, 256, 2)
        self.conv6 = _conv(256, 512, 1)
        self.conv7 = _conv(512, 512, 2)  # added
        self.fc_dis = nn.Linear(4 * 4 * 512, 1)
        self.fc_aux = nn.Linear(4 * 4 * 512, num_classes)
        self.softmax = nn.Softmax(dim=1)  # its nn.Softmax() picks dim 1 for (N, K)
        self.sigmoid = nn.Sigmoid()

    def forward(self, input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = input
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.conv6, self.conv7):
            h = conv(h)
        flat = h.view(-1, 4 * 4 * 512)
        return self.sigmoid(self.fc_dis(flat)).view(-1, 1).squeeze(1), self.softmax(self.fc_aux(flat))


def weights_init(m: nn.Module) -> None:
    """gitlimlab's utils.weights_init."""
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


def compute_acc(preds: torch.Tensor, labels: torch.Tensor) -> float:
    """gitlimlab's utils.compute_acc (its .cpu().sum() is a host sync)."""
    correct = preds.data.max(1)[1].eq(labels.data).cpu().sum()
    return float(correct) / float(len(labels.data)) * 100.0


class GitlimlabLoop:
    """One iteration of gitlimlab's main.py loop (its `for i, data in enumerate(dataloader)` body)."""

    def __init__(self, device: torch.device, batch: int, num_classes: int):
        self.device, self.num_classes = device, num_classes
        self.nz = NZ + num_classes  # its opt.nz: the noise and the one-hot in one vector
        self.netG = GitlimlabG(self.nz).to(device)
        self.netG.apply(weights_init)
        self.netD = GitlimlabD(num_classes).to(device)
        self.netD.apply(weights_init)
        self.dis_criterion, self.aux_criterion = nn.BCELoss(), nn.NLLLoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.input = torch.empty(batch, 3, SIZE, SIZE, device=device)
        self.noise = torch.empty(batch, self.nz, 1, 1, device=device)
        self.dis_label = torch.empty(batch, device=device)
        self.aux_label = torch.empty(batch, dtype=torch.long, device=device)
        self.log = ""

    def g_inputs(self) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(1, self.nz, device=self.device),)

    def __call__(self, real_cpu: torch.Tensor, label: torch.Tensor) -> None:
        netD, netG, dis_criterion, aux_criterion = self.netD, self.netG, self.dis_criterion, self.aux_criterion
        # (1) D: train with real
        netD.zero_grad()
        batch_size = real_cpu.size(0)
        self.input.resize_as_(real_cpu).copy_(real_cpu)
        self.dis_label.resize_(batch_size).fill_(1)
        self.aux_label.resize_(batch_size).copy_(label)
        dis_output, aux_output = netD(self.input)
        errD_real = dis_criterion(dis_output, self.dis_label) + aux_criterion(aux_output, self.aux_label)
        errD_real.backward()
        D_x = dis_output.data.mean()
        accuracy = compute_acc(aux_output, self.aux_label)
        # train with fake: numpy noise, the class one-hot over its first num_classes entries
        label = np.random.randint(0, self.num_classes, batch_size)
        noise_ = np.random.normal(0, 1, (batch_size, self.nz))
        class_onehot = np.zeros((batch_size, self.num_classes))
        class_onehot[np.arange(batch_size), label] = 1
        noise_[np.arange(batch_size), :self.num_classes] = class_onehot[np.arange(batch_size)]
        self.noise.copy_(torch.from_numpy(noise_).view(batch_size, self.nz, 1, 1))
        self.aux_label.resize_(batch_size).copy_(torch.from_numpy(label))
        fake = netG(self.noise)
        self.dis_label.fill_(0)
        dis_output, aux_output = netD(fake.detach())
        errD_fake = dis_criterion(dis_output, self.dis_label) + aux_criterion(aux_output, self.aux_label)
        errD_fake.backward()
        D_G_z1 = dis_output.data.mean()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        # (2) G
        netG.zero_grad()
        self.dis_label.fill_(1)
        dis_output, aux_output = netD(fake)
        errG = dis_criterion(dis_output, self.dis_label) + aux_criterion(aux_output, self.aux_label)
        errG.backward()
        D_G_z2 = dis_output.data.mean()
        self.optimizerG.step()
        self.log = (f"Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} D(x): {D_x.item():.4f} "
                    f"D(G(z)): {D_G_z1.item():.4f} / {D_G_z2.item():.4f} Acc: {accuracy:.4f}")


# ----------------------------------------------------------------------------- facegan


class FaceganLoop:
    """facegan's AC-GAN TrainStep at the bundled size, under ``autocast``."""

    def __init__(self, device: torch.device, bf16: bool):
        self.cfg = acgan.Config(nz=NZ, ngf=NGF, ndf=NDF, backbone="dcgan", head="ac", classes=CLASSES)
        self.model = acgan.Model(self.cfg).to(device).train()
        self.step = acgan.TrainStep(self.model, self.cfg)
        if bf16:
            self.autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16)
        else:
            self.autocast = contextlib.nullcontext
        self.netG, self.netD, self.device, self.losses = self.model.generator, self.model.discriminator, device, {}

    def g_inputs(self) -> tuple[torch.Tensor, ...]:
        return torch.zeros(1, NZ, device=self.device), torch.zeros(1, dtype=torch.long, device=self.device)

    def __call__(self, real: torch.Tensor, label: torch.Tensor) -> None:
        onehot = nn.functional.one_hot(label, len(CLASSES)).float()
        self.losses = self.step((real, onehot), self.autocast)  # no .item(): the Trainer syncs at log steps only

    @property
    def log(self) -> str:
        return " ".join(f"{k} {v.item():.4f}" for k, v in self.losses.items())


# ----------------------------------------------------------------------------- timing


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def macs(net: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass of one sample (convs, transposed convs, linears)."""
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Linear):
            total += m.in_features * m.out_features
        elif isinstance(m, nn.ConvTranspose2d):
            total += inp[0][0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
        elif isinstance(m, nn.Conv2d):
            total += out[0].numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d,
                                                                                      nn.ConvTranspose2d))]
    with torch.no_grad():
        was = net.training
        net.eval()
        net(*(x[:1] for x in inputs))
        net.train(was)
    for h in handles:
        h.remove()
    return total


def measure(name: str, loop, real: torch.Tensor, label: torch.Tensor, args, device: torch.device) -> dict:
    for _ in range(args.warmup):
        loop(real, label)
    sync(device)
    windows = []
    for _ in range(args.windows):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            loop(real, label)
        sync(device)
        windows.append((time.perf_counter() - t0) / args.steps)
    g, d = loop.netG, loop.netD
    params = sum(p.numel() for p in g.parameters()) + sum(p.numel() for p in d.parameters())
    return {"name": name, "s": windows, "params": params, "macs": macs(g, *loop.g_inputs()) + macs(d, real),
            "log": loop.log}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for what each row runs.")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--batch-size", type=int, default=64, help="default 64 (the bundled AC-GAN's)")
    p.add_argument("--steps", type=int, default=5, help="steps per timed window (default 5)")
    p.add_argument("--windows", type=int, default=5, help="timed windows; the median is shown (default 5)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--cpu-bf16", action="store_true", dest="cpu_bf16",
                   help="also facegan under bf16 autocast, as `facegan train --cpu-bf16`")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default cpu")
    args = p.parse_args(argv)
    if min(args.threads, args.batch_size, args.steps, args.windows) < 1 or args.warmup < 0:
        raise SystemExit("--threads, --batch-size, --steps and --windows must be >= 1, --warmup >= 0")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available here")
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True  # gitlimlab sets it; harmless for facegan
    torch.manual_seed(0)
    np.random.seed(0)
    real = torch.rand(args.batch_size, 3, SIZE, SIZE, device=device) * 2 - 1
    label = torch.randint(len(CLASSES), (args.batch_size,), device=device)

    where = (torch.cuda.get_device_name(device) if device.type == "cuda" else
             f"CPU ({cpu_name()}, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores visible)")
    print(f"torch {torch.__version__}, python {platform.python_version()}, {where}")
    print(f"AC-GAN at {SIZE} px, {len(CLASSES)} classes, batch {args.batch_size}: {args.warmup} warm-up steps, then "
          f"{args.windows} windows of {args.steps} steps each")
    runs = [("facegan float32", lambda: FaceganLoop(device, bf16=False))]
    if args.cpu_bf16 or device.type == "cuda":
        runs.append(("facegan bf16 autocast", lambda: FaceganLoop(device, bf16=True)))
    runs.append(("gitlimlab main.py loop, float32", lambda: GitlimlabLoop(device, args.batch_size, len(CLASSES))))
    results = []
    for name, make in runs:
        torch.manual_seed(0)
        results.append(measure(name, make(), real, label, args, device))
        r = results[-1]
        print(f"  {name}: windows {', '.join(f'{s * 1e3:.0f}' for s in r['s'])} ms/step; last losses: {r['log']}")

    print()
    print("| implementation | images/s | ms/step | fastest / slowest window, ms/step | G + D parameters | "
          "MACs per image (G + D forward) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        med = statistics.median(r["s"])
        print(f"| {r['name']} | {args.batch_size / med:.0f} | {med * 1e3:.0f} | {min(r['s']) * 1e3:.0f} / "
              f"{max(r['s']) * 1e3:.0f} | {r['params'] / 1e6:.2f} M | {r['macs'] / 1e6:.0f} M |")


if __name__ == "__main__":
    main()
