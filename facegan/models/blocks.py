"""Building blocks more than one technique uses: DCGAN's up- and down-sampling blocks (DCGAN and
AC-GAN's "dcgan" backbone) and DiffAugment (AC-GAN, DCGAN and StyleGAN with a projected D)."""

from __future__ import annotations

import torch
from torch import nn

from facegan import distributed


def up(cin: int, cout: int) -> list[nn.Module]:
    """DCGAN's G block: a 4x4 transposed conv doubling the side, BatchNorm, ReLU."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def down(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
    """DCGAN's D block: a 4x4 stride-2 conv halving the side, BatchNorm (not on the first), LeakyReLU 0.2."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, True))
    return layers


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    """DiffAugment's "color,translation,cutout" policy (Zhao et al. 2020), differentiable, for
    (N, 3, S, S) in [-1, 1]: random brightness, saturation and contrast, a shift of up to 1/8 of
    the side (zeros come in), a square of half the side cut out. Real and fake images both pass
    through it, in D's and in G's step, so D never sees an unaugmented image and G is not pushed
    to draw the augmentations (the paper's remedy for D overfitting few images per class)."""
    n, _, s, _ = x.shape
    r = lambda *shape: distributed.rand(n, *shape, device=x.device, dtype=x.dtype)  # the global batch's draws
    x = x + (r(1, 1, 1) - 0.5)
    m = x.mean(1, keepdim=True)
    x = (x - m) * (r(1, 1, 1) * 2) + m
    m = x.mean((1, 2, 3), keepdim=True)
    x = (x - m) * (r(1, 1, 1) + 0.5) + m
    # translation: an integer shift per image, by index arithmetic (zeros outside)
    shift = ((r(2) * 2 - 1) * (s // 8)).round().long()  # (N, 2): dy, dx
    ar = torch.arange(s, device=x.device)
    ys, xs = ar[None, :] - shift[:, :1], ar[None, :] - shift[:, 1:]  # (N, S) source rows, columns
    inside = ((ys >= 0) & (ys < s))[:, :, None] & ((xs >= 0) & (xs < s))[:, None, :]
    idx = ys.clamp(0, s - 1)[:, :, None] * s + xs.clamp(0, s - 1)[:, None, :]  # (N, S, S)
    x = x.flatten(2).gather(2, idx.flatten(1)[:, None].expand(-1, 3, -1)).view_as(x) * inside[:, None].to(x.dtype)
    # cutout: a square of side s/2 centred anywhere
    c = (r(2) * (s + 1)).long() - s // 4  # top-left corner: the centre anywhere in the image
    rows = (ar[None] >= c[:, :1]) & (ar[None] < c[:, :1] + s // 2)
    cols = (ar[None] >= c[:, 1:]) & (ar[None] < c[:, 1:] + s // 2)
    return x * (~(rows[:, :, None] & cols[:, None, :]))[:, None].to(x.dtype)
