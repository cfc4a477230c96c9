"""DCGAN (Radford et al. 2015) at 64x64, with the feature matching of seed article 002.

Same names as every technique module: ``Config``, ``Generator``, ``Discriminator``,
``Model`` (what a checkpoint holds) and ``TrainStep`` (one optimisation step).

The latent prior is uniform in [-1, 1], as in the article's TensorFlow code, so a
16-dim z is exactly a 32-hex-digit code (one byte per dimension, see ``latent.py``).
``Config.prior = "normal"`` (N(0, 1)) is for checkpoints converted from implementations
trained that way, such as pytorch/examples (``facegan.convert``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from facegan import distributed, latent
from facegan.latent import PRIORS
from facegan.losses import feature_matching
from facegan.models import Technique
from facegan.models.blocks import diff_augment
from facegan.models.blocks import down as _down
from facegan.models.blocks import up as _up
from facegan.models.config_checks import BETA, LR, MAX_SIZE, MAX_WIDTH, WEIGHT, check_fields, refuse

DISCRIMINATORS = ("dcgan", "projected")


@dataclass
class Config:
    nz: int = 16  # latent size; 16 makes a face a 32-hex-digit code
    ngf: int = 64  # generator width (the paper's last conv has ngf channels)
    ndf: int = 64  # discriminator width
    image_size: int = 64
    # training (kept with the model so a checkpoint says how it was made)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    feature_matching: float = 1.0  # weight of the penultimate-feature and mean-image terms; 0 turns it off
    prior: str = "uniform"  # latent prior: "uniform" in [-1, 1], or "normal" N(0, 1) (see latent.py for codes)
    # "dcgan": the paper's D; "projected": Projected GAN's (facegan.models.projected: frozen
    # EfficientNet-lite0 features, random projections, a D per scale, hinge loss, DiffAugment), ndf its width
    disc: str = "dcgan"
    disc_resize: int = 0  # projected: the side images are enlarged to before F (0: 64 px as they are)

    def __post_init__(self):
        check_fields(self,
                     ints={"nz": (1, MAX_WIDTH), "ngf": (1, MAX_WIDTH), "ndf": (1, MAX_WIDTH),
                           "image_size": (1, MAX_SIZE), "disc_resize": (0, 512)},
                     floats={"lr": LR, "beta1": BETA, "beta2": BETA, "feature_matching": WEIGHT},
                     choices={"prior": PRIORS, "disc": DISCRIMINATORS})
        if self.image_size != 64:
            raise refuse("image_size", "64 (DCGAN is built for 64x64 images)", self.image_size)


def _init_weights(m: nn.Module) -> None:
    # DCGAN paper, section 4: N(0, 0.02) for convs, N(1, 0.02) for BN scales.
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """z (N, nz) from the prior -> images (N, 3, 64, 64) in [-1, 1]."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.image_size != 64:
            raise ValueError("DCGAN is built for 64x64 images")
        g = cfg.ngf
        self.nz = cfg.nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cfg.nz, g * 8, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(g * 8),
            nn.ReLU(True),
            *_up(g * 8, g * 4),  # 8x8
            *_up(g * 4, g * 2),  # 16x16
            *_up(g * 2, g),  # 32x32
            nn.ConvTranspose2d(g, 3, 4, 2, 1),  # 64x64
            nn.Tanh(),
        )
        self.apply(_init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.nz, 1, 1))


