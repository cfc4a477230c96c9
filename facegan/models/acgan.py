"""AC-GAN (Odena et al. 2017) at 64x64: faces of a chosen class, the technique of seed article 004.

Same names as every technique module: ``Config``, ``Generator``, ``Discriminator``, ``Model``
(what a checkpoint holds) and ``TrainStep`` (one optimisation step).

G(z, class) draws a face of one class; D has two heads, real / fake and the auxiliary
classifier over the classes, and both networks add the class cross-entropy (of real and of
generated images for D, of generated ones for G) to the non-saturating GAN loss (paper Sec. 3).

The article's two backbones are ``Config.backbone``: "dcgan" (the paper's: the class one-hot
joined to z, transposed convs with batch norm; D of strided convs) and "resnet" (residual up
blocks with class-conditional batch norm in G, residual down blocks with spectral norm in D).
Its failure, each class collapsing to nearly one face when there are many classes with few
images each, has a remedy from the later literature in ``Config.head``: the projection
discriminator of Miyato & Koyama 2018 ("projection": D's score += <embed(y), phi(x)>, no
classifier loss; "both": projection and the auxiliary classifier), and ``Config.diffaugment``
(Zhao et al. 2020: D sees only augmented images, real and fake).

A third backbone, "paper", is Odena et al.'s own pair of nets as gitlimlab/ACGAN-PyTorch builds
them (``network.py``): the ImageNet one at 128x128 and the CIFAR-10 one at 32x32 (the only sizes
it takes), with gitlimlab's module names (``fc1``, ``tconv2`` .., ``conv1`` .., ``fc_dis``,
``fc_aux``) so that its checkpoints convert by a prefix (``facegan.convert.acgan``). Its G reads
the vector [one_hot(y), z] (gitlimlab's 110 entries: the one-hot written over the first
num_classes of its noise), so ``nz`` is the free part (110 - num_classes there); its widths are
the paper's, fixed (``ngf`` / ``ndf`` are not used), and its D has the auxiliary classifier head
only and returns logits (gitlimlab applies sigmoid / softmax).

Classes: one categorical group of the data, ``Config.group`` ("hair", "eyes" or "hair+eyes"
of the anime set's tags.csv; a class-folder set's group, FER2013's "expression"), the
``top_k`` most frequent of them (0: all), named in ``Config.classes`` so a checkpoint knows
its classes. ``data_config`` reads them from the data. The latent prior is uniform in [-1, 1]
as DCGAN's, so a face is its class and its z as 2 * nz hex digits (``facegan.latent``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from facegan import data as data_lib
from facegan import distributed, latent
from facegan.labels import ANIME_EYES, ANIME_HAIR, DatasetLabels, Group, LabelError, LabelSpec
from facegan.latent import PRIORS
from facegan.models import Technique
from facegan.models.blocks import diff_augment  # noqa: F401 (acgan.diff_augment, as before)
from facegan.models.blocks import down as _down
from facegan.models.blocks import up as _up
from facegan.models.config_checks import BETA, LR, MAX_NAME, MAX_SIZE, MAX_WIDTH, WEIGHT, check_fields, refuse
from facegan.models.projected import hinge_d, hinge_g

BACKBONES = ("dcgan", "resnet")  # the article's two, at 64x64
PAPER = "paper"  # the paper's own ImageNet / CIFAR-10 nets (gitlimlab/ACGAN-PyTorch's), at 128 or 32 px
PAPER_SIZES = (32, 128)
HEADS = ("ac", "projection", "both")
TAG_GROUPS = ("hair", "eyes", "hair+eyes")  # the groups of a tags.csv set ("<hair> hair <eyes> eyes")
MAX_CLASSES = 1000
PREVIEW_ROWS = 12  # classes in a run's sample grids (spread over the classes when there are more)
KNOWN = {"hair": ANIME_HAIR, "eyes": ANIME_EYES}  # the shared anime set's classes, for a Config built without data


@dataclass
class Config:
    nz: int = 32  # latent size; a face's code is 2 * nz hex digits (64) beside its class name
    ngf: int = 64  # generator width
    ndf: int = 64  # discriminator width
    image_size: int = 64
    backbone: str = "dcgan"  # "dcgan" (the paper's) or "resnet" (the article's second); "paper": 32 / 128 px only
    head: str = "ac"  # "ac" (auxiliary classifier), "projection" (Miyato & Koyama 2018) or "both"
    group: str = "hair"  # the label group whose values are the classes
    top_k: int = 0  # 0: every class of the group; k: its k most frequent (images of the others dropped)
    classes: list[str] = field(default_factory=list)  # the class names in label order; [] = the anime set's hair / eyes
    # training (the paper's optimiser, kept with the model so a checkpoint says how it was made)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    cls_weight: float = 1.0  # weight of the class cross-entropy terms
    # D's class loss on the generated faces too (the paper's). False: on real faces only, so D's
    # classifier cannot learn G's own class convention for fakes (seen in a first CPU run: "red"
    # rows came out dark blue, and D read them as red)
    d_cls_fake: bool = True
    diffaugment: bool = False  # DiffAugment (Zhao et al. 2020): colour, translation, cutout on every image D sees
    prior: str = "uniform"  # latent prior: "uniform" in [-1, 1], or "normal" N(0, 1)
    # "backbone": D of ``backbone``; "projected": Projected GAN's (facegan.models.projected) with the
    # head's conditioning (projection in every scale's D, the auxiliary classifier on its features),
    # hinge loss and DiffAugment; ndf its width
    disc: str = "backbone"
    disc_resize: int = 0  # projected: the side images are enlarged to before F (0: as they are)

    def __post_init__(self):
        check_fields(self,
                     ints={"nz": (1, MAX_WIDTH), "ngf": (1, MAX_WIDTH), "ndf": (1, MAX_WIDTH),
                           "image_size": (1, MAX_SIZE), "top_k": (0, MAX_CLASSES), "disc_resize": (0, 512)},
                     floats={"lr": LR, "beta1": BETA, "beta2": BETA, "cls_weight": WEIGHT},
                     choices={"prior": PRIORS, "backbone": BACKBONES + (PAPER,), "head": HEADS,
                              "disc": ("backbone", "projected")},
                     texts={"group": MAX_NAME})
        if self.backbone == PAPER:
            if self.image_size not in PAPER_SIZES:
                raise refuse("image_size", "32 or 128 for the paper backbone (its CIFAR-10 and ImageNet nets)",
                             self.image_size)
            if self.head != "ac":
                raise refuse("head", '"ac" for the paper backbone (the paper\'s auxiliary classifier)', self.head)
        elif self.image_size != 64:
            raise refuse("image_size", "64 (AC-GAN is built here for 64x64 images)", self.image_size)
        if isinstance(self.classes, (str, bytes)) or not isinstance(self.classes, Sequence):
            raise refuse("classes", "a list of class names", self.classes)
        self.classes = list(self.classes)
        if not self.classes:
            if self.top_k or self.group not in KNOWN:
                raise refuse("classes", f"the class names of group {self.group!r} (a run reads them from its data)",
                             self.classes)
            self.classes = list(KNOWN[self.group])
        if not 2 <= len(self.classes) <= MAX_CLASSES:
            raise refuse("classes", f"a list of 2 to {MAX_CLASSES} class names", self.classes)
        if any(not isinstance(c, str) or not c.strip() or len(c) > 2 * MAX_NAME for c in self.classes):
            raise refuse("classes", f"non-empty names of at most {2 * MAX_NAME} characters", self.classes)
        if len(set(self.classes)) != len(self.classes):
            raise refuse("classes", "different names", self.classes)
        if self.top_k and len(self.classes) > self.top_k:
            raise refuse("classes", f"at most top_k = {self.top_k} names", self.classes)


# ----------------------------------------------------------------------------- layers


def _init_weights(m: nn.Module) -> None:
    # DCGAN paper, section 4: N(0, 0.02) for convs, N(1, 0.02) for BN scales (the dcgan backbone).
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d) and m.affine:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift are looked up per class (de Vries et al. 2017; the
    ResNet generators of Miyato et al.): (N, C, H, W), classes (N,) -> (N, C, H, W)."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.embed = nn.Embedding(n_classes, 2 * channels)
        nn.init.ones_(self.embed.weight[:, :channels].data)
        nn.init.zeros_(self.embed.weight[:, channels:].data)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.embed(y).to(x.dtype)[:, :, None, None].chunk(2, 1)
        return self.bn(x) * gamma + beta


class UpBlock(nn.Module):
    """Residual block doubling the side: CBN-ReLU-up-conv3-CBN-ReLU-conv3, plus up-conv1 of the input."""

    def __init__(self, cin: int, cout: int, n_classes: int):
        super().__init__()
        self.bn1 = ConditionalBatchNorm(cin, n_classes)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.bn2 = ConditionalBatchNorm(cout, n_classes)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    """Residual block halving the side, spectral norm on every conv: (ReLU)-conv3-ReLU-conv3-pool,
    plus conv1-pool of the input (pool-conv1 in the first block, which sees the image)."""

    def __init__(self, cin: int, cout: int, first: bool = False):
        super().__init__()
        self.first = first
        self.conv1 = spectral_norm(nn.Conv2d(cin, cout, 3, 1, 1))
        self.conv2 = spectral_norm(nn.Conv2d(cout, cout, 3, 1, 1))
        self.shortcut = spectral_norm(nn.Conv2d(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else F.relu(x))
        h = F.avg_pool2d(self.conv2(F.relu(h)), 2)
        s = self.shortcut(F.avg_pool2d(x, 2)) if self.first else F.avg_pool2d(self.shortcut(x), 2)
        return h + s


def _paper_init(m: nn.Module) -> None:
    # gitlimlab's utils.weights_init: N(0, 0.02) convs, N(1, 0.02) BN scales, zero BN shifts;
    # the Linear layers keep PyTorch's default initialisation (the paper backbone).
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------- networks


class Generator(nn.Module):
    """(z (N, nz) from the prior, classes (N,) int64) -> images (N, 3, 64, 64) in [-1, 1]
    (the paper backbone: (N, 3, S, S), S = 32 or 128)."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.image_size != 64 and not (cfg.backbone == PAPER and cfg.image_size in PAPER_SIZES):
            raise ValueError("AC-GAN is built for 64x64 images (the paper backbone: 32x32 or 128x128)")
        g, k = cfg.ngf, len(cfg.classes)
        self.nz, self.n_classes, self.backbone = cfg.nz, k, cfg.backbone
        if cfg.backbone == PAPER:
            self._paper(cfg.image_size)
        elif cfg.backbone == "dcgan":
            # The paper's: the one-hot class joined to z, then DCGAN's transposed convs 4 -> 64.
            self.net = nn.Sequential(
                nn.ConvTranspose2d(cfg.nz + k, g * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(g * 8), nn.ReLU(True),
                *_up(g * 8, g * 4), *_up(g * 4, g * 2), *_up(g * 2, g),  # 8, 16, 32
                nn.ConvTranspose2d(g, 3, 4, 2, 1), nn.Tanh(),  # 64
            )
            self.apply(_init_weights)
        else:
            # z -> 4x4, four residual up blocks to 64x64, the class entering through every CBN.
            self.linear = nn.Linear(cfg.nz, g * 8 * 16)
            self.blocks = nn.ModuleList([UpBlock(g * 8, g * 8, k), UpBlock(g * 8, g * 4, k),
                                         UpBlock(g * 4, g * 2, k), UpBlock(g * 2, g, k)])
            self.bn = nn.BatchNorm2d(g)
            self.out = nn.Conv2d(g, 3, 3, 1, 1)

    def _paper(self, size: int) -> None:
        """gitlimlab's _netG (128 px: 1 -> 5 -> 13 -> 29 -> 61 -> 128) or _netG_CIFAR10 (32 px:
        1 -> 4 -> 8 -> 16 -> 32), its layers under its names; fc1 reads num_classes + nz entries."""
        if size == 128:
            self.width, chans, kernel, pad = 768, (768, 384, 256, 192, 64), 5, (0, 0, 0, 0)
            strides, last = (2, 2, 2, 2), nn.ConvTranspose2d(64, 3, 8, 2, 0, bias=False)
        else:
            self.width, chans, kernel, pad = 384, (384, 192, 96, 48), 4, (0, 1, 1)
            strides, last = (1, 2, 2), nn.ConvTranspose2d(48, 3, 4, 2, 1, bias=False)
        self.fc1 = nn.Linear(self.n_classes + self.nz, self.width)
        self.stages = [f"tconv{i}" for i in range(2, len(chans) + 2)]
        for name, cin, cout, s, p in zip(self.stages, chans, chans[1:], strides, pad):
            setattr(self, name, nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, s, p, bias=False),
                                              nn.BatchNorm2d(cout), nn.ReLU(True)))
        setattr(self, self.stages[-1], nn.Sequential(last, nn.Tanh()))
        self.apply(_paper_init)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.backbone == PAPER:
            # gitlimlab's noise vector: the class one-hot in its first num_classes entries, then z
            h = self.fc1(torch.cat([F.one_hot(y, self.n_classes).to(z.dtype), z], 1))
            h = h.view(z.shape[0], self.width, 1, 1)
            for name in self.stages:
                h = getattr(self, name)(h)
            return h
        if self.backbone == "dcgan":
            h = torch.cat([z, F.one_hot(y, self.n_classes).to(z.dtype)], 1)
            return self.net(h[:, :, None, None])
        h = self.linear(z).view(z.shape[0], -1, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out(F.relu(self.bn(h))))


