"""The layers StyleGAN2 (``facegan.models.stylegan``) and StyleGAN v1 (``facegan.models.stylegan1``)
are built of: equalised-lr fully connected and conv layers, the [1, 3, 3, 1] low-pass and 2x
up-sampling, bias + activation, the modulated conv, noise maps. Below both technique modules, so
that neither imports the other's layers back."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from facegan import distributed

SQRT2 = math.sqrt(2.0)
NOISE_MODES = ("random", "const", "none")


def channels(cfg, res: int) -> int:
    """Feature maps at resolution ``res``, as StyleGAN2: min(channel_base // res, channel_max)."""
    return min(cfg.channel_base // res, cfg.channel_max)


def fir_filter() -> torch.Tensor:
    """The [1, 3, 3, 1] low-pass (StyleGAN Sec. 2, after Zhang 2019) as a (4, 4) kernel summing to 1."""
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum()


def blur(x: torch.Tensor, f: torch.Tensor, pad: int, gain: float = 1.0, stride: int = 1) -> torch.Tensor:
    """Zero-pad each side by ``pad``, filter every channel with ``f`` (times ``gain``), keep every
    ``stride``-th pixel. (N, C, H, W) -> (N, C, (H + 2 pad - 4) // stride + 1, ...)."""
    c = x.shape[1]
    w = (f * gain).to(x.dtype)[None, None].expand(c, 1, *f.shape)
    return F.conv2d(F.pad(x, (pad, pad, pad, pad)), w, stride=stride, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x up-sampling: zeros between the pixels, padded (2, 1) on each axis, filtered by ``f`` with
    gain 4 (so a constant stays constant); one transposed conv. (N, C, H, W) -> (N, C, 2H, 2W)."""
    c = x.shape[1]
    w = (f * 4).to(x.dtype)[None, None].expand(c, 1, *f.shape)
    return F.conv_transpose2d(x, w, stride=2, padding=1, groups=c)


def bias_act(x: torch.Tensor, bias: torch.Tensor | None, act: bool, gain: float = 1.0,
             clamp: float | None = None) -> torch.Tensor:
    """+ bias, then leaky ReLU (0.2) times sqrt(2) (unit-gain, as every StyleGAN layer) or linear,
    times ``gain``, clamped to [-clamp, clamp] (StyleGAN2-ADA's guard for low precision)."""
    if bias is not None:
        x = x + bias.to(x.dtype).view(1, -1, *([1] * (x.ndim - 2)))
    if act:
        x = F.leaky_relu(x, 0.2) * (SQRT2 * gain)
    elif gain != 1:
        x = x * gain
    return x.clamp(-clamp, clamp) if clamp else x


class FullyConnectedLayer(nn.Module):
    """Equalised-lr linear layer (ProGAN Sec. 4.1): weights stored N(0, 1) / lr_mul and scaled by
    lr_mul / sqrt(in) when used, so Adam's step is the same for every layer; (N, in) -> (N, out)."""

    def __init__(self, in_features: int, out_features: int, activation: bool = False, bias_init: float = 0.0,
                 lr_multiplier: float = 1.0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain)
        return bias_act(x, self.bias * self.bias_gain, self.activation)


class Conv2dLayer(nn.Module):
    """Equalised-lr conv of D: ``down`` = low-pass then stride 2, equal to the conv at full
    resolution carried one pixel past each border, then the filter and every 2nd pixel.
    (N, in, H, W) -> (N, out, H or H/2, ...)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: bool = True, down: bool = False, conv_clamp: float | None = None):
        super().__init__()
        self.activation, self.down, self.conv_clamp, self.padding = activation, down, conv_clamp, kernel_size // 2
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        if down:
            self.register_buffer("resample_filter", fir_filter(), persistent=False)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        if self.down:  # the conv's padding and the down-sampling's (1) before one strided conv
            x = F.conv2d(blur(x, self.resample_filter, self.padding + 1), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        clamp = self.conv_clamp * gain if self.conv_clamp else None
        return bias_act(x, self.bias, self.activation, gain, clamp)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     up: bool = False, resample_filter: torch.Tensor | None = None) -> torch.Tensor:
    """StyleGAN2's modulated conv (Sec. 2.2, Eq. 1-3): each image's input channels scaled by its
    style s (N, in), then, with ``demodulate``, each output channel divided by
    sqrt(sum_{i,k} (w_oik s_i)^2 + 1e-8), which gives unit output variance for unit-variance
    input, in place of StyleGAN's AdaIN. Computed as scale -> shared conv -> scale (the same
    numbers as a conv with per-image weights). ``up``: 2x up-sampling (as ``upsample2d``) then the
    conv, the up-sampled image carried one pixel past each border rather than zero-padded (its
    zeros between pixels padded (3, 2)): StyleGAN2's fused form, one transposed conv then a blur.
    x (N, in, H, W), weight (out, in, k, k) -> (N, out, H or 2H, ...)."""
    x = x * styles.to(x.dtype)[:, :, None, None]
    if up:
        # the transposed conv with the flipped kernel is the conv on the zero-stuffed image
        x = F.conv_transpose2d(x, weight.flip([2, 3]).transpose(0, 1).to(x.dtype), stride=2)
        x = blur(x, resample_filter, pad=(5 - weight.shape[-1]) // 2, gain=4)
    else:
        x = F.conv2d(x, weight.to(x.dtype), padding=weight.shape[-1] // 2)
    if demodulate:  # elementwise (not a matmul) so that autocast keeps it in float32
        wsq = weight.float().square().sum([2, 3])  # (out, in)
        d = (styles.float().square()[:, None, :] * wsq[None]).sum(2).add(1e-8).rsqrt()  # (N, out)
        x = x * d.to(x.dtype)[:, :, None, None]
    return x


def random_noise(n: int, resolution: int, device, generator: torch.Generator | None = None) -> torch.Tensor:
    """A synthesis layer's random noise map (n, 1, r, r): from ``generator`` (drawn where it lives,
    then moved: a CPU generator for a GPU model), else the default one (in training, the global
    batch's draw: ``distributed.randn``)."""
    if generator is None:
        return distributed.randn(n, 1, resolution, resolution, device=device)
    return torch.randn((n, 1, resolution, resolution), generator=generator, device=generator.device).to(device)
