"""U-GAT-IT (Kim et al. 2020): unpaired image-to-image translation with CAM attention and
AdaLIN, as the official PyTorch code (znxlwm/UGATIT-pytorch) builds and trains it (seed 001).

Same names as every technique module: ``Config``, ``Generator``, ``Discriminator``, ``Model``
(what a checkpoint holds) and ``TrainStep`` (one optimisation step). The layers keep the
official attribute names (``DownBlock``, ``gap_fc``, ``UpBlock1_1``, ``UpBlock2``, ...) so an
official checkpoint converts by renaming its top-level keys only (``facegan.convert.ugatit``).

Domains: A -> B is ``generator.a2b`` (selfie -> anime for selfie2anime), B -> A ``generator.b2a``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from facegan import data as data_lib
from facegan import distributed
from facegan.faces import KINDS
from facegan.images import heatmap_rgb
from facegan.losses import cam_bce, lsgan_d, lsgan_g
from facegan.models import Technique
from facegan.models.blocks import diff_augment
from facegan.models.config_checks import BETA, LR, MAX_NAME, MAX_SIZE, MAX_WIDTH, WEIGHT, check_fields, refuse
from facegan.models.projected import ProjectedDiscriminator, hinge_d, hinge_g

DIRECTIONS = ("a2b", "b2a")
PROJECTED = ("none", "b", "both")  # Config.projected: the domains whose D is a projected one
MIN_SIZE = 32  # the generator alone runs from 8 px; below 32 there is no face left to translate
# The global D: five stride-2 convs (S/32), then two 4x4 convs on a reflect-padded map (-1 each).
MIN_SIZE_WITH_D = 96


@dataclass
class Config:
    image_size: int = 128
    ch: int = 64  # base width (the paper's ch)
    n_res: int = 4  # residual blocks in the encoder and AdaLIN blocks in the decoder
    light: bool = True  # light: gamma/beta MLP on pooled features; full: on the flattened map
    discriminators: bool = True  # False: a generator-only checkpoint (for shipping; cannot train)
    # what the two domains are, for labels and for picking the face detector of an input
    domain_a: str = "selfie"
    domain_b: str = "anime"
    faces_a: str = "photo"  # facegan.faces kind: "photo" or "anime"
    faces_b: str = "anime"
    # training (the paper's, kept with the model so a checkpoint says how it was made)
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 1e-4
    adv_weight: float = 1.0
    cycle_weight: float = 10.0
    identity_weight: float = 10.0
    cam_weight: float = 1000.0
    decay: bool = True  # linear lr decay to 0 over the second half of training
    load_margin: int = 0  # decode training images this much larger, then random-crop (0: size * 30 / 256)
    # which domains' D is Projected GAN's (facegan.models.projected: a frozen EfficientNet-lite0's
    # features, random projections, four small heads; hinge loss and DiffAugment) instead of the
    # global + local CAM D: "none" (the paper's), "b" (the anime side: the ImageNet features suit
    # illustrations as well as photos, and B is the side whose faces users look at), "both".
    # G, its CAM attention and AdaLIN are the paper's in every case.
    projected: str = "none"

    def __post_init__(self):
        check_fields(self,
                     ints={"image_size": (MIN_SIZE, MAX_SIZE), "ch": (1, MAX_WIDTH), "n_res": (0, 12),
                           "load_margin": (0, MAX_SIZE)},
                     floats={"lr": LR, "beta1": BETA, "beta2": BETA, "weight_decay": (0.0, 1.0, "[)"),
                             "adv_weight": WEIGHT, "cycle_weight": WEIGHT, "identity_weight": WEIGHT,
                             "cam_weight": WEIGHT},
                     choices={"faces_a": KINDS, "faces_b": KINDS, "projected": PROJECTED},
                     texts={"domain_a": MAX_NAME, "domain_b": MAX_NAME})
        if self.image_size % 4:  # two stride-2 convs down, two 2x up-samplings back
            raise refuse("image_size", f"a multiple of 4 between {MIN_SIZE} and {MAX_SIZE}", self.image_size)
        if self.discriminators and self.image_size < MIN_SIZE_WITH_D:
            raise refuse("image_size", f"at least {MIN_SIZE_WITH_D} when discriminators is true (the global "
                         f"discriminator needs images of at least {MIN_SIZE_WITH_D} px)", self.image_size)
        if self.load_margin > self.image_size:
            raise refuse("load_margin", f"between 0 and image_size ({self.image_size})", self.load_margin)

    @property
    def load_size(self) -> int:
        return self.image_size + (self.load_margin or round(self.image_size * 30 / 256))


# ----------------------------------------------------------------------------- normalisation


def instance_layer_stats(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """x normalised per instance-channel (IN) and per instance (LN); unbiased variance, as the official code."""
    x_in = (x - x.mean(dim=(2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(2, 3), keepdim=True) + eps)
    x_ln = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(1, 2, 3), keepdim=True) + eps)
    return x_in, x_ln


class AdaLIN(nn.Module):
    """Adaptive Layer-Instance Norm (paper eq. 3): rho * IN + (1 - rho) * LN, scaled by the
    gamma / beta that the generator's MLP computes from the attention features."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        x_in, x_ln = instance_layer_stats(x, self.eps)
        out = self.rho * x_in + (1 - self.rho) * x_ln
        return out * gamma[:, :, None, None] + beta[:, :, None, None]


