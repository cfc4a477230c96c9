"""StyleGAN (v1)'s synthesis network (Karras et al. 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks"): what ``stylegan.Config(architecture="stylegan1")`` builds, for
checkpoints converted from genforce (``facegan.convert.stylegan``). Such a model draws, mixes,
interpolates, projects and edits like a StyleGAN2 one; it is generator-only and not trained here.

The mapping network and the truncation are StyleGAN2's (``stylegan.MappingNetwork``: the same
equalised-lr MLP, w_avg, psi and cutoff). The synthesis network starts from a learned 4x4 constant;
each resolution has two layers, each a 3x3 conv with equalised lr (gain sqrt 2; the first layer of
all has the constant instead), the first of a resolution after 2x up-sampling and followed by the
[1, 2, 1] blur; then, in every layer, + noise x a learned strength per channel, + bias, leaky ReLU
0.2, instance norm and AdaIN: x (1 + scale) + shift, (scale, shift) a dense layer (``affine``) of
the layer's w. Layer i reads style i, so num_ws is 2 per resolution (16 at 512 px). A 1x1 toRGB
at the top resolution makes the image: no skip connections, no demodulation (progressive
growing's lower toRGBs are not kept).

Up-sampling is nearest-neighbour then the conv below 128 px; from 128 px the two are fused into one
transposed conv whose 4x4 kernel is the 3x3 one summed over its four 2x2 shifts, as StyleGAN's TF
code and genforce (``fused_scale="auto"``) do. The fused form equals the unfused one with the
kernel flipped, so which layers are fused is part of the model (a file trained with
``fused_scale`` True or False everywhere would draw other images here).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from facegan.models.stylegan_layers import (
    NOISE_MODES,
    SQRT2,
    Conv2dLayer,
    FullyConnectedLayer,
    blur,
    channels,
    random_noise,
)

if TYPE_CHECKING:  # a type only: stylegan builds this module's network, not the other way round
    from facegan.models.stylegan import Config

FUSED_MIN_RES = 128  # up-sampling convs at this resolution and above are fused (TF StyleGAN's "auto")


def blur_filter() -> torch.Tensor:
    """StyleGAN's [1, 2, 1] low-pass after each up-sampling conv, as a (3, 3) kernel summing to 1."""
    f = torch.tensor([1.0, 2.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum()


class SynthesisLayer(nn.Module):
    """(The constant, or [2x up-sampling,] the 3x3 conv [, blur]), + noise * noise_strength, + bias,
    lrelu 0.2, instance norm, AdaIN of w. x (N, in, H, W) (None for the constant) -> (N, out, r, r)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.resolution, self.up = resolution, up
        self.fused = up and resolution >= FUSED_MIN_RES
        if in_channels == 0:
            self.const = nn.Parameter(torch.ones(out_channels, resolution, resolution))
        else:
            self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
            self.weight_gain = SQRT2 / math.sqrt(in_channels * 9)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))  # the "const" noise
        self.affine = FullyConnectedLayer(w_dim, 2 * out_channels)  # AdaIN's (scale, shift) from w
        if up:
            self.register_buffer("blur_filter", blur_filter(), persistent=False)

    def forward(self, x: torch.Tensor | None, w: torch.Tensor, noise_mode: str = "random",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        if x is None:
            x = self.const[None].expand(w.shape[0], -1, -1, -1)
        else:
            weight = self.weight * self.weight_gain
            if self.fused:  # nearest up-sampling and the conv (with the kernel flipped) in one transposed conv
                weight = F.pad(weight, (1, 1, 1, 1))
                weight = weight[:, :, 1:, 1:] + weight[:, :, :-1, 1:] + weight[:, :, 1:, :-1] + weight[:, :, :-1, :-1]
                x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2, padding=1)
            else:
                if self.up:
                    x = F.interpolate(x, scale_factor=2, mode="nearest")
                x = F.conv2d(x, weight, padding=1)
            if self.up:
                x = blur(x, self.blur_filter, pad=1)
        if noise_mode == "random":
            x = x + random_noise(x.shape[0], self.resolution, x.device, noise_generator) * self.noise_strength.view(1, -1, 1, 1)
        elif noise_mode == "const":
            x = x + self.noise_const * self.noise_strength.view(1, -1, 1, 1)
        x = F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2)
        x = x - x.mean([2, 3], keepdim=True)
        x = x * x.square().mean([2, 3], keepdim=True).add(1e-8).rsqrt()
        scale, shift = self.affine(w)[:, :, None, None].chunk(2, dim=1)
        return x * (scale + 1) + shift


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> images (N, 3, S, S), not clamped (about [-1, 1]); ``layer{i}``
    reads ws[:, i] at 2^(i // 2 + 2) px, ``torgb`` makes the image."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.resolutions = cfg.resolutions
        self.num_ws = 2 * len(self.resolutions)
        for k, res in enumerate(self.resolutions):
            cin = channels(cfg, res // 2) if res > 4 else 0
            setattr(self, f"layer{2 * k}", SynthesisLayer(cin, channels(cfg, res), cfg.w_dim, res, up=res > 4))
            setattr(self, f"layer{2 * k + 1}", SynthesisLayer(channels(cfg, res), channels(cfg, res), cfg.w_dim, res))
        self.torgb = Conv2dLayer(channels(cfg, cfg.image_size), 3, 1, activation=False)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode is one of {', '.join(NOISE_MODES)}, not {noise_mode!r}")
        x = None
        for i in range(self.num_ws):
            x = getattr(self, f"layer{i}")(x, ws[:, i], noise_mode, noise_generator)
        return self.torgb(x)

    def style_affines(self) -> list[FullyConnectedLayer]:
        """The dense layer of each style index (num_ws of them), whose rows make AdaIN's scales and shifts."""
        return [getattr(self, f"layer{i}").affine for i in range(self.num_ws)]
