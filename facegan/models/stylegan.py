"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), the
technique of seed article 003, trained as StyleGAN2-ADA (Karras et al. 2020) trains it.

Same names as every technique module: ``Config``, ``Generator``, ``Discriminator``, ``Model``
(what a checkpoint holds) and ``TrainStep`` (one optimisation step).

G = ``mapping`` (z -> w, an MLP of equalised-lr layers with a 100x smaller learning rate, w's
running average kept for truncation) and ``synthesis`` (a learned 4x4 constant, then per
resolution two modulated 3x3 convs with weight demodulation, per-pixel noise of learned strength,
and a toRGB whose images are up-sampled and summed: the "skip" generator). D is the "resnet"
discriminator: fromRGB at the top resolution, residual blocks halving the side, minibatch
standard deviation, a conv, two fully connected layers. Every up / down sampling low-passes with
the [1, 3, 3, 1] filter. Written from the papers in ordinary PyTorch ops (no compiled op; the
same code on CPU and GPU); the parameter names and shapes are stylegan2-ada-pytorch's
(``mapping.fc0.weight``, ``synthesis.b4.const``, ``synthesis.b8.conv0.affine.weight``,
``b64.skip.weight`` in D, ...) under the ``generator.`` / ``discriminator.`` prefixes, so that
importing its checkpoints is a renaming. Its resampling filters are computed buffers here, not
part of the state.

``architecture="stylegan1"`` swaps in StyleGAN v1's synthesis network (``facegan.models.stylegan1``,
AdaIN and no demodulation) for checkpoints converted from genforce: generator-only, not trained.

Unconditional (no class input). The latent prior is N(0, 1) (``prior="normal"``; a face's code
is 2 * z_dim hex digits through ``facegan.latent``). ``Config.preset`` picks the sizes
("cpu", "64", "128", "256"); any field given beside it wins, and the effective values are what
``config.json`` stores.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from facegan import checks, distributed, latent
from facegan.latent import PRIORS
from facegan.models import Technique, stylegan1
from facegan.models.blocks import diff_augment
from facegan.models.config_checks import BETA, LR, MAX_SIZE, MAX_WIDTH, WEIGHT, check_fields, refuse
from facegan.models.projected import hinge_d, hinge_g
from facegan.models.stylegan_layers import (  # noqa: F401 (NOISE_MODES, upsample2d: this module's API too)
    NOISE_MODES,
    SQRT2,
    Conv2dLayer,
    FullyConnectedLayer,
    bias_act,
    blur,
    channels,
    fir_filter,
    modulated_conv2d,
    random_noise,
    upsample2d,
)

# StyleGAN2-ADA's ``--cfg=auto`` for one GPU (stylegan2-ada-pytorch, train.py,
# setup_training_loop_kwargs): batch mb = min(4096 // res, 32); fmaps = 1 if res >= 512 else 0.5,
# so channel_base = fmaps * 32768 = 16384 below 512 px, channel_max 512 (channels at resolution
# r: min(channel_base // r, channel_max)); map = 2 mapping layers; z_dim = w_dim = 512; lr 0.0025
# (0.002 at 1024 px); gamma = 0.0002 * res**2 / mb ("heuristic formula"); ema = mb * 10 / 32 kimg
# with a ramp-up of 0.05; minibatch-stddev group min(mb, 4); conv_clamp 256.
PRESET_BATCH = {"cpu": 32, "64": 32, "128": 32, "256": 16}  # the batch each preset's gamma and EMA assume


def _auto(res: int, batch: int, **sizes) -> dict:
    return {"image_size": res, "ema_kimg": batch * 10 / 32, **sizes}  # r1_gamma: from the image size, below


def auto_gamma(image_size: int, batch: int) -> float:
    """StyleGAN2-ADA's heuristic R1 weight, 0.0002 * res^2 / batch (0.0256 at 64 px, batch 32)."""
    return 0.0002 * image_size**2 / batch


_ADA = {"z_dim": 512, "w_dim": 512, "mapping_layers": 2, "channel_base": 16384, "channel_max": 512,
        "conv_clamp": 256.0}