class Discriminator(nn.Module):
    """images (N, 3, 64, 64) -> (logits (N,), penultimate features (N, 8*ndf, 4, 4)).

    The features are the output of the fourth conv, the layer the article matches.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        d = cfg.ndf
        self.features = nn.Sequential(
            *_down(3, d, norm=False),  # 32x32
            *_down(d, d * 2),  # 16x16
            *_down(d * 2, d * 4),  # 8x8
            *_down(d * 4, d * 8),  # 4x4
        )
        self.head = nn.Conv2d(d * 8, 1, 4, 1, 0)
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.head(f).flatten(), f


class Model(nn.Module):
    """What a DCGAN checkpoint holds: G for sampling and D for ranking samples."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.prior not in PRIORS:
            raise ValueError(f"prior is one of {', '.join(PRIORS)}, not {cfg.prior!r}")
        self.config = cfg
        self.generator = Generator(cfg)
        if cfg.disc == "projected":
            from facegan.models.projected import ProjectedDiscriminator

            self.discriminator = ProjectedDiscriminator(cfg.image_size, cfg.disc_resize, width=cfg.ndf)
        else:
            self.discriminator = Discriminator(cfg)

    @property
    def latent_dim(self) -> int:
        return self.config.nz

    def sample_latent(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """The training prior: (n, nz) uniform in [-1, 1], or N(0, 1) with ``prior="normal"``."""
        return latent.sample(n, self.config.nz, self.config.prior, generator, device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(N, nz) -> (N, 3, 64, 64) in [-1, 1]."""
        return self.generator(z)

    def preview_inputs(self, data, n: int, generator: torch.Generator) -> torch.Tensor:
        """Fixed latents for a run's sample grids."""
        return self.sample_latent(n, generator=generator)

    @torch.no_grad()
    def preview(self, z: torch.Tensor) -> tuple[torch.Tensor, int | None]:
        """A sample grid: its images and the number of columns (None: square)."""
        return self.generate(z), None

    @torch.no_grad()
    def score(self, images: torch.Tensor) -> torch.Tensor:
        """D's probability that each image is real: (N, 3, 64, 64) -> (N,) in [0, 1] (a projected D:
        the sigmoid of its logits' mean)."""
        if self.config.disc == "projected":
            return torch.sigmoid(self.discriminator.score(images))
        return torch.sigmoid(self.discriminator(images)[0].float())


class TrainStep:
    """One D step then one G step: non-saturating GAN loss plus feature matching (article 002)."""

    def __init__(self, model: Model, cfg: Config):
        self.model, self.cfg = model, cfg
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(model.generator.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=cfg.lr, betas=betas)
        self.G, self.D = distributed.wrap(model.generator), distributed.wrap(model.discriminator)

    def __call__(self, batch: tuple[torch.Tensor, torch.Tensor | None], autocast) -> dict[str, torch.Tensor]:
        """``batch`` = (real images (B, 3, 64, 64) in [-1, 1], labels or None): this process's part."""
        real = batch[0]
        G, D, cfg = self.G, self.D, self.cfg
        z = distributed.shard(self.model.sample_latent(distributed.global_size(real.shape[0]), device=real.device))

        if cfg.disc == "projected":
            return self.projected_step(real, z, autocast)
        with autocast():
            fake = G(z)
            logit_real, feat_real = D(real)
            logit_fake, _ = D(fake.detach())
            loss_d = F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        self.model.discriminator.requires_grad_(False)  # G's step needs no grads for D's weights
        with autocast():
            logit_fake, feat_fake = D(fake)
            loss_adv = F.softplus(-logit_fake).mean()
            loss_fm = feature_matching(feat_fake, feat_real.detach()) + feature_matching(fake, real)
            loss_g = loss_adv + cfg.feature_matching * loss_fm
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.model.discriminator.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_adv.detach(), "loss_fm": loss_fm.detach()}

    def projected_step(self, real: torch.Tensor, z: torch.Tensor, autocast) -> dict[str, torch.Tensor]:
        """Projected GAN's step: hinge loss over every head's logits, DiffAugment on every image D
        sees (real and fake, in both steps); no feature matching (D's features are F's)."""
        from facegan.models.projected import hinge_d, hinge_g

        G, D = self.G, self.D
        with autocast():
            fake = G(z)
            loss_d = hinge_d(D(diff_augment(real)).float(), D(diff_augment(fake.detach())).float())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        self.model.discriminator.requires_grad_(False)
        with autocast():
            loss_g = hinge_g(D(diff_augment(fake)).float())
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.model.discriminator.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "loss_fm": torch.zeros((), device=real.device)}

    def state_dict(self) -> dict:
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


TECHNIQUE = Technique("dcgan", Config, Model, TrainStep, default_data="anime-faces-64", batch_size=128)  # the paper's batch