class LIN(nn.Module):
    """Layer-Instance Norm with learned rho, gamma, beta (the official ``ILN``), in the up-sampling."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in, x_ln = instance_layer_stats(x, self.eps)
        return (self.rho * x_in + (1 - self.rho) * x_ln) * self.gamma + self.beta


@torch.no_grad()
def clip_rho(module: nn.Module) -> None:
    """Keep every AdaLIN / LIN rho in [0, 1] (applied after each generator step)."""
    for m in module.modules():
        if isinstance(m, (AdaLIN, LIN)):
            m.rho.clamp_(0, 1)


# ----------------------------------------------------------------------------- blocks


def _conv(cin: int, cout: int, k: int, stride: int = 1, bias: bool = False) -> list[nn.Module]:
    return [nn.ReflectionPad2d(k // 2 if stride == 1 else 1), nn.Conv2d(cin, cout, k, stride, 0, bias=bias)]


class ResnetBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            *_conv(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            *_conv(dim, dim, 3), nn.InstanceNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetAdaLINBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.pad1, self.conv1, self.norm1 = nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), AdaLIN(dim)
        self.pad2, self.conv2, self.norm2 = nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), AdaLIN(dim)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(self.pad1(x)), gamma, beta))
        return x + self.norm2(self.conv2(self.pad2(out)), gamma, beta)


def cam(x: torch.Tensor, gap_weight: torch.Tensor, gmp_weight: torch.Tensor, gap_fc: nn.Module,
        gmp_fc: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Class activation map attention (paper Sec. 2.1.1): the auxiliary classifier's logits from
    global average and max pooling (N, 2), and the feature map weighted channel-wise by each
    classifier's weights, concatenated (N, 2C, H, W)."""
    gap_logit = gap_fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
    gmp_logit = gmp_fc(F.adaptive_max_pool2d(x, 1).flatten(1))
    weighted = torch.cat([x * gap_weight[:, :, None, None], x * gmp_weight[:, :, None, None]], 1)
    return torch.cat([gap_logit, gmp_logit], 1), weighted