PRESETS = {
    # The bundled CPU model: the same design with 128-dim z / w and at most 128 channels (64 at 64 px).
    # No conv_clamp: the clamp is ADA's guard for fp16 (off with its --fp32), bf16 has float32's range, and
    # the clamp's backward costs 15 % of a CPU step.
    "cpu": _auto(64, PRESET_BATCH["cpu"], z_dim=128, w_dim=128, mapping_layers=2, channel_base=4096,
                 channel_max=128, conv_clamp=0.0),
    "64": _auto(64, PRESET_BATCH["64"], **_ADA),  # 512 channels to 32 px, 256 at 64 px
    "128": _auto(128, PRESET_BATCH["128"], **_ADA),  # ... 128 at 128 px
    "256": _auto(256, PRESET_BATCH["256"], **_ADA),  # ... 64 at 256 px
}
ARCHITECTURES = ("stylegan2", "stylegan1")  # the synthesis network: StyleGAN2's, or StyleGAN v1's (AdaIN)
STYLE_GROUPS = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, MAX_SIZE)}  # StyleGAN Sec. 3.1, Fig. 3 (1024 px)


def style_groups(image_size: int) -> dict[str, tuple[int, int]]:
    """Figure 3's groups (px ranges) fitted to a model of ``image_size``: coarse 4-8 px (pose, face
    shape), middle 16 px up to a quarter of the size but at most 32 px (features), fine the
    resolutions above (colours). At 1024 px (and from 128 px) these are the paper's; a 64 px model
    gets coarse 4-8, middle 16, fine 32-64, so that each row visibly changes its faces (copying
    64 px styles alone moves a 64 px face by 9/255 on average, 32-64 px ones by 21/255)."""
    middle_top = max(16, min(32, image_size // 4))
    return {"coarse": (4, 8), "middle": (16, middle_top), "fine": (2 * middle_top, MAX_SIZE)}


@dataclass
class Config:
    preset: str = "cpu"  # "cpu" (the bundled 64 px model), "64", "128", "256" (StyleGAN2-ADA auto)
    # sizes (None: the preset's)
    image_size: int | None = None  # a power of two, 8 to 1024
    z_dim: int | None = None
    w_dim: int | None = None
    mapping_layers: int | None = None
    channel_base: int | None = None  # channels at resolution r: min(channel_base // r, channel_max)
    channel_max: int | None = None
    mapping_lr: float = 0.01  # the mapping network's learning-rate multiplier (StyleGAN App. C)
    w_avg_beta: float = 0.995  # decay of w's running average (the truncation centre)
    mbstd_group: int = 4  # minibatch standard deviation over groups of this many images (StyleGAN2)
    mbstd_channels: int = 1
    conv_clamp: float | None = None  # |activations| clamped after each conv (StyleGAN2-ADA: 256); 0: no clamp
    prior: str = "normal"  # latent prior: N(0, 1) (or "uniform" in [-1, 1])
    # training: StyleGAN2's losses and regularisers, StyleGAN2-ADA's settings
    lr: float = 0.0025
    beta1: float = 0.0
    beta2: float = 0.99
    r1_gamma: float | None = None  # R1 weight (None: auto_gamma of image_size and the preset's batch)
    r1_interval: int = 16  # lazy R1: every 16th D step
    pl_weight: float = 2.0  # path-length regularisation weight; 0 turns it off
    pl_interval: int = 4  # lazy path length: every 4th G step
    pl_decay: float = 0.01  # of the running mean path length
    pl_batch_shrink: int = 2  # the path-length batch is batch // 2
    style_mixing: float = 0.9  # probability of mixing two latents in a training image
    ema_kimg: float | None = None  # half-life of G's EMA in thousands of images (None: the preset's)
    ema_rampup: float = 0.05  # the half-life is at most this fraction of the images seen so far; 0: off
    diffaugment: bool = False  # DiffAugment (Zhao et al. 2020): colour, translation, cutout on what D sees
    discriminators: bool = True  # False: a generator-only checkpoint (shipped or converted without D): draws, cannot train
    architecture: str = "stylegan2"  # "stylegan1": StyleGAN v1's synthesis (facegan.models.stylegan1), generator-only
    # "stylegan2": the residual D; "projected": Projected GAN's (facegan.models.projected: frozen
    # EfficientNet-lite0 features, random projections, a D per scale, hinge loss, DiffAugment, no R1)
    disc: str = "stylegan2"
    disc_resize: int = 0  # projected: the side images are enlarged to before F (0: as they are)
    disc_width: int = 64  # projected: the heads' width

    def __post_init__(self):
        if not isinstance(self.preset, str) or self.preset not in PRESETS:
            raise refuse("preset", f"one of {', '.join(PRESETS)}", self.preset)
        for name, value in PRESETS[self.preset].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        size = self.image_size  # a bad one is refused below, before r1_gamma
        if self.r1_gamma is None and isinstance(size, (int, float)) and not isinstance(size, bool) and 8 <= size <= MAX_SIZE:
            self.r1_gamma = auto_gamma(size, PRESET_BATCH[self.preset])
        check_fields(self,
                     ints={"image_size": (8, MAX_SIZE), "z_dim": (1, MAX_WIDTH), "w_dim": (1, MAX_WIDTH),
                           "mapping_layers": (1, 32), "channel_base": (1, 1 << 20), "channel_max": (1, MAX_WIDTH),
                           "mbstd_group": (1, 64), "mbstd_channels": (1, MAX_WIDTH), "r1_interval": (1, 10_000),
                           "pl_interval": (1, 10_000), "pl_batch_shrink": (1, 64), "disc_resize": (0, 1024),
                           "disc_width": (1, MAX_WIDTH)},
                     floats={"mapping_lr": LR, "w_avg_beta": BETA, "conv_clamp": WEIGHT, "lr": LR, "beta1": BETA,
                             "beta2": BETA, "r1_gamma": WEIGHT, "pl_weight": WEIGHT, "pl_decay": (0.0, 1.0),
                             "style_mixing": (0.0, 1.0), "ema_kimg": (0.0, 1e6, "(]"), "ema_rampup": (0.0, 1.0)},
                     choices={"preset": tuple(PRESETS), "prior": PRIORS, "architecture": ARCHITECTURES,
                              "disc": ("stylegan2", "projected")})
        if self.architecture == "stylegan1" and self.discriminators:
            raise refuse("discriminators", "false with architecture stylegan1 (a StyleGAN v1 is converted to draw "
                         "with, not trained)", self.discriminators)
        if self.image_size & (self.image_size - 1):
            raise refuse("image_size", "a power of two from 8 to 1024", self.image_size)
        if self.channel_base < self.image_size:
            raise refuse("channel_base", f"at least image_size ({self.image_size}), so that every resolution "
                         "has a channel", self.channel_base)
        if channels(self, 4) % self.mbstd_channels:
            raise refuse("mbstd_channels", f"a divisor of the {channels(self, 4)} channels at 4 px",
                         self.mbstd_channels)

    @property
    def resolutions(self) -> list[int]:
        """G's block resolutions, 4 to image_size."""
        return [2**i for i in range(2, int(math.log2(self.image_size)) + 1)]


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (demodulated), + noise * noise_strength, + bias, lrelu; ``up`` doubles the side."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False,
                 conv_clamp: float | None = None, kernel_size: int = 3):
        super().__init__()
        self.up, self.resolution, self.conv_clamp = up, resolution, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)  # styles start at 1
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))  # the "const" noise
        if up:
            self.register_buffer("resample_filter", fir_filter(), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, up=self.up, resample_filter=getattr(self, "resample_filter", None))
        if noise_mode == "random":
            noise = random_noise(x.shape[0], self.resolution, x.device, noise_generator)
            x = x + (noise * self.noise_strength).to(x.dtype)
        elif noise_mode == "const":
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        return bias_act(x, self.bias, True, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to RGB, not demodulated, linear (StyleGAN2 Fig. 7, the skip generator)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        return bias_act(modulated_conv2d(x, self.weight, styles, demodulate=False), self.bias, False,
                        clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (const or conv0 up), conv1, torgb; the image so far
    up-sampled and the block's RGB added. Reads num_conv + 1 styles (its torgb's is the next
    block's conv0's)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=True, conv_clamp=conv_clamp)
            self.register_buffer("resample_filter", fir_filter(), persistent=False)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, 3, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str,
                noise_generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.in_channels == 0:
            x = self.const.to(ws.dtype)[None].expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, ws[:, 0], noise_mode, noise_generator)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode, noise_generator)
            x = self.conv1(x, ws[:, 1], noise_mode, noise_generator)
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else upsample2d(img, self.resample_filter).to(y.dtype) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> images (N, 3, S, S), not clamped (about [-1, 1] once trained)."""

    def __init__(self, cfg: Config):
        super().__init__()
        clamp = cfg.conv_clamp or None
        self.resolutions = cfg.resolutions
        self.num_ws = 0
        for res in self.resolutions:
            cin = channels(cfg, res // 2) if res > 4 else 0
            block = SynthesisBlock(cin, channels(cfg, res), cfg.w_dim, res, conv_clamp=clamp)
            setattr(self, f"b{res}", block)
            self.num_ws += block.num_conv
        self.num_ws += 1  # the last torgb's

    def forward(self, ws: torch.Tensor, noise_mode: str = "random",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode is one of {', '.join(NOISE_MODES)}, not {noise_mode!r}")
        x = img = None
        i = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws[:, i:i + block.num_conv + 1], noise_mode, noise_generator)
            i += block.num_conv
        return img


class MappingNetwork(nn.Module):
    """z (N, z_dim) -> ws (N, num_ws, w_dim): z normalised to unit second moment, ``mapping_layers``
    equalised-lr layers with lrelu at learning rate x mapping_lr, w broadcast to every layer.
    ``w_avg`` (a buffer) is w's running average, the centre of the truncation trick."""

    def __init__(self, cfg: Config, num_ws: int):
        super().__init__()
        self.num_ws, self.num_layers, self.w_avg_beta = num_ws, cfg.mapping_layers, cfg.w_avg_beta
        features = [cfg.z_dim] + [cfg.w_dim] * cfg.mapping_layers
        for i in range(cfg.mapping_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(features[i], features[i + 1], activation=True,
                                                        lr_multiplier=cfg.mapping_lr))
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, psi: float = 1.0, cutoff: int | None = None,
                update_w_avg: bool = False) -> torch.Tensor:
        x = z * z.float().square().mean(1, keepdim=True).add(1e-8).rsqrt().to(z.dtype)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_w_avg:  # training: w_avg <- lerp(mean of the batch's w, w_avg, beta)
            self.w_avg.copy_(distributed.batch_mean(x.detach().float()).lerp(self.w_avg, self.w_avg_beta))
        ws = x[:, None].expand(-1, self.num_ws, -1)
        return ws if psi == 1 else self.truncate(ws, psi, cutoff)

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        """The truncation trick (StyleGAN Sec. 3.3): w_avg + psi (w - w_avg) in the first
        ``cutoff`` layers (None: all). psi 0 is the average face, 1 leaves ws as they are."""
        ws = ws.clone()
        avg = self.w_avg.to(ws.dtype)
        ws[:, :cutoff] = avg + (ws[:, :cutoff] - avg) * psi
        return ws