class Discriminator(nn.Module):
    """images (N, 3, 64, 64), classes (N,) or None -> (real/fake logits (N,), class logits (N, K)).

    phi(x) is the features before the heads (dcgan: the 4x4 map flattened; resnet: ReLU then
    sum over space). The real/fake logit is ``linear(phi)``, plus ``<embed(y), phi>`` with a
    projection head when ``y`` is given. The class logits are the auxiliary classifier's; a
    projection-only D reads classes by its projection, ``phi @ embed.T``.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        d, k = cfg.ndf, len(cfg.classes)
        self.backbone, self.head = cfg.backbone, cfg.head
        if cfg.backbone == PAPER:
            self._paper(cfg.image_size, k)
            return
        sn = spectral_norm if cfg.backbone == "resnet" else (lambda m: m)
        if cfg.backbone == "dcgan":
            self.features = nn.Sequential(*_down(3, d, norm=False), *_down(d, d * 2), *_down(d * 2, d * 4),
                                          *_down(d * 4, d * 8))  # 32, 16, 8, 4
            width = d * 8 * 16
        else:
            self.features = nn.Sequential(DownBlock(3, d, first=True), DownBlock(d, d * 2), DownBlock(d * 2, d * 4),
                                          DownBlock(d * 4, d * 8))  # 32, 16, 8, 4
            width = d * 8
        self.adv = sn(nn.Linear(width, 1))
        self.cls = sn(nn.Linear(width, k)) if cfg.head in ("ac", "both") else None
        self.embed = sn(nn.Embedding(k, width)) if cfg.head in ("projection", "both") else None
        if cfg.backbone == "dcgan":
            self.apply(_init_weights)

    def _paper(self, size: int, k: int) -> None:
        """gitlimlab's _netD (128 px: 64, 62, 31, 29, 15, 13) or _netD_CIFAR10 (32 px: 16, 16, 8, 8,
        4, 4): six 3x3 convs (stride 2, 1, 2, 1, 2, 1; BN from conv2 on; LeakyReLU 0.2; dropout
        0.5), then fc_dis and fc_aux on the flattened map, under its names; logits out."""
        chans, pad = (3, 16, 32, 64, 128, 256, 512), 0 if size == 128 else 1  # the stride-1 convs' padding
        self.stages = [f"conv{i}" for i in range(1, 7)]
        for i, name in enumerate(self.stages):
            stride = 2 if i % 2 == 0 else 1
            layers: list[nn.Module] = [nn.Conv2d(chans[i], chans[i + 1], 3, stride, 1 if stride == 2 else pad,
                                                 bias=False)]
            if i:
                layers.append(nn.BatchNorm2d(chans[i + 1]))
            setattr(self, name, nn.Sequential(*layers, nn.LeakyReLU(0.2, True), nn.Dropout(0.5)))
        side = 13 if size == 128 else 4
        self.fc_dis = nn.Linear(512 * side * side, 1)
        self.fc_aux = nn.Linear(512 * side * side, k)
        self.cls = self.embed = None
        self.apply(_paper_init)

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        if self.backbone == PAPER:
            for name in self.stages:
                x = getattr(self, name)(x)
            return x.flatten(1)
        h = self.features(x)
        return h.flatten(1) if self.backbone == "dcgan" else F.relu(h).sum((2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        phi = self.phi(x)
        if self.backbone == PAPER:  # gitlimlab's heads before its sigmoid / softmax; y is not used
            return self.fc_dis(phi).flatten(), self.fc_aux(phi)
        out = self.adv(phi).flatten()
        if self.embed is not None:
            projection = phi @ self.embed.weight.t()  # (N, K): <embed(k), phi> for every class k
            if y is not None:
                out = out + projection.gather(1, y[:, None]).flatten()
        logits = self.cls(phi) if self.cls is not None else projection
        return out, logits


# ----------------------------------------------------------------------------- the model


class Model(nn.Module):
    """What an AC-GAN checkpoint holds: G for faces of a class, D (whose classifier reads a face's class)."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.prior not in PRIORS:
            raise ValueError(f"prior is one of {', '.join(PRIORS)}, not {cfg.prior!r}")
        self.config = cfg
        self.generator = Generator(cfg)
        if cfg.disc == "projected":
            from facegan.models.projected import ProjectedACDiscriminator

            self.discriminator = ProjectedACDiscriminator(
                cfg.image_size, len(cfg.classes), cfg.disc_resize, width=cfg.ndf,
                projection=cfg.head in ("projection", "both"), classifier=cfg.head in ("ac", "both"))
        else:
            self.discriminator = Discriminator(cfg)

    @property
    def latent_dim(self) -> int:
        return self.config.nz

    @property
    def classes(self) -> list[str]:
        return list(self.config.classes)

    @property
    def n_classes(self) -> int:
        return len(self.config.classes)

    def class_index(self, classes: str | int | Sequence[str | int]) -> torch.Tensor:
        """Class names (or indices) -> (N,) int64 indices; a LabelError naming the known classes
        for an unknown one. A single name gives (1,)."""
        if isinstance(classes, (str, int)):
            classes = [classes]
        group = Group(self.config.group, tuple(self.config.classes))
        out = []
        for c in classes:
            if isinstance(c, str):
                out.append(group.index(c))
            elif isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(group):
                out.append(c)
            else:
                raise LabelError(f"class {c!r} is not a class index 0..{len(group) - 1} nor one of the "
                                 f"{len(group)} {group.name} classes: {', '.join(group.values)}")
        return torch.tensor(out, dtype=torch.long)

    def sample_latent(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """The training prior: (n, nz) uniform in [-1, 1], or N(0, 1) with ``prior="normal"``."""
        return latent.sample(n, self.config.nz, self.config.prior, generator, device)

    def sample_inputs(self, n: int, generator: torch.Generator | None = None, device=None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """G's training inputs: latents (n, nz) from the prior and classes (n,) uniform over the classes."""
        z = self.sample_latent(n, generator=generator, device=device)
        y = torch.randint(self.n_classes, (n,), generator=generator, device=None if generator else z.device)
        return z, y.to(z.device)

    def _classes_for(self, classes, n: int, device) -> torch.Tensor:
        if isinstance(classes, torch.Tensor):
            y = classes.to(device=device, dtype=torch.long).flatten()
        else:
            y = self.class_index(classes).to(device)
        if y.numel() == 1:
            y = y.expand(n)
        if y.shape != (n,):
            raise ValueError(f"{n} latents need 1 or {n} classes, not {y.numel()}")
        if (y < 0).any() or (y >= self.n_classes).any():
            raise LabelError(f"class indices are 0..{self.n_classes - 1}; got {y.tolist()}")
        return y

    @torch.no_grad()
    def generate(self, z: torch.Tensor, classes) -> torch.Tensor:
        """(N, nz) latents, classes ((N,) or one: int indices, or names) -> (N, 3, 64, 64) in [-1, 1]."""
        return self.generator(z, self._classes_for(classes, z.shape[0], z.device))

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """D's class logits of pictures (N, 3, 64, 64) in [-1, 1] -> (N, K)."""
        return self.discriminator(x)[1].float()

    @torch.no_grad()
    def grid(self, z: torch.Tensor, classes) -> torch.Tensor:
        """Every latent in every class: (C, nz), R classes -> (R, C, 3, 64, 64), a row per class,
        the same z down each column."""
        y = self.class_index(classes) if not isinstance(classes, torch.Tensor) else classes.long().flatten()
        r, c = len(y), z.shape[0]
        # one batch of every (class, latent) pair: 12 x 8 faces in one pass, not 12 passes of 8
        x = self.generate(z.repeat(r, 1), y.to(z.device).repeat_interleave(c))
        return x.view(r, c, *x.shape[1:])

    def preview_inputs(self, data, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Fixed latents (n // rows, nz) and up to PREVIEW_ROWS classes (spread over them) for the sample grids."""
        rows = min(self.n_classes, PREVIEW_ROWS)
        y = torch.linspace(0, self.n_classes - 1, rows).round().long()
        return self.sample_latent(max(1, n // rows), generator=generator), y

    @torch.no_grad()
    def preview(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """A sample grid: a row per class, a column per latent."""
        z, y = inputs
        return self.grid(z, y.to(z.device)).flatten(0, 1), z.shape[0]


# ----------------------------------------------------------------------------- data


def _is_tags(path) -> bool:
    return data_lib.is_tag_set(path)


def class_of(row: Mapping[str, str], group: str) -> str:
    """An image's class in ``group`` from its labels: ``{"hair": "blonde", "eyes": "blue"}`` ->
    "blonde" (hair), "blue" (eyes), "blonde hair blue eyes" (hair+eyes, as the tag reads)."""
    if group == "hair+eyes":
        return f"{row['hair']} hair {row['eyes']} eyes"
    return row[group]


def _check_group(path, group: str) -> None:
    if _is_tags(path):
        if group not in TAG_GROUPS:
            raise data_lib.DataError(f"{path} has a tags.csv: its class groups are {', '.join(TAG_GROUPS)}, "
                                     f"not {group!r}")
    elif group in TAG_GROUPS:
        raise data_lib.DataError(f"{path} is a set of class folders; group {group!r} needs a tags.csv "
                                 "('N,<colour> hair <colour> eyes')")


def check_data(path) -> int:
    """Cheap check of a labelled folder (tags.csv or class folders): its image count, or DataError."""
    return data_lib.check_labelled(path)


def data_config(path, given: Mapping | None = None) -> dict:
    """Config fields read from the data for a run that does not give them: the group (``given``'s,
    else "hair" for a tags.csv, the folders' group for class folders) and its classes, the
    ``top_k`` most frequent when given (ties: by name), in name order."""
    given = given or {}
    group, top_k = given.get("group"), given.get("top_k")
    if not isinstance(group, str) or not group:  # a bad value is Config's to refuse, after this
        group = "hair" if _is_tags(path) else data_lib.labels_of(path).groups[0].name
    _check_group(path, group)
    counts = Counter(class_of(row, group) for row in data_lib.label_rows(path))
    ok = isinstance(top_k, (int, float)) and not isinstance(top_k, bool) and math.isfinite(top_k) and top_k >= 1
    top_k = int(top_k) if ok else 0
    names = sorted(counts)
    if top_k:
        names = sorted(sorted(counts, key=lambda c: (-counts[c], c))[:top_k])
    return {"group": group, "classes": names}


def load_data(path, cfg: Config, limit: int | None = None) -> data_lib.LabelledSet:
    """The images of a labelled folder whose class (in ``cfg.group``) is one of ``cfg.classes``, as a
    LabelledSet of one categorical group (the classes in order): a label vector is the one-hot class.
    ``limit`` reads that many images spread over the set before the other classes are dropped."""
    _check_group(path, cfg.group)
    full = data_lib.load_labelled_set(path, cfg.image_size, limit=limit)
    parts = {g.name: [g.values[i] for i in full.labels[:, sl].argmax(1).tolist()] for _, g, sl in full.spec.groups()}
    rows = [dict(zip(parts, values)) for values in zip(*parts.values())]
    names = [class_of(r, cfg.group) for r in rows]
    index = {c: i for i, c in enumerate(cfg.classes)}
    unknown = sorted(set(names) - set(index))
    if unknown and not cfg.top_k:
        raise data_lib.DataError(f"{path}: {len(unknown)} {cfg.group} classes of the data are not among the "
                                 f"model's {len(index)} ({', '.join(map(repr, unknown[:5]))}"
                                 f"{', ...' if len(unknown) > 5 else ''}); top_k > 0 drops the other classes")
    keep = [i for i, c in enumerate(names) if c in index]
    if not keep:
        raise data_lib.DataError(f"{path}: no image of the model's classes ({', '.join(cfg.classes[:5])}, ...)")
    idx = torch.tensor(keep)
    y = torch.tensor([index[names[i]] for i in keep])
    spec = LabelSpec.of(DatasetLabels(full.spec.datasets[0].name, (Group(cfg.group, tuple(cfg.classes)),)))
    return data_lib.LabelledSet(full.images[idx], F.one_hot(y, len(cfg.classes)).float(),
                                torch.zeros(len(keep), dtype=torch.long), spec, [full.paths[i] for i in keep],
                                full.skipped)


def batches(data: data_lib.LabelledSet, train_cfg, cfg: Config, device) -> data_lib.LabelledBatches:
    if not isinstance(data, data_lib.LabelledSet):
        raise data_lib.DataError(f"AC-GAN trains on a labelled set (facegan.data.LabelledSet), not {type(data).__name__}")
    values = list(data.spec.datasets[0].groups[0].values) if data.spec.n_datasets == 1 else None
    if values != cfg.classes or len(data.spec.datasets[0].groups) != 1:
        raise data_lib.DataError(f"the data's classes {data.spec.to_dict()} differ from the model's {cfg.classes}")
    if data.images.shape[-1] != cfg.image_size:
        raise data_lib.DataError(f"the data's images are {data.images.shape[-1]} px, the model's {cfg.image_size} px")
    return data_lib.LabelledBatches(data, train_cfg.batch_size, train_cfg.seed, device, train_cfg.flip)


# ----------------------------------------------------------------------------- training


class TrainStep:
    """One D step then one G step (paper Sec. 3): D maximises the log-likelihood of the right
    source and of the right class, L_S + L_C, on real and generated images; G maximises
    L_C - L_S, i.e. non-saturating -log D(G(z, c)) plus the class cross-entropy of its faces.

    The classes of the fakes are drawn uniformly. Without an auxiliary classifier ("projection")
    the class enters through D's projection only, and there are no class terms.
    """

    def __init__(self, model: Model, cfg: Config):
        self.model, self.cfg = model, cfg
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(model.generator.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=cfg.lr, betas=betas)
        self.ac = cfg.head in ("ac", "both")
        self.projected = cfg.disc == "projected"  # hinge loss over its heads' logits, DiffAugment always
        self.augment = diff_augment if cfg.diffaugment or self.projected else (lambda x: x)
        self.G, self.D = distributed.wrap(model.generator), distributed.wrap(model.discriminator)

    def __call__(self, batch, autocast) -> dict[str, torch.Tensor]:
        """``batch`` = (real images (B, 3, 64, 64) in [-1, 1], one-hot classes (B, K), data set (B,) or
        absent): this process's part."""
        real, y_real = batch[0], batch[1].argmax(1)
        G, D, cfg = self.G, self.D, self.cfg
        z, y_fake = map(distributed.shard, self.model.sample_inputs(distributed.global_size(real.shape[0]),
                                                                    device=real.device))
        zero = real.new_zeros(())

        with autocast():
            fake = G(z, y_fake)
            out_real, cls_real = D(self.augment(real), y_real)
            out_fake, cls_fake = D(self.augment(fake.detach()), y_fake)
            d_adv = (hinge_d(out_real.float(), out_fake.float()) if self.projected
                     else F.softplus(-out_real.float()).mean() + F.softplus(out_fake.float()).mean())
            d_cls_real = F.cross_entropy(cls_real.float(), y_real) if self.ac else zero
            d_cls_fake = F.cross_entropy(cls_fake.float(), y_fake) if self.ac else zero
            loss_d = d_adv + cfg.cls_weight * (d_cls_real + (d_cls_fake if cfg.d_cls_fake else zero))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        self.model.discriminator.requires_grad_(False)  # G's step needs no grads for D's weights
        with autocast():
            out_fake, cls_fake = D(self.augment(fake), y_fake)
            g_adv = hinge_g(out_fake.float()) if self.projected else F.softplus(-out_fake.float()).mean()
            g_cls = F.cross_entropy(cls_fake.float(), y_fake) if self.ac else zero
            loss_g = g_adv + cfg.cls_weight * g_cls
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.model.discriminator.requires_grad_(True)
        with torch.no_grad():
            acc = (cls_real.argmax(1) == y_real).float().mean()  # D's class accuracy on the real batch
        return {"loss_d": d_adv.detach(), "loss_g": g_adv.detach(), "loss_d_cls_real": d_cls_real.detach(),
                "loss_d_cls_fake": d_cls_fake.detach(), "loss_g_cls": g_cls.detach(), "acc_real": acc}

    def state_dict(self) -> dict:
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


TECHNIQUE = Technique("acgan", Config, Model, TrainStep,
                      default_data="anime-faces-64",  # hair and eye colours
                      batch_size=64, check_data=check_data, load_data=load_data, batches=batches,
                      data_fields=("classes",), data_config=data_config)
