"""U-GAT-IT speed: converting one picture, and training iterations/s.

    python benchmarks/ugatit_speed.py convert [--checkpoint DIR|repo@rev] [--repeats 30]
    python benchmarks/ugatit_speed.py train [--size 128] [--ch 64] [--light|--full] [--n-res 4]
                                            [--batch-size 1] [--steps 20] [--device auto] [--compile]
    python benchmarks/ugatit_speed.py reference [--data DIR] [--size 128] [--ch 64] [--light|--full] [--n-res 4]
                                                [--steps 20] [--warmup 3] [--device auto]

``convert`` times ``Translator.translate`` on a 128 px face picture with cropping off (the
model's forward pass, the attention map and the three output pictures), median and p90 in ms.
``train`` times facegan's Trainer (the U-GAT-IT step: four D and two G, both directions, rho
clipping, EMA) on random two-domain data kept on the device, and prints iterations/s and
images/s with the batch size and hardware. The paper's setting is --size 256 --ch 64 --full
--batch-size 1; the official PyTorch code reaches 2.83 it/s on an H100 at light, 128 px, batch 1.
``reference`` times that code's training loop (``Reference`` below) on ``--data``'s trainA / trainB
at the same size and batch.
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
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import sync, timed_training

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


# ----------------------------------------------------------------------------- reference
# znxlwm/UGATIT-pytorch's UGATIT.train(), one iteration per call, re-implemented here so that it
# runs on the same data and machine as ``train``:
#   * its networks.py (ResnetGenerator, Discriminator), as tests/test_convert_ugatit.py writes them
#     out with the official names (one copy for the converter's test and this benchmark), built as
#     its build_model() builds them: ngf = ndf = ch, global D of 7 layers, local D of 5;
#   * its data: an image folder per domain read with PIL per item, RandomHorizontalFlip,
#     Resize((size + 30, size + 30)), RandomCrop(size), ToTensor, Normalize(0.5, 0.5), a DataLoader
#     with shuffle and no workers, a new iterator when one runs out;
#   * per iteration: D's update (both generators forward, the four D on real and fake, not
#     detached, as it does; LSGAN on the patch and CAM logits), then G's (translations, cycles,
#     identities, the four D again; LSGAN, L1 cycle x10 and identity x10, CAM BCE x1000), the rho
#     clipper on both generators and its log line (two host syncs). Adam lr 1e-4, betas (0.5,
#     0.999), weight decay 1e-4; float32 (the code has no autocast).
# Left out, as on the facegan side: its sample images, checkpoints and lr decay.


def official_nets():
    """UGATIT-pytorch's ResnetGenerator and Discriminator (tests/test_convert_ugatit.py's copy of networks.py)."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    import test_convert_ugatit as official

    return official.ResnetGenerator, official.Discriminator


def rho_clipper(module: torch.nn.Module) -> None:
    """Its utils.RhoClipper(0, 1)."""
    if hasattr(module, "rho"):
        module.rho.data = module.rho.data.clamp(0, 1)