# ----------------------------------------------------------------------------- networks


class Generator(nn.Module):
    """z (N, z_dim) from the prior -> images (N, 3, S, S), about [-1, 1] (not clamped);
    ``mapping`` and ``synthesis`` can be called apart (style mixing, projection)."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.architecture == "stylegan1":
            self.synthesis = stylegan1.SynthesisNetwork(cfg)
        else:
            self.synthesis = SynthesisNetwork(cfg)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg, self.num_ws)

    def forward(self, z: torch.Tensor, psi: float = 1.0, cutoff: int | None = None, noise_mode: str = "random",
                update_w_avg: bool = False, noise_generator: torch.Generator | None = None) -> torch.Tensor:
        ws = self.mapping(z, psi, cutoff, update_w_avg=update_w_avg)
        return self.synthesis(ws, noise_mode, noise_generator)


class MinibatchStdLayer(nn.Module):
    """ProGAN's minibatch standard deviation as StyleGAN2 uses it: per group of ``group_size``
    images (image n in group n mod N/G), the std over the group of each feature, averaged over
    features (split in ``num_channels`` parts) and pixels, joined as extra channels.
    A batch that the group size does not divide uses its largest divisor below it."""

    def __init__(self, group_size: int, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = max(d for d in range(1, min(self.group_size, n) + 1) if n % d == 0)
        f = self.num_channels
        y = x.float().reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # (N/G, F, C/F, H, W)
        y = y.mean([2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w)  # (N, F, H, W)
        return torch.cat([x, y.to(x.dtype)], 1)


class DiscriminatorBlock(nn.Module):
    """Residual block of the resnet D (StyleGAN2 Fig. 7c): conv0, conv1 (down), plus a 1x1 down
    skip, each branch times 1/sqrt(2); the top block first reads the image with fromrgb."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, conv_clamp: float | None = None):
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(3, tmp_channels, 1, conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, down=True, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, activation=False, down=True)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class DiscriminatorEpilogue(nn.Module):
    """4x4 features -> a logit: minibatch std, 3x3 conv, fc, out."""

    def __init__(self, in_channels: int, mbstd_group: int, mbstd_channels: int, conv_clamp: float | None = None):
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group, mbstd_channels)
        self.conv = Conv2dLayer(in_channels + mbstd_channels, in_channels, 3, conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * 16, in_channels, activation=True)
        self.out = FullyConnectedLayer(in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1)))


