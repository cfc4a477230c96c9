"""StarGAN speed: one edit (the grid of every hair colour), and training images/s.

    python benchmarks/stargan_speed.py grid [--checkpoint DIR|repo@rev] [--group hair] [--repeats 30]
    python benchmarks/stargan_speed.py train [--size 64] [--g-conv-dim 64] [--d-conv-dim 64] [--g-repeat 6]
                                             [--batch-size 16] [--steps 50] [--device auto] [--compile]
    python benchmarks/stargan_speed.py reference [--data DIR] [--size 64] [--conv-dim 64] [--batch-size 16]
                                                 [--steps 50] [--warmup 5] [--workers 1] [--device auto]

``grid`` times ``Editor.grid`` on a 64 px face picture with cropping off: D reads the input's
labels, G translates it to every value of the group (12 hair colours), and the labelled grid
picture is drawn; median and p90 in ms. Without --checkpoint it uses the bundled default, or
a randomly initialised model of the default size when none is bundled (the speed is the same).
``train`` times facegan's Trainer (the official step: D with WGAN-GP every step, G every
n_critic-th) on random labelled data kept on the device, and prints steps/s and images/s with
the batch size and hardware. The official code reaches 498 images/s (31 it/s) on an H100 at
64 px, batch 16. ``reference`` times yunjey/stargan's training loop (``Reference`` below) on the
anime faces of ``--data`` at the same size and batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import sync, timed_training

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


# ----------------------------------------------------------------------------- reference
# yunjey/stargan's Solver.train(), one iteration per call, re-implemented here so that it runs on the
# same data and machine as ``train``:
#   * its model.py G and D, as tests/test_convert_stargan.py writes them out with the official names
#     (one copy for the converter's test and this benchmark), at facegan's size: at 64 px D has 5
#     stride-2 convs (facegan's d_repeat_num; the official 6 would leave a 1x1 map), default init;
#   * its CelebA mode: each image's labels a vector of binary attributes (here the 12 hair + 10 eye
#     colours of tags.csv, two of them on), BCE-with-logits summed over them / batch; the targets
#     the batch's labels shuffled (torch.randperm);
#   * its data: PIL open + RandomHorizontalFlip, Resize, ToTensor, Normalize(0.5, 0.5) per item, a
#     DataLoader with shuffle and its --num_workers 1, a new iterator at each epoch's end;
#   * per iteration: D on real (-mean) and its classification loss, on G(x, c_trg).detach() (mean),
#     the gradient penalty at a random interpolate (autograd.grad with create_graph), D's Adam step
#     and its four .item() log values; every n_critic-th (5) iteration G's adversarial,
#     classification and reconstruction (L1 x10) losses, G's Adam step, three .item()s. Adam lr
#     1e-4, betas (0.5, 0.999), float32 (the code has no autocast), cudnn.benchmark on (its main.py).
# Left out, as on the facegan side: its sample images, checkpoints, TensorBoard log and lr decay.


def official_nets():
    """yunjey/stargan's Generator and Discriminator (tests/test_convert_stargan.py's copy of model.py)."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    import test_convert_stargan as official

    return official.Generator, official.Discriminator


class TagFolder(torch.utils.data.Dataset):
    """A tags.csv folder read as yunjey's CelebA data set reads its images: PIL and the transform per
    item, the label a float vector of binary attributes (the hair colours, then the eye colours)."""

    def __init__(self, root: Path, transform):
        from torchvision.datasets.folder import default_loader

        from facegan.labels import ANIME_EYES, ANIME_HAIR

        self.attrs = [f"{c} hair" for c in ANIME_HAIR] + [f"{c} eyes" for c in ANIME_EYES]
        self.items = []
        for name, text in data_lib.read_label_csv(root / "tags.csv").items():
            m, path = data_lib.TAG_PATTERN.match(text), data_lib.find_labelled_file(root, name)
            if m and path:
                on = {f"{m.group(1)} hair", f"{m.group(2)} eyes"}
                self.items.append((str(path), torch.tensor([float(a in on) for a in self.attrs])))
        self.transform, self.loader = transform, default_loader

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        return self.transform(self.loader(path)), label


