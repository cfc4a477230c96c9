"""Losses shared by the techniques, as plain functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facegan import distributed


def feature_matching(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Salimans et al. 2016, 3.1, as article 002 uses it: the squared L2 distance between
    the batch means of fake and real, here averaged over elements (article 002 sums, so
    its weight depended on the layer's size). Works on D's features (N, C, H, W) and on
    images alike (article 002 matches the mean image too, against faded samples)."""
    diff = distributed.batch_mean(fake.float()) - distributed.batch_mean(real.float())  # the global batch's
    return diff.pow(2).mean()


def lsgan_d(real_logit: torch.Tensor, fake_logit: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN (Mao et al. 2017), D's side: real -> 1, fake -> 0."""
    return (real_logit.float() - 1).pow(2).mean() + fake_logit.float().pow(2).mean()


def lsgan_g(fake_logit: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN, G's side: fake -> 1."""
    return (fake_logit.float() - 1).pow(2).mean()


def cam_bce(source_logit: torch.Tensor, target_logit: torch.Tensor) -> torch.Tensor:
    """U-GAT-IT's generator CAM loss (paper eq. 4): G's auxiliary classifier says 1 for images
    of its source domain (``source_logit``) and 0 for images of its target domain."""
    return (F.binary_cross_entropy_with_logits(source_logit.float(), torch.ones_like(source_logit, dtype=torch.float))
            + F.binary_cross_entropy_with_logits(target_logit.float(), torch.zeros_like(target_logit, dtype=torch.float)))


def gradient_penalty(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017), as StarGAN's official ``gradient_penalty(y, x)``: the mean
    over the batch of (||d out / d x||_2 - 1)^2, ``out`` being D's scores at ``x`` (requires_grad;
    for a PatchGAN the gradient of the sum of its outputs). Differentiable (create_graph), so it
    trains D."""
    (grad,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=True)
    return (torch.linalg.vector_norm(grad.float().flatten(1), dim=1) - 1).pow(2).mean()