class Discriminator(nn.Module):
    """images (N, 3, S, S) in [-1, 1] -> logits (N,) (real > 0)."""

    def __init__(self, cfg: Config):
        super().__init__()
        clamp = cfg.conv_clamp or None
        self.resolutions = cfg.resolutions[:0:-1]  # S, S/2, ..., 8
        for res in self.resolutions:
            cin = channels(cfg, res) if res < cfg.image_size else 0
            setattr(self, f"b{res}", DiscriminatorBlock(cin, channels(cfg, res), channels(cfg, res // 2), clamp))
        self.b4 = DiscriminatorEpilogue(channels(cfg, 4), cfg.mbstd_group, cfg.mbstd_channels, clamp)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = None
        for res in self.resolutions:
            x = getattr(self, f"b{res}")(x, img)
        return self.b4(x).flatten()


# ----------------------------------------------------------------------------- the model


def _check_psi(psi) -> float:
    """psi, a number (not its text), within the one limit every interface uses (checks.MAX_PSI)."""
    if isinstance(psi, bool) or not isinstance(psi, (int, float)):
        raise ValueError(f"psi (truncation) must be a number, got {psi!r}")
    return checks.real(psi, "psi", -checks.MAX_PSI, checks.MAX_PSI)


def _discriminator(cfg: Config) -> nn.Module:
    if cfg.disc == "projected":
        from facegan.models.projected import ProjectedDiscriminator

        return ProjectedDiscriminator(cfg.image_size, cfg.disc_resize, width=cfg.disc_width)
    return Discriminator(cfg)


class Model(nn.Module):
    """What a StyleGAN2 checkpoint holds: G (its EMA in a shipped checkpoint) and D."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.config = cfg
        self.generator = Generator(cfg)
        self.discriminator = _discriminator(cfg) if cfg.discriminators else None

    def without_discriminators(self) -> Model:
        """A generator-only copy (``facegan export --generators-only``): what the studio needs,
        half the size."""
        slim = Model(dataclasses.replace(self.config, discriminators=False))
        slim.generator.load_state_dict(self.generator.state_dict())
        return slim.to(next(self.parameters()).device).eval()

    @property
    def latent_dim(self) -> int:
        return self.config.z_dim

    @property
    def num_ws(self) -> int:
        """Styles per image: 2 per resolution (one at 4 px) and the last toRGB's, 10 at 64 px
        (StyleGAN v1: 2 per resolution)."""
        return self.generator.num_ws

    @property
    def w_avg(self) -> torch.Tensor:
        return self.generator.mapping.w_avg

    def sample_latent(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """The training prior: (n, z_dim) N(0, 1) (uniform in [-1, 1] with ``prior="uniform"``)."""
        return latent.sample(n, self.config.z_dim, self.config.prior, generator, device)

    def _check_cutoff(self, cutoff) -> int | None:
        ok = isinstance(cutoff, int) and not isinstance(cutoff, bool) and 0 <= cutoff <= self.num_ws
        if cutoff is not None and not ok:
            raise ValueError(f"cutoff (truncated layers) must be None or a whole number 0 to {self.num_ws}, "
                             f"got {cutoff!r}")
        return cutoff

    @torch.no_grad()
    def mapping(self, z: torch.Tensor, psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
        """(N, z_dim) -> ws (N, num_ws, w_dim), truncated towards w_avg by ``psi`` in the first
        ``cutoff`` layers (None: all)."""
        return self.generator.mapping(z, _check_psi(psi), self._check_cutoff(cutoff)).contiguous()

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        """ws (N, num_ws, w_dim) -> w_avg + psi (ws - w_avg) in the first ``cutoff`` layers."""
        return self.generator.mapping.truncate(ws, _check_psi(psi), self._check_cutoff(cutoff))

    @torch.no_grad()
    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const",
                  noise_generator: torch.Generator | None = None) -> torch.Tensor:
        """ws (N, num_ws, w_dim) -> images (N, 3, S, S) in [-1, 1]. ``noise_mode``: "const" (the
        checkpoint's fixed noise: a latent is always the same face), "random" (fresh noise, drawn
        from ``noise_generator`` when given) or "none"."""
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.config.w_dim):
            raise ValueError(f"ws must be (N, {self.num_ws}, {self.config.w_dim}), not {tuple(ws.shape)}")
        return self.generator.synthesis(ws, noise_mode, noise_generator).float().clamp(-1, 1)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, psi: float = 1.0, cutoff: int | None = None, noise_mode: str = "const",
                 noise_generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, z_dim) -> (N, 3, S, S) in [-1, 1]; see ``mapping`` and ``synthesis``."""
        return self.synthesis(self.mapping(z, psi, cutoff), noise_mode, noise_generator)

    def style_layers(self, group: str | Sequence[int] | range) -> list[int]:
        """The style indices of "coarse", "middle" or "fine", StyleGAN's Figure 3 groups fitted to
        this model's size (``style_groups``; style i acts at 2^(i // 2 + 2) px); or indices, checked."""
        if isinstance(group, str):
            if group not in STYLE_GROUPS:
                raise ValueError(f"a style group is one of {', '.join(STYLE_GROUPS)}, not {group!r}")
            lo, hi = style_groups(self.config.image_size)[group]
            return [i for i in range(self.num_ws) if lo <= 2 ** (i // 2 + 2) <= hi]
        layers = list(group)
        if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.num_ws for i in layers):
            raise ValueError(f"style layers are indices 0 to {self.num_ws - 1}, got {layers}")
        return layers

    def style_affines(self) -> list[FullyConnectedLayer]:
        """One affine (style modulation, w -> the styles s of Eq. 1) per style index, num_ws of
        them: style i's modulated conv's, the last style's the last toRGB's. An earlier toRGB
        reads the style of the next block's first conv and is left out, as genforce/sefa does.
        StyleGAN v1: each layer's AdaIN affine."""
        syn = self.generator.synthesis
        if self.config.architecture == "stylegan1":
            return syn.style_affines()
        out = []
        for res in syn.resolutions:
            block = getattr(syn, f"b{res}")
            out += [block.conv1.affine] if block.num_conv == 1 else [block.conv0.affine, block.conv1.affine]
        return [*out, getattr(syn, f"b{syn.resolutions[-1]}").torgb.affine]

    def mix(self, ws_a: torch.Tensor, ws_b: torch.Tensor, layers: str | Sequence[int] | range) -> torch.Tensor:
        """Style mixing (StyleGAN Sec. 3.1): ws_a with ws_b's styles at ``layers`` (indices, or a
        group name, see ``style_layers``). (N, num_ws, w_dim) twice (or one of them N = 1) -> (N, num_ws, w_dim)."""
        mask = torch.zeros(self.num_ws, dtype=torch.bool, device=ws_a.device)
        mask[self.style_layers(layers)] = True
        return torch.where(mask[None, :, None], ws_b, ws_a)

    def preview_inputs(self, data, n: int, generator: torch.Generator) -> torch.Tensor:
        """Fixed latents for a run's sample grids."""
        return self.sample_latent(n, generator=generator)

    @torch.no_grad()
    def preview(self, z: torch.Tensor) -> tuple[torch.Tensor, int | None]:
        """A sample grid (psi 1, the fixed noise): its images and the number of columns (None: square)."""
        return self.generate(z), None

    @torch.no_grad()
    def score(self, images: torch.Tensor) -> torch.Tensor:
        """D's probability that each image is real: (N, 3, S, S) in [-1, 1] -> (N,) in [0, 1]."""
        if self.discriminator is None:
            raise ValueError("this checkpoint is generator-only (discriminators=false): it has no D to score with")
        if self.config.disc == "projected":
            return torch.sigmoid(self.discriminator.score(images))
        return torch.sigmoid(self.discriminator(images).float())


# ----------------------------------------------------------------------------- training


def lazy_adam(params, lr: float, betas: tuple[float, float], interval: int) -> torch.optim.Adam:
    """Adam for a net regularised every ``interval`` steps in a step of its own (lazy
    regularisation, StyleGAN2 Sec. 3.1 / App. B): k + 1 optimiser steps per k, so lr and the
    betas are scaled by c = k / (k + 1) (lr c, beta^c). ``interval`` 0: no regulariser."""
    c = interval / (interval + 1) if interval else 1.0
    return torch.optim.Adam(params, lr=lr * c, betas=(betas[0] ** c, betas[1] ** c), eps=1e-8)


def r1_penalty(logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ||d D(x) / d x||^2 per real image (N,), differentiable."""
    (grad,) = torch.autograd.grad(logits.float().sum(), real, create_graph=True)
    return grad.float().square().sum([1, 2, 3])


def path_lengths(images: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
    """StyleGAN2's path length (Sec. 3.2): |J_w^T y| for y ~ N(0, I) / sqrt(H W), the Jacobian of
    the images by the styles, averaged over the styles. (N,), differentiable."""
    noise = distributed.randn(*images.shape, device=images.device) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images.float() * noise).sum(), ws, create_graph=True)
    return grad.float().square().sum(2).mean(1).sqrt()


class TrainStep:
    """StyleGAN2-ADA's four phases per step: G (non-saturating logistic loss), every
    ``pl_interval``-th step G's path-length regularisation, D (logistic loss on real and fake),
    every ``r1_interval``-th step D's R1; each an Adam step of its own, lr and betas adjusted for
    the lazy steps (``lazy_adam``), the regularisers weighted by their interval. Style mixing
    regularisation: with probability ``style_mixing`` a batch's styles switch to a second latent's
    from a random layer on. DiffAugment, when on, is applied to every image D sees (R1 is taken
    through it, as ADA takes it through its augmentations).

    The due steps are a function of the step number (the Trainer's ``schedule``, else a counter),
    and that, the optimisers, the running mean path length and the last regulariser values are
    the state, so a resumed run does the same. ``ema_decay`` gives the Trainer G's EMA decay
    from a half-life in images (StyleGAN2-ADA's ema_kimg and ramp-up)."""

    def __init__(self, model: Model, cfg: Config):
        if not cfg.discriminators:
            raise ValueError("this checkpoint is generator-only (discriminators=false): it cannot be trained")
        self.model, self.cfg = model, cfg
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = lazy_adam(model.generator.parameters(), cfg.lr, betas, cfg.pl_interval if cfg.pl_weight else 0)
        self.opt_d = lazy_adam(model.discriminator.parameters(), cfg.lr, betas,
                               cfg.r1_interval if cfg.r1_gamma and cfg.disc != "projected" else 0)
        self.projected = cfg.disc == "projected"  # hinge loss, DiffAugment always, no R1 (Projected GAN)
        self.augment = diff_augment if cfg.diffaugment or self.projected else (lambda x: x)
        # the nets the phases call: in DDP on several processes; the plain phases may use their
        # torch.compile'd forms (``compile``), the regularisers the eager ones
        self.mapping = distributed.wrap(model.generator.mapping)
        self.eager_synthesis = distributed.wrap(model.generator.synthesis)
        self.eager_D = distributed.wrap(model.discriminator)
        self.synthesis, self.D = self.eager_synthesis, self.eager_D
        device = next(model.parameters()).device
        self.pl_mean = torch.zeros((), device=device)
        self.step = 0
        self.latest = {"loss_r1": torch.zeros((), device=device), "loss_pl": torch.zeros((), device=device)}

    def schedule(self, step: int, total: int) -> None:
        self.step = step

    def compile(self, **options) -> None:
        """torch.compile G's synthesis and D for the G and D phases (``--compile``). The R1 and
        path-length steps stay eager: they differentiate a gradient, and compiled graphs have no
        double backward (AOTAutograd). The compiled forms share the nets' parameters."""
        self.synthesis = torch.compile(self.eager_synthesis, **options)
        self.D = torch.compile(self.eager_D, **options)

    def ema_decay(self, images_seen: int, batch_size: int) -> float:
        """G's EMA decay for a step after G has seen ``images_seen`` images (an --init model's
        included): a half-life of ema_kimg thousand images, at most ema_rampup times the images seen
        so far: 0.5 ** (batch / half-life)."""
        half_life = self.cfg.ema_kimg * 1000
        if self.cfg.ema_rampup:
            half_life = min(half_life, images_seen * self.cfg.ema_rampup)
        return 0.5 ** (batch_size / max(half_life, 1e-8))

    def styles(self, n: int, device, update_w_avg: bool = True) -> torch.Tensor:
        """ws (n, num_ws, w_dim) of fresh latents, with style mixing at probability ``style_mixing``:
        from a random layer 1..num_ws-1 on, a second latent's (decided on the device, no sync)."""
        G, cfg = self.model.generator, self.cfg
        draw = lambda: distributed.shard(latent.sample(distributed.global_size(n), cfg.z_dim, cfg.prior, device=device))
        ws = self.mapping(draw(), update_w_avg=update_w_avg)
        if cfg.style_mixing > 0:
            cutoff = torch.randint(1, G.num_ws, (), device=device)
            cutoff = torch.where(torch.rand((), device=device) < cfg.style_mixing, cutoff, G.num_ws)
            other = self.mapping(draw())
            ws = torch.where((torch.arange(G.num_ws, device=device) >= cutoff)[None, :, None], other, ws)
        return ws

    def __call__(self, batch, autocast) -> dict[str, torch.Tensor]:
        """``batch`` = (real images (B, 3, S, S) in [-1, 1], labels or None): this process's part."""
        real = batch[0]
        D, cfg = self.model.discriminator, self.cfg
        n, device = real.shape[0], real.device

        D.requires_grad_(False)  # G's phases need no grads for D's weights
        with autocast():
            fake = self.synthesis(self.styles(n, device), noise_mode="random")
            logits = self.D(self.augment(fake)).float()
            loss_g = hinge_g(logits) if self.projected else F.softplus(-logits).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        D.requires_grad_(True)

        if cfg.pl_weight and self.step % cfg.pl_interval == 0:
            with autocast():
                ws = self.styles(max(1, n // cfg.pl_batch_shrink), device)
                fake = self.eager_synthesis(ws, noise_mode="random")
            lengths = path_lengths(fake, ws)
            # gradients through the batch's part, as ADA; the global batch's mean
            pl_mean = self.pl_mean.lerp(distributed.batch_mean(lengths), cfg.pl_decay)
            self.pl_mean.copy_(pl_mean.detach())
            loss_pl = (lengths - pl_mean).square().mean() * cfg.pl_weight
            self.opt_g.zero_grad(set_to_none=True)
            # + 0 * an output: every weight in the graph (biases, noise strengths have no second-order
            # part), as DDP needs of each backward; StyleGAN2-ADA's loss does the same
            (loss_pl * cfg.pl_interval + fake[:, 0, 0, 0].float().sum() * 0).backward()
            self.opt_g.step()
            self.latest["loss_pl"] = loss_pl.detach()

        with torch.no_grad(), autocast():
            fake = self.synthesis(self.styles(n, device), noise_mode="random")
        with autocast():
            logits_fake, logits_real = self.D(self.augment(fake)).float(), self.D(self.augment(real)).float()
            loss_d = (hinge_d(logits_real, logits_fake) if self.projected
                      else F.softplus(logits_fake).mean() + F.softplus(-logits_real).mean())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        if cfg.r1_gamma and not self.projected and self.step % cfg.r1_interval == 0:
            x = real.detach().requires_grad_(True)
            with autocast():
                logits = self.eager_D(self.augment(x))
            loss_r1 = r1_penalty(logits, x).mean() * (cfg.r1_gamma / 2)
            self.opt_d.zero_grad(set_to_none=True)
            (loss_r1 * cfg.r1_interval + logits.float().sum() * 0).backward()  # + 0 * logits: as in G's
            self.opt_d.step()
            self.latest["loss_r1"] = loss_r1.detach()

        self.step += 1
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), **self.latest, "pl_mean": self.pl_mean.clone()}

    def state_dict(self) -> dict:
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "step": self.step,
                "pl_mean": self.pl_mean.clone(), "latest": dict(self.latest)}

    def load_state_dict(self, state: dict) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.pl_mean.copy_(state["pl_mean"])
        self.latest = {k: v.to(self.pl_mean.device) for k, v in state["latest"].items()}


TECHNIQUE = Technique("stylegan", Config, Model, TrainStep, default_data="anime-faces-64",
                      batch_size=32,  # StyleGAN2-ADA's auto batch at 64 and 128 px on one GPU (16 at 256 px)
                      cpu_channels_last=True)  # G and D channels_last on the CPU too: 1.9x per step (oneDNN)