class Generator(nn.Module):
    """(N, 3, S, S) in [-1, 1] -> (image (N, 3, S, S) in [-1, 1], CAM logits (N, 2), heatmap (N, 1, S/4, S/4))."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, not {cfg.image_size}")
        ch, self.n_res, self.light = cfg.ch, cfg.n_res, cfg.light
        c = ch * 4  # bottleneck width after two stride-2 convs
        down = [nn.ReflectionPad2d(3), nn.Conv2d(3, ch, 7, bias=False), nn.InstanceNorm2d(ch), nn.ReLU(True)]
        for m in (1, 2):
            down += [*_conv(ch * m, ch * m * 2, 3, stride=2), nn.InstanceNorm2d(ch * m * 2), nn.ReLU(True)]
        down += [ResnetBlock(c) for _ in range(cfg.n_res)]
        self.DownBlock = nn.Sequential(*down)

        self.gap_fc = nn.Linear(c, 1, bias=False)
        self.gmp_fc = nn.Linear(c, 1, bias=False)
        self.conv1x1 = nn.Conv2d(2 * c, c, 1, bias=True)
        mlp_in = c if cfg.light else (cfg.image_size // 4) ** 2 * c
        self.FC = nn.Sequential(nn.Linear(mlp_in, c, bias=False), nn.ReLU(True), nn.Linear(c, c, bias=False), nn.ReLU(True))
        self.gamma = nn.Linear(c, c, bias=False)
        self.beta = nn.Linear(c, c, bias=False)
        for i in range(cfg.n_res):
            setattr(self, f"UpBlock1_{i + 1}", ResnetAdaLINBlock(c))
        up: list[nn.Module] = []
        for m in (4, 2):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv(ch * m, ch * m // 2, 3), LIN(ch * m // 2), nn.ReLU(True)]
        up += [nn.ReflectionPad2d(3), nn.Conv2d(ch, 3, 7, bias=False), nn.Tanh()]
        self.UpBlock2 = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.DownBlock(x)
        cam_logit, x = cam(x, self.gap_fc.weight, self.gmp_fc.weight, self.gap_fc, self.gmp_fc)
        x = F.relu(self.conv1x1(x))
        heatmap = x.sum(1, keepdim=True)
        h = F.adaptive_avg_pool2d(x, 1).flatten(1) if self.light else x.flatten(1)
        h = self.FC(h)
        gamma, beta = self.gamma(h), self.beta(h)
        for i in range(self.n_res):
            x = getattr(self, f"UpBlock1_{i + 1}")(x, gamma, beta)
        return self.UpBlock2(x), cam_logit, heatmap


class Discriminator(nn.Module):
    """PatchGAN with CAM and spectral norm: (N, 3, S, S) -> (patch logits (N, 1, h, w),
    CAM logits (N, 2), heatmap (N, 1, h', w')). ``n_layers`` 7 is the global D, 5 the local one."""

    def __init__(self, ndf: int, n_layers: int):
        super().__init__()
        sn = nn.utils.spectral_norm  # the official parametrisation: weight_orig / weight_u / weight_v
        layers = [nn.ReflectionPad2d(1), sn(nn.Conv2d(3, ndf, 4, 2, 0, bias=True)), nn.LeakyReLU(0.2, True)]
        for i in range(1, n_layers - 2):
            m = 2 ** (i - 1)
            layers += [nn.ReflectionPad2d(1), sn(nn.Conv2d(ndf * m, ndf * m * 2, 4, 2, 0, bias=True)), nn.LeakyReLU(0.2, True)]
        m = 2 ** (n_layers - 3)
        layers += [nn.ReflectionPad2d(1), sn(nn.Conv2d(ndf * m, ndf * m * 2, 4, 1, 0, bias=True)), nn.LeakyReLU(0.2, True)]
        self.model = nn.Sequential(*layers)
        c = ndf * 2 ** (n_layers - 2)
        self.gap_fc = sn(nn.Linear(c, 1, bias=False))
        self.gmp_fc = sn(nn.Linear(c, 1, bias=False))
        self.conv1x1 = nn.Conv2d(2 * c, c, 1, bias=True)
        self.pad = nn.ReflectionPad2d(1)
        self.conv = sn(nn.Conv2d(c, 1, 4, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.model(x)
        # The official code weights the features by the classifiers' raw ``weight_orig`` (the
        # first entry of .parameters()), not the spectrally normalised weight: kept for parity.
        cam_logit, x = cam(x, self.gap_fc.weight_orig, self.gmp_fc.weight_orig, self.gap_fc, self.gmp_fc)
        x = F.leaky_relu(self.conv1x1(x), 0.2)
        heatmap = x.sum(1, keepdim=True)
        return self.conv(self.pad(x)), cam_logit, heatmap


def projected_domains(cfg: Config) -> str:
    """The domains ("a", "b") whose D is a projected one (``Config.projected``)."""
    return {"none": "", "b": "b", "both": "ab"}[cfg.projected]


# ----------------------------------------------------------------------------- the model


class Model(nn.Module):
    """What a U-GAT-IT checkpoint holds: G A->B and B->A, and (to train on) the four D."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.config = cfg
        self.generator = nn.ModuleDict({d: Generator(cfg) for d in DIRECTIONS})
        if cfg.discriminators:
            if cfg.image_size < 96:  # five stride-2 convs, then two 4x4 convs on a reflect-padded map
                raise ValueError(f"the global discriminator needs images of at least 96 px, not {cfg.image_size}")
            # global (7 layers) and local (5 layers) D for each domain, as the official code (in its
            # order: ga, gb, la, lb), or one projected D ("pa", "pb") for a domain of ``projected``
            proj = projected_domains(cfg)
            ds = {f"{kind}{x}": Discriminator(cfg.ch, 7 if kind == "g" else 5) for kind in "gl" for x in "ab"
                  if x not in proj}
            ds.update({f"p{x}": ProjectedDiscriminator(cfg.image_size) for x in proj})
            self.discriminator = nn.ModuleDict(ds)

    def without_discriminators(self) -> Model:
        """A generator-only copy (what the converter app needs; a third of the size at ch 64)."""
        slim = Model(dataclasses.replace(self.config, discriminators=False))
        slim.generator.load_state_dict(self.generator.state_dict())
        return slim.to(next(self.parameters()).device).eval()

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "a2b") -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3, S, S) in [-1, 1] -> (translated (N, 3, S, S) in [-1, 1], attention (N, 1, S, S) in [0, 1]).

        The attention is the generator's CAM heatmap, each map scaled to [0, 1] and resized to
        the image (as the official code draws it)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction is one of {', '.join(DIRECTIONS)}, not {direction!r}")
        out, _, heatmap = self.generator[direction](x)
        return out, normalise_heatmap(heatmap, x.shape[-1])

    def preview_inputs(self, data: data_lib.TwoDomainSet, n: int, generator: torch.Generator):
        """A few fixed images of each domain (held-out ones when the set has them) for the sample grids."""
        k = min(n, 8)
        picks = []
        for train, test in ((data.a, data.test_a), (data.b, data.test_b)):
            src = test if test is not None else train
            idx = torch.randperm(len(src), generator=generator)[:k]
            x = src.images[idx].float().div(127.5).sub(1)
            picks.append(_centre_crop(x, self.config.image_size))
        return tuple(picks)

    @torch.no_grad()
    def preview(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """One row per input pair: A, attention A->B, A->B, A->B->A, B, attention B->A, B->A, B->A->B."""
        a, b = inputs
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
        ab, heat_ab = self.translate(a, "a2b")
        ba, heat_ba = self.translate(b, "b2a")
        aba, _ = self.translate(ab, "b2a")
        bab, _ = self.translate(ba, "a2b")
        cols = [a, heatmap_rgb(heat_ab) * 2 - 1, ab, aba, b, heatmap_rgb(heat_ba) * 2 - 1, ba, bab]
        return torch.stack(cols, 1).flatten(0, 1), len(cols)


def normalise_heatmap(heatmap: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, h, w) raw CAM -> (N, 1, size, size) in [0, 1]: bilinear resize, then min-max per map."""
    h = F.interpolate(heatmap.float(), size=(size, size), mode="bilinear", align_corners=False)
    lo = h.amin(dim=(2, 3), keepdim=True)
    hi = h.amax(dim=(2, 3), keepdim=True)
    return ((h - lo) / (hi - lo).clamp_min(1e-8)).clamp(0, 1)


def _centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


# ----------------------------------------------------------------------------- data and training


def load_data(path, cfg: Config, limit: int | None = None) -> data_lib.TwoDomainSet:
    """``path/trainA``, ``path/trainB`` (+ ``testA``, ``testB``), training images decoded at ``cfg.load_size``."""
    return data_lib.load_two_domain(path, cfg.image_size, cfg.load_size, limit)


def batches(data: data_lib.TwoDomainSet, train_cfg, cfg: Config, device) -> data_lib.PairBatches:
    return data_lib.PairBatches(data, train_cfg.batch_size, train_cfg.seed, device, train_cfg.flip, cfg.image_size)


class TrainStep:
    """One D step (all four D) then one G step (both G), the official order and loss weights:
    LSGAN on the patch and CAM outputs of every D, cycle L1, identity L1 and the generators'
    CAM BCE; rho clipped to [0, 1] after G's step."""

    def __init__(self, model: Model, cfg: Config):
        if not cfg.discriminators:
            raise ValueError("this checkpoint is generator-only (discriminators=false): it cannot be trained")
        self.model, self.cfg = model, cfg
        kw = {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "weight_decay": cfg.weight_decay}
        self.opt_g = torch.optim.Adam(model.generator.parameters(), **kw)
        self.opt_d = torch.optim.Adam(model.discriminator.parameters(), **kw)
        # each of the two G and four D its own DDP: the step calls them one by one
        self.G = {k: distributed.wrap(m) for k, m in model.generator.items()}
        self.D = {k: distributed.wrap(m) for k, m in model.discriminator.items()}
        self.projected = projected_domains(cfg)

    def schedule(self, step: int, total: int) -> None:
        """The official linear decay: constant lr for the first half, then linearly to 0."""
        half = total // 2
        lr = self.cfg.lr
        if self.cfg.decay and step >= half > 0:
            lr = self.cfg.lr * max(0.0, 1 - (step - half) / max(1, total - half))
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr

    def loss_d(self, x: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Domain ``x``'s D loss: LSGAN on the patch and CAM logits of its global and local D (the
        paper's), or the hinge loss of its projected D over DiffAugment-ed pictures."""
        D = self.D
        if x in self.projected:
            p = D[f"p{x}"]
            return hinge_d(p(diff_augment(real)).float(), p(diff_augment(fake)).float())
        return sum(sum(lsgan_d(r, f) for r, f in zip(D[d](real)[:2], D[d](fake)[:2])) for d in (f"g{x}", f"l{x}"))

    def adv_g(self, x: str, fake: torch.Tensor) -> torch.Tensor:
        """G's adversarial loss against domain ``x``'s D (the same two forms)."""
        if x in self.projected:
            return hinge_g(self.D[f"p{x}"](diff_augment(fake)).float())
        return sum(lsgan_g(logit) for d in (f"g{x}", f"l{x}") for logit in self.D[d](fake)[:2])

    def __call__(self, batch: tuple[torch.Tensor, torch.Tensor], autocast) -> dict[str, torch.Tensor]:
        """``batch`` = (real A, real B), each (B, 3, S, S) in [-1, 1]."""
        real_a, real_b = batch
        G, cfg = self.G, self.cfg

        # The translations D judges are the ones G's step trains: G does not change in between, so one
        # forward pass serves both (the official code translates again for G's step).
        with autocast():
            fake_b, cam_ab, _ = G["a2b"](real_a)
            fake_a, cam_ba, _ = G["b2a"](real_b)
            loss_d = cfg.adv_weight * (self.loss_d("a", real_a, fake_a.detach())
                                       + self.loss_d("b", real_b, fake_b.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        self.model.discriminator.requires_grad_(False)
        with autocast():
            rec_a, rec_b = G["b2a"](fake_b)[0], G["a2b"](fake_a)[0]
            idt_a, cam_aa, _ = G["b2a"](real_a)
            idt_b, cam_bb, _ = G["a2b"](real_b)
            adv = self.adv_g("a", fake_a) + self.adv_g("b", fake_b)
            cycle = F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)
            identity = F.l1_loss(idt_a, real_a) + F.l1_loss(idt_b, real_b)
            # G's own CAM tells its source domain from its target: B->A must see "B" in real B, not in real A.
            cam_loss = cam_bce(cam_ba, cam_aa) + cam_bce(cam_ab, cam_bb)
            loss_g = (cfg.adv_weight * adv + cfg.cycle_weight * cycle + cfg.identity_weight * identity
                      + cfg.cam_weight * cam_loss)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        clip_rho(self.model.generator)
        self.model.discriminator.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g_adv": adv.detach(), "loss_cycle": cycle.detach(),
                "loss_identity": identity.detach(), "loss_cam": cam_loss.detach()}

    def state_dict(self) -> dict:
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


TECHNIQUE = Technique("ugatit", Config, Model, TrainStep,
                      default_data="selfie2anime/128",  # A = selfies, B = anime faces
                      batch_size=1,  # the paper's
                      check_data=data_lib.check_two_domain, load_data=load_data, batches=batches)
