"""Losses shared by the techniques, as plain functions."""

from __future__ import annotations

import torch


def feature_matching(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Salimans et al. 2016, 3.1, as article 002 uses it: the squared L2 distance between
    the batch means of fake and real, here averaged over elements (article 002 sums, so
    its weight depended on the layer's size). Works on D's features (N, C, H, W) and on
    images alike (article 002 matches the mean image too, against faded samples)."""
    diff = fake.float().mean(0) - real.float().mean(0)
    return diff.pow(2).mean()
