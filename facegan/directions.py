"""Directions in StyleGAN's W that mean something: moving a face along one changes one thing
about it (pose, hair length, smile, ...), the sliders of the studio's "Edit along a direction".

Closed form, no labels, no sampling: SeFa (Shen & Zhou 2021, "Closed-Form Factorization of
Latent Semantics in GANs", Sec. 3.2). A style layer turns w into its styles by an affine map
A w + b, so moving w by n changes the styles by A n; the directions that change the chosen
layers' styles most are the top eigenvectors of A^T A, A the chosen layers' affine weights
stacked (rows, w_dim). As genforce/sefa, each row of A (one style channel) is first scaled to
unit norm, so every channel counts alike whatever its layer's scale, and the eigenvalues sum to
the number of rows: an eigenvalue over that sum is the direction's share.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Directions:
    """SeFa's directions for the styles ``layers``, the strongest first."""

    layers: tuple[int, ...]
    vectors: torch.Tensor  # (k, w_dim) float32 on the CPU: unit norm, orthogonal
    eigenvalues: torch.Tensor  # (k,) float64, descending, > 0

    def __len__(self) -> int:
        return len(self.vectors)

    def share(self, index: int) -> float:
        """Direction ``index``'s eigenvalue over the sum of all of them (the rows of A), in [0, 1]."""
        return float(self.eigenvalues[index] / self.total)

    @property
    def total(self) -> float:
        return float(self.eigenvalues.sum())


def affine_matrix(model, layers) -> torch.Tensor:
    """A: the effective weights (weight * weight_gain) of the affines of the styles ``layers``
    (indices, see ``Model.style_affines``), stacked, each row scaled to unit norm; (rows, w_dim) float64."""
    affines = model.style_affines()
    a = torch.cat([affines[i].weight.detach().double().cpu() * affines[i].weight_gain for i in layers])
    return a / a.norm(dim=1, keepdim=True).clamp_min(1e-30)  # a dead channel (a zero row) stays zero


def sefa(model, layers) -> Directions:
    """The eigenvectors of A^T A (``affine_matrix``) by eigenvalue, largest first, as directions in W.

    Only the eigenvalues above 1e-9 of the largest are kept: with fewer style channels than
    w_dim (a single late layer) the rest span A's null space, where moving w changes nothing.
    An eigenvector's sign is arbitrary; here its largest component is positive, so a direction
    (and "+3 along direction 0") is the same on every machine."""
    layers = tuple(layers)
    a = affine_matrix(model, layers)
    values, vectors = torch.linalg.eigh(a.T @ a)  # ascending; columns
    values, vectors = values.flip(0), vectors.flip(1).T.contiguous()
    keep = values > 1e-9 * values[0].clamp_min(1e-300)
    values, vectors = values[keep], vectors[keep]
    sign = vectors.gather(1, vectors.abs().argmax(1, keepdim=True)).sign()
    return Directions(layers, (vectors * sign).float(), values)
