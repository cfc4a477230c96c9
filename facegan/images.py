"""Tensors <-> pictures: grids, PIL images, GIF and MP4 files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def from_pil(pictures: list[Image.Image]) -> torch.Tensor:
    """RGB pictures of one size -> (N, 3, H, W) float in [-1, 1]."""
    arr = np.stack([np.asarray(p.convert("RGB"), dtype=np.uint8) for p in pictures])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(a) for a in to_uint8(images)]


def heatmap_rgb(heat: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1] -> (N, 3, H, W) in [0, 1], the "jet" colour map (blue low, red high)."""
    h = heat.float().clamp(0, 1)
    r = (1.5 - (4 * h - 3).abs()).clamp(0, 1)
    g = (1.5 - (4 * h - 2).abs()).clamp(0, 1)
    b = (1.5 - (4 * h - 1).abs()).clamp(0, 1)
    return torch.cat([r, g, b], 1)


def overlay(images: torch.Tensor, heat: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """A heatmap drawn over images: (N, 3, H, W) in [-1, 1], (N, 1, H, W) in [0, 1] -> (N, 3, H, W) in [-1, 1]."""
    return (1 - alpha) * images.float() + alpha * (heatmap_rgb(heat) * 2 - 1)


def grid(images: torch.Tensor, ncol: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> one (rows*H, ncol*W, 3) uint8 picture, white gaps between faces."""
    arr = to_uint8(images)
    n, h, w, _ = arr.shape
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, 3), 255, np.uint8)
    for i, a in enumerate(arr):
        r, c = divmod(i, ncol)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = a
    return out


def save_grid(images: torch.Tensor, path: str | os.PathLike, ncol: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid(images, ncol)).save(path)
    return path


def upscale(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, size, size, 3), nearest neighbour so pixels stay crisp."""
    if frames.shape[1] == size:
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.NEAREST)) for f in frames])


def save_gif(frames: np.ndarray, path: str | os.PathLike, fps: int = 20) -> Path:
    """(T, H, W, 3) uint8 -> a looping GIF."""
    path = Path(path)
    pics = [Image.fromarray(f) for f in frames]
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=round(1000 / fps), loop=0, optimize=False)
    return path


def save_mp4(frames: np.ndarray, path: str | os.PathLike, fps: int = 20) -> Path:
    """(T, H, W, 3) uint8 -> an H.264 MP4 that browsers play (yuv420p, even sides)."""
    import imageio.v2 as imageio

    path = Path(path)
    h, w = frames.shape[1:3]
    frames = frames[:, : h - h % 2, : w - w % 2]
    with imageio.get_writer(path, fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                            ffmpeg_log_level="error") as writer:
        for f in frames:
            writer.append_data(f)
    return path