class Reference:
    """One iteration of yunjey/stargan's training loop per call (see above); returns the images."""

    def __init__(self, root: Path, device: torch.device, batch_size: int = 16, image_size: int = 64,
                 conv_dim: int = 64, repeat_num: int = 6, d_repeat_num: int = 5, workers: int = 1):
        import torchvision.transforms as T

        Generator, Discriminator = official_nets()
        torch.backends.cudnn.benchmark = True
        data = TagFolder(Path(root), T.Compose([T.RandomHorizontalFlip(), T.Resize(image_size), T.ToTensor(),
                                                T.Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))]))
        self.loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers)
        c_dim = len(data.attrs)
        self.G = Generator(conv_dim, c_dim, repeat_num).to(device)
        self.D = Discriminator(image_size, conv_dim, c_dim, d_repeat_num).to(device)
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), 1e-4, [0.5, 0.999])
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), 1e-4, [0.5, 0.999])
        self.device, self.n_critic, self.i, self.loss = device, 5, 0, {}
        self.data_iter = iter(self.loader)

    def gradient_penalty(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        weight = torch.ones(y.size()).to(self.device)
        dydx = torch.autograd.grad(outputs=y, inputs=x, grad_outputs=weight, retain_graph=True, create_graph=True,
                                   only_inputs=True)[0]
        dydx = dydx.view(dydx.size(0), -1)
        dydx_l2norm = torch.sqrt(torch.sum(dydx ** 2, dim=1))
        return torch.mean((dydx_l2norm - 1) ** 2)

    @staticmethod
    def classification_loss(logit: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / logit.size(0)

    def reset_grad(self) -> None:
        self.g_optimizer.zero_grad()
        self.d_optimizer.zero_grad()

    def __call__(self) -> int:
        try:
            x_real, label_org = next(self.data_iter)
        except StopIteration:
            self.data_iter = iter(self.loader)
            x_real, label_org = next(self.data_iter)
        label_trg = label_org[torch.randperm(label_org.size(0))]
        c_org, c_trg = label_org.clone(), label_trg.clone()
        x_real, c_org, c_trg = x_real.to(self.device), c_org.to(self.device), c_trg.to(self.device)
        label_org, label_trg = label_org.to(self.device), label_trg.to(self.device)
        G, D, loss = self.G, self.D, self.loss

        out_src, out_cls = D(x_real)
        d_loss_real = -torch.mean(out_src)
        d_loss_cls = self.classification_loss(out_cls, label_org)
        x_fake = G(x_real, c_trg)
        out_src, out_cls = D(x_fake.detach())
        d_loss_fake = torch.mean(out_src)
        alpha = torch.rand(x_real.size(0), 1, 1, 1).to(self.device)
        x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
        out_src, _ = D(x_hat)
        d_loss_gp = self.gradient_penalty(out_src, x_hat)
        d_loss = d_loss_real + d_loss_fake + d_loss_cls + 10 * d_loss_gp
        self.reset_grad()
        d_loss.backward()
        self.d_optimizer.step()
        loss.update({"D/loss_real": d_loss_real.item(), "D/loss_fake": d_loss_fake.item(),
                     "D/loss_cls": d_loss_cls.item(), "D/loss_gp": d_loss_gp.item()})

        if (self.i + 1) % self.n_critic == 0:
            x_fake = G(x_real, c_trg)
            out_src, out_cls = D(x_fake)
            g_loss_fake = -torch.mean(out_src)
            g_loss_cls = self.classification_loss(out_cls, label_trg)
            x_reconst = G(x_fake, c_org)
            g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))
            g_loss = g_loss_fake + 10 * g_loss_rec + g_loss_cls
            self.reset_grad()
            g_loss.backward()
            self.g_optimizer.step()
            loss.update({"G/loss_fake": g_loss_fake.item(), "G/loss_rec": g_loss_rec.item(),
                         "G/loss_cls": g_loss_cls.item()})
        self.i += 1
        return x_real.size(0)


def cmd_reference(args) -> None:
    device = pick_device(args.device)
    torch.manual_seed(0)
    step = Reference(args.data, device, args.batch_size, args.size, args.conv_dim, workers=args.workers)
    for _ in range(args.warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    images = sum(step() for _ in range(args.steps))
    sync(device)
    dt = time.perf_counter() - t0
    print(f"last losses: {', '.join(f'{k} {v:.3f}' for k, v in step.loss.items())}")
    print(f"reference (yunjey/stargan) train: {args.steps / dt:.2f} steps/s, {images / dt:.0f} images/s (batch "
          f"{args.batch_size}, {args.size} px, conv dim {args.conv_dim}, float32, {args.workers} workers) on "
          f"{hardware(device)}, torch {torch.__version__}")


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
    r = sub.add_parser("reference")
    r.add_argument("--data", type=Path, default=data_lib.data_root() / "anime-faces-64", help="a tags.csv folder")
    r.add_argument("--size", type=int, default=64)
    r.add_argument("--conv-dim", type=int, default=64)
    r.add_argument("--batch-size", type=int, default=16)
    r.add_argument("--steps", type=int, default=50)
    r.add_argument("--warmup", type=int, default=5)
    r.add_argument("--workers", type=int, default=1, help="DataLoader workers (default 1, its --num_workers)")
    r.add_argument("--device", default="auto")
    args = p.parse_args()
    {"grid": cmd_grid, "train": cmd_train, "reference": cmd_reference}[args.cmd](args)


if __name__ == "__main__":
    main()
