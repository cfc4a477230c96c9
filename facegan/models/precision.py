"""How a wrapper draws a model: bf16 where it is native and close enough to float32, else float32
(``checked_precision``), and the fixed inputs that check it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch


def inference_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """"auto": bfloat16 where the hardware computes it natively (CUDA, or a CPU with
    AVX512-BF16 / AMX: 2.2-2.3x faster, pictures within a few 1/255 of float32), else float32;
    ``FACEGAN_DTYPE=float32`` (or bfloat16) in the environment decides for "auto" instead."""
    if dtype == "auto" and os.environ.get("FACEGAN_DTYPE", "auto") != "auto":
        dtype = os.environ["FACEGAN_DTYPE"]
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"FACEGAN_DTYPE is auto, float32, bfloat16 or float16, not {dtype!r}")
    if dtype != "auto":
        return getattr(torch, dtype) if isinstance(dtype, str) else dtype
    return torch.bfloat16 if native_bf16(device) else torch.float32


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 in hardware: CUDA, or a CPU with AVX512-BF16 / AMX (oneDNN's
    check). Elsewhere (an AVX2 CPU) bf16 is emulated: a StyleGAN training step ran 15x slower."""
    return device.type == "cuda" or (device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported())


PRECISION_TOLERANCE = 2.0  # the worst pixel (in 1/255) a model may be off in bf16 and still be drawn so


def worst_pixel(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference of two picture batches in [-1, 1] as shown (clamped), in 1/255."""
    return float((a.float().clamp(-1, 1) - b.float().clamp(-1, 1)).abs().max()) * 127.5


@dataclass(frozen=True)
class Precision:
    """How a wrapper draws a model: ``dtype``, and the worst pixel of bf16 against float32 on fixed
    inputs measured when it was chosen (None: not measured, float32 asked for or all there is)."""

    dtype: torch.dtype
    worst: float | None = None

    def describe(self) -> str:
        if self.dtype == torch.float32:
            return "float32" + (f" (bf16 was {self.worst:.1f}/255 off at the worst pixel)" if self.worst else "")
        return f"{str(self.dtype).removeprefix('torch.')}" + (
            f" (within {self.worst:.1f}/255 of float32)" if self.worst is not None else "")


def checked_precision(dtype: str | torch.dtype, device: torch.device,
                      draw: Callable[[torch.dtype], torch.Tensor]) -> Precision:
    """``inference_dtype``, where "auto" keeps bf16 only when ``draw(bf16)`` (pictures of a few fixed
    inputs, drawn as the wrapper draws) is within PRECISION_TOLERANCE / 255 of ``draw(float32)`` at
    the worst pixel; else float32. A converted or user-loaded model whose pictures bf16 would
    visibly change is so drawn exactly; a dtype asked for by name is taken as it is."""
    chosen = inference_dtype(dtype, device)
    if dtype != "auto" or chosen == torch.float32 or os.environ.get("FACEGAN_DTYPE", "auto") != "auto":
        return Precision(chosen)
    with torch.no_grad():
        worst = worst_pixel(draw(torch.float32), draw(chosen))
    return Precision(chosen if worst <= PRECISION_TOLERANCE else torch.float32, worst)


def memory_format(exact: bool) -> torch.memory_format:
    """How a wrapper lays out a conv model's tensors: channels_last, oneDNN's fast path on CPU
    (1.4-1.6x for the transposed convs, pictures within 1/255), or for ``exact`` the model's own
    layout, so that a converted model's faces are its reference's bit for bit."""
    return torch.contiguous_format if exact else torch.channels_last


def exact_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """The dtype of an exact drawing: float32 ("auto" or float32 asked for); another is refused."""
    if dtype not in ("auto", "float32", torch.float32):
        raise ValueError(f"an exact drawing is float32, not {dtype}")
    return torch.float32


def probe_latents(n: int, dim: int) -> torch.Tensor:
    """The fixed latents of a precision check: N(0, 1), seed 0 (the same for every model)."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(0))


def probe_pictures(n: int, size: int) -> torch.Tensor:
    """The fixed pictures of a precision check for image-to-image models: smooth colour fields in
    [-1, 1] (8 x 8 noise, enlarged), seed 0."""
    small = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)


def autocast(device: torch.device, dtype: torch.dtype):
    """Mixed precision for inference in ``dtype`` (a no-op for float32): weights stay float32,
    the convs run in bfloat16, norms where autocast keeps them in float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