class Reference:
    """One iteration of UGATIT-pytorch's training loop per call (see above); returns the batch size."""

    def __init__(self, root: Path, device: torch.device, image_size: int = 128, ch: int = 64, n_res: int = 4,
                 light: bool = True, batch_size: int = 1):
        import itertools

        import torchvision.transforms as T
        from dcgan_speed import RefFolder

        ResnetGenerator, Discriminator = official_nets()
        transform = T.Compose([T.RandomHorizontalFlip(), T.Resize((image_size + 30, image_size + 30)),
                               T.RandomCrop(image_size), T.ToTensor(),
                               T.Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))])
        self.loaders = [torch.utils.data.DataLoader(RefFolder(data_lib.list_images(Path(root) / d), transform),
                                                    batch_size=batch_size, shuffle=True) for d in ("trainA", "trainB")]
        self.iters = [iter(loader) for loader in self.loaders]
        self.genA2B, self.genB2A = (ResnetGenerator(3, 3, ch, n_res, image_size, light).to(device) for _ in range(2))
        self.disGA, self.disGB = (Discriminator(3, ch, 7).to(device) for _ in range(2))
        self.disLA, self.disLB = (Discriminator(3, ch, 5).to(device) for _ in range(2))
        self.L1_loss, self.MSE_loss, self.BCE_loss = nn.L1Loss(), nn.MSELoss(), nn.BCEWithLogitsLoss()
        self.G_optim = torch.optim.Adam(itertools.chain(self.genA2B.parameters(), self.genB2A.parameters()),
                                        lr=1e-4, betas=(0.5, 0.999), weight_decay=1e-4)
        self.D_optim = torch.optim.Adam(itertools.chain(*(d.parameters() for d in (self.disGA, self.disGB,
                                                                                   self.disLA, self.disLB))),
                                        lr=1e-4, betas=(0.5, 0.999), weight_decay=1e-4)
        self.device, self.log = device, ""

    def _next(self, k: int) -> torch.Tensor:
        try:
            x, _ = next(self.iters[k])
        except StopIteration:
            self.iters[k] = iter(self.loaders[k])
            x, _ = next(self.iters[k])
        return x.to(self.device)

    def _adv(self, logit: torch.Tensor, real: bool) -> torch.Tensor:
        return self.MSE_loss(logit, (torch.ones_like if real else torch.zeros_like)(logit).to(self.device))

    def __call__(self) -> int:
        real_A, real_B = self._next(0), self._next(1)
        disGA, disGB, disLA, disLB = self.disGA, self.disGB, self.disLA, self.disLB

        # Update D
        self.D_optim.zero_grad()
        fake_A2B, _, _ = self.genA2B(real_A)
        fake_B2A, _, _ = self.genB2A(real_B)
        d_loss = {}
        for name, D, real, fake in (("A", (disGA, disLA), real_A, fake_B2A), ("B", (disGB, disLB), real_B, fake_A2B)):
            total = 0
            for d in D:
                real_logit, real_cam_logit, _ = d(real)
                fake_logit, fake_cam_logit, _ = d(fake)
                total = total + (self._adv(real_logit, True) + self._adv(fake_logit, False)
                                 + self._adv(real_cam_logit, True) + self._adv(fake_cam_logit, False))
            d_loss[name] = total  # adv_weight 1
        Discriminator_loss = d_loss["A"] + d_loss["B"]
        Discriminator_loss.backward()
        self.D_optim.step()

        # Update G
        self.G_optim.zero_grad()
        fake_A2B, fake_A2B_cam_logit, _ = self.genA2B(real_A)
        fake_B2A, fake_B2A_cam_logit, _ = self.genB2A(real_B)
        fake_A2B2A, _, _ = self.genB2A(fake_A2B)
        fake_B2A2B, _, _ = self.genA2B(fake_B2A)
        fake_A2A, fake_A2A_cam_logit, _ = self.genB2A(real_A)
        fake_B2B, fake_B2B_cam_logit, _ = self.genA2B(real_B)
        g_ad = {}
        for name, D, fake in (("A", (disGA, disLA), fake_B2A), ("B", (disGB, disLB), fake_A2B)):
            total = 0
            for d in D:
                fake_logit, fake_cam_logit, _ = d(fake)
                total = total + self._adv(fake_logit, True) + self._adv(fake_cam_logit, True)
            g_ad[name] = total
        bce = self.BCE_loss
        G_cam_loss_A = (bce(fake_B2A_cam_logit, torch.ones_like(fake_B2A_cam_logit).to(self.device))
                        + bce(fake_A2A_cam_logit, torch.zeros_like(fake_A2A_cam_logit).to(self.device)))
        G_cam_loss_B = (bce(fake_A2B_cam_logit, torch.ones_like(fake_A2B_cam_logit).to(self.device))
                        + bce(fake_B2B_cam_logit, torch.zeros_like(fake_B2B_cam_logit).to(self.device)))
        G_loss_A = (g_ad["A"] + 10 * self.L1_loss(fake_A2B2A, real_A) + 10 * self.L1_loss(fake_A2A, real_A)
                    + 1000 * G_cam_loss_A)
        G_loss_B = (g_ad["B"] + 10 * self.L1_loss(fake_B2A2B, real_B) + 10 * self.L1_loss(fake_B2B, real_B)
                    + 1000 * G_cam_loss_B)
        Generator_loss = G_loss_A + G_loss_B
        Generator_loss.backward()
        self.G_optim.step()
        self.genA2B.apply(rho_clipper)
        self.genB2A.apply(rho_clipper)
        self.log = f"d_loss: {Discriminator_loss.item():.8f}, g_loss: {Generator_loss.item():.8f}"  # its print
        return real_A.size(0)


def cmd_reference(args) -> None:
    device = pick_device(args.device)
    torch.manual_seed(0)
    step = Reference(args.data, device, args.size, args.ch, args.n_res, not args.full)
    for _ in range(args.warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync(device)
    dt = time.perf_counter() - t0
    print(f"last log: {step.log}")
    print(f"reference (UGATIT-pytorch) train: {args.steps / dt:.2f} it/s (batch 1, {args.size} px, ch {args.ch}, "
          f"n_res {args.n_res}, {'full' if args.full else 'light'}, float32) on {hardware(device)}, "
          f"torch {torch.__version__}")


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
    r = sub.add_parser("reference")
    r.add_argument("--data", type=Path, default=data_lib.data_root() / "selfie2anime" / "128",
                   help="a folder with trainA/ and trainB/")
    r.add_argument("--size", type=int, default=128)
    r.add_argument("--ch", type=int, default=64)
    r.add_argument("--n-res", type=int, default=4)
    r.add_argument("--full", action="store_true", help="the full variant (default light)")
    r.add_argument("--steps", type=int, default=20)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--device", default="auto")
    args = p.parse_args()
    {"convert": cmd_convert, "train": cmd_train, "reference": cmd_reference}[args.cmd](args)


if __name__ == "__main__":
    main()
