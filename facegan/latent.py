"""Latent codes: hex codes and bytes, seeds, lerp / slerp, offset vectors, morph frames.

Article 002 shows each latent dimension as a byte 0-255, so a 16-dim z is a
32-hex-digit code that reproduces a face exactly. How a byte becomes a number
depends on the model's prior (``Config.prior``):

    uniform [-1, 1] (facegan's DCGAN):   byte b  ->  z = b / 127.5 - 1       (0 -> -1, 255 -> 1)
    normal N(0, 1) (e.g. pytorch/examples): byte b  ->  z = Phi^-1((b + 0.5) / 256)

The normal mapping puts each byte at the middle of its 1/256 slice of the normal's
probability, so a code still names a face, every byte round-trips, and uniformly
random bytes are (quantised) samples of the prior: ``random_codes`` serves both.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from facegan.checks import quote

PRIORS = ("uniform", "normal")


class CodeError(ValueError):
    """A hex code that is not 2 * nz hex digits."""


def check_prior(prior: str) -> str:
    if prior not in PRIORS:
        raise ValueError(f"the latent prior is one of {', '.join(PRIORS)}, not {quote(prior)}")
    return prior


def bytes_to_z(values, prior: str = "uniform") -> torch.Tensor:
    """(..., nz) ints in 0..255 -> (..., nz) float32 latents: in [-1, 1] for the uniform prior,
    the normal quantiles of (b + 0.5) / 256 (about +-2.88 at the ends) for the normal one."""
    if check_prior(prior) == "uniform":
        return torch.as_tensor(values, dtype=torch.float32) / 127.5 - 1.0
    b = torch.as_tensor(values, dtype=torch.float64)
    return torch.special.ndtri((b + 0.5) / 256).to(torch.float32)


def z_to_bytes(z: torch.Tensor, prior: str = "uniform") -> torch.Tensor:
    """(..., nz) float -> (..., nz) uint8. Uniform prior: the nearest byte (clamped to [-1, 1]).
    Normal prior: the byte whose 1/256 slice of probability holds z (tails go to 0 and 255)."""
    if check_prior(prior) == "uniform":
        return ((z.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    p = torch.special.ndtr(z.detach().to(torch.float64))
    return (p * 256).floor().clamp(0, 255).to(torch.uint8)


def code_to_bytes(code: str, nz: int = 16) -> list[int]:
    """'82763953b2740fef4d321dde7af002f7' -> [130, 118, ...]. Spaces and a 0x prefix are ignored."""
    clean = re.sub(r"\s+", "", str(code)).lower().removeprefix("0x")
    if len(clean) != 2 * nz or not re.fullmatch(r"[0-9a-f]*", clean):
        length = f" ({len(clean):,} characters)" if len(clean) != 2 * nz else ""
        raise CodeError(f"a face code is {2 * nz} hex digits (0-9, a-f); got {quote(code)}{length}")
    return [int(clean[i:i + 2], 16) for i in range(0, len(clean), 2)]


def bytes_to_code(values) -> str:
    return "".join(f"{int(v):02x}" for v in values)


def floats_to_hex(values: torch.Tensor) -> str:
    """A latent as text, exactly: each value as its float16 bits, 4 hex digits, big-endian
    (what a projected face's ``w:`` code holds). Values are rounded to float16 first; NaN, Inf
    and values beyond float16's range (65504) are refused."""
    a = values.detach().float().cpu().reshape(-1).numpy()
    if not np.isfinite(a).all() or np.abs(a).max(initial=0) > 65504:
        raise CodeError("a latent with NaN, infinite or huge (> 65504) values has no code")
    return a.astype(">f2").tobytes().hex()


def hex_to_floats(text: str, n: int, what: str = "a W code") -> torch.Tensor:
    """``floats_to_hex``'s text -> (n,) float32 (float16 values, exactly); CodeError naming
    ``what`` for anything else. Spaces are ignored."""
    clean = re.sub(r"\s+", "", str(text)).lower()
    if len(clean) != 4 * n or not re.fullmatch(r"[0-9a-f]*", clean):
        length = f" ({len(clean):,} characters)" if len(clean) != 4 * n else ""
        raise CodeError(f"{what} is {4 * n} hex digits (0-9, a-f: 4 per value, float16); got {quote(text)}{length}")
    a = np.frombuffer(bytes.fromhex(clean), dtype=">f2").astype(np.float32)
    if not np.isfinite(a).all():
        raise CodeError(f"{what} holds a NaN or infinite value")
    return torch.from_numpy(a)


# A StyleGAN face's code (facegan.studio, facegan.project): a seed's or z code (no prefix), a point
# in W ("w:" and w_dim float16 values as hex) or a W+ latent ("wp:" and num_ws x w_dim of them).
SPACES = {"z": "", "w": "w:", "w+": "wp:"}  # what a code names, and its prefix
MAX_WPLUS_VALUES = 4096  # num_ws x w_dim of a W+ code (the CPU preset: 10 x 128 at 64 px); more: a file


def latent_code(values: torch.Tensor, num_ws: int, w_dim: int) -> str | None:
    """A projected face's code: a point in W, (w_dim,) or (1, w_dim) -> ``w:<hex>``; a W+
    latent (num_ws, w_dim) -> ``wp:<hex>``, None when it has more than MAX_WPLUS_VALUES values.
    The values are rounded to float16 (``floats_to_hex``): the code draws those."""
    if values.numel() == w_dim:
        return SPACES["w"] + floats_to_hex(values)
    if values.numel() != num_ws * w_dim:
        raise ValueError(f"a latent of this checkpoint is (1 or {num_ws}, {w_dim}), not {tuple(values.shape)}")
    return SPACES["w+"] + floats_to_hex(values) if values.numel() <= MAX_WPLUS_VALUES else None


def code_to_z(code: str, nz: int = 16, prior: str = "uniform") -> torch.Tensor:
    """A hex code -> (nz,) latent of ``prior`` (in [-1, 1] for the uniform one)."""
    return bytes_to_z(code_to_bytes(code, nz), prior)


def codes_to_z(codes: list[str], nz: int = 16, prior: str = "uniform") -> torch.Tensor:
    """Several codes -> (N, nz) latents (``code_to_z`` of each)."""
    return torch.stack([code_to_z(c, nz, prior) for c in codes])


def z_to_code(z: torch.Tensor, prior: str = "uniform") -> str:
    """(nz,) latent -> its hex code (each dimension to its byte, see ``z_to_bytes``)."""
    return bytes_to_code(z_to_bytes(z, prior).tolist())


def sample(n: int, nz: int, prior: str = "uniform", generator: torch.Generator | None = None,
           device=None) -> torch.Tensor:
    """(n, nz) latents from the training prior: uniform in [-1, 1], or N(0, 1) for "normal"."""
    if check_prior(prior) == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    return torch.rand(n, nz, generator=generator, device=device) * 2 - 1


def random_codes(n: int, nz: int = 16, seed: int | None = None) -> list[str]:
    """``n`` random codes, reproducible from ``seed``: uniform bytes sample either prior."""
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    values = torch.randint(0, 256, (n, nz), generator=g)
    return [bytes_to_code(row.tolist()) for row in values]


def lerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the great circle (by angle), falling back to lerp
    for (anti)parallel vectors. Norms are interpolated linearly, so a uniform-prior
    latent stays inside the cube's typical radius."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.acos(cos)
    so = torch.sin(omega)
    t = torch.as_tensor(t, dtype=a.dtype)
    direction = torch.where(so.abs() < 1e-4, lerp(ua, ub, t),
                            (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / so.clamp_min(eps))
    return direction * lerp(na, nb, t)


def path(latents: torch.Tensor, steps: int, mode: str = "slerp", loop: bool = False) -> torch.Tensor:
    """Frames through K >= 2 latents (K, nz): ``steps`` frames per segment, the last
    latent included (or, with ``loop``, back to the first). -> (T, nz)."""
    if latents.shape[0] < 2:
        raise ValueError("a morph needs at least 2 faces")
    if mode not in ("lerp", "slerp"):
        raise ValueError(f"mode is 'lerp' or 'slerp', not {mode!r}")
    f = lerp if mode == "lerp" else slerp
    points = torch.cat([latents, latents[:1]]) if loop else latents
    t = torch.arange(steps, dtype=latents.dtype)[:, None] / steps
    frames = [f(points[i][None], points[i + 1][None], t) for i in range(len(points) - 1)]
    if not loop:
        frames.append(points[-1:])
    return torch.cat(frames)


def offset_vector(good: torch.Tensor, bad: torch.Tensor) -> torch.Tensor:
    """Article 002: mean(good) - mean(bad), the direction from bad faces to good ones. (K, nz) each."""
    if len(good) == 0 or len(bad) == 0:
        raise ValueError("an offset vector needs at least one good and one bad face")
    return good.float().mean(0) - bad.float().mean(0)


def apply_offset(z: torch.Tensor, offset: torch.Tensor, strength: float = 1.0,
                 prior: str = "uniform") -> torch.Tensor:
    """Add ``strength`` * offset; for the uniform prior, clamp back into its box [-1, 1]
    (a normal prior has no box: its codes saturate at bytes 0 and 255 instead)."""
    moved = z + strength * offset
    return moved.clamp(-1, 1) if check_prior(prior) == "uniform" else moved


def steer(codes: list[str], good: list[str], bad: list[str], strength: float, nz: int,
          prior: str = "uniform") -> list[str]:
    """Face codes moved by ``strength`` times the good-minus-bad offset of article 002."""
    z, g, b = (codes_to_z(c, nz, prior) for c in (codes, good, bad))
    return [z_to_code(m, prior) for m in apply_offset(z, offset_vector(g, b), strength, prior)]
