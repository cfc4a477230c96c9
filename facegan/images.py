"""Tensors <-> pictures: grids, PIL images, GIF and MP4 files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from facegan.checks import InputError

# A user's picture (the app's uploads, the CLI's files). The models see 64-256 px faces and the
# face detectors need no more than MAX_SIDE px, so a picture is decoded at most that large:
# JPEGs reduced while decoding (draft: 1/2 .. 1/8 of the pixels are never made), others refused
# above MAX_PIXELS from their header, before any pixel is decoded (a 140 KB PNG can declare
# 400 megapixels). What is left is shrunk to MAX_SIDE, so memory per picture stays bounded.
MAX_PIXELS = 16_000_000  # a 4000 x 4000 picture; more than a phone photo
MAX_JPEG_PIXELS = 100_000_000  # decoded at 1/2 .. 1/8 size, never whole
MAX_SIDE = 2048
PICTURE_FORMATS = "PNG, JPEG, WebP, GIF, BMP"


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B


def luma(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W): BT.601 lightness, in the pictures' own range."""
    return (images * images.new_tensor(LUMA)[None, :, None, None]).sum(1, keepdim=True)


def keep_chroma(source: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """``edited``'s lightness with ``source``'s colour: source + (Y(edited) - Y(source)) in every
    channel, which leaves the colour differences B - Y and R - Y (Cb, Cr) exactly the source's
    (before the clamp to [-1, 1]). For an edit learned from greyscale pictures (an expression from
    FER2013), so that it changes the face and not the picture's colour."""
    return (source + (luma(edited) - luma(source))).clamp(-1, 1)


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


def open_picture(path: str | os.PathLike, name: str | None = None) -> Image.Image:
    """A user's picture file as an RGB PIL image of at most MAX_SIDE px a side, or InputError
    with a message naming the file (``name``, else its file name: never the server path).

    Greyscale of 16 or 32 bits is scaled to 8 bits (PIL's own convert clips it white), EXIF
    rotation is applied, transparency goes on white, an animation gives its first frame.
    """
    label = name or Path(path).name
    try:
        im = Image.open(path)
    except Image.DecompressionBombError:
        raise InputError(f"{label} declares more pixels than any picture this app reads "
                         f"(at most {MAX_PIXELS // 1_000_000} megapixels)") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise InputError(f"{label} is not a picture this app can read ({PICTURE_FORMATS})") from None
    try:
        with im:
            w, h = im.size
            jpeg = im.format in ("JPEG", "MPO")
            if w < 1 or h < 1 or w * h > (MAX_JPEG_PIXELS if jpeg else MAX_PIXELS):
                raise InputError(f"{label} is {w}x{h} pixels: at most {MAX_PIXELS // 1_000_000} megapixels "
                                 f"({'JPEG: ' + str(MAX_JPEG_PIXELS // 1_000_000) + ', ' if jpeg else ''}"
                                 "shrink it first)")
            if jpeg:
                im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at the smallest scale still >= MAX_SIDE
            im.load()
            out = _to_rgb8(im)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged file raises anything from OSError to struct.error
        raise InputError(f"{label} is damaged or truncated and cannot be read ({type(e).__name__})") from None
    if max(out.size) > MAX_SIDE:
        out.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return out


def _to_rgb8(im: Image.Image) -> Image.Image:
    """Any decoded mode -> RGB, 16/32-bit greyscale scaled (not clipped) to 8 bits."""
    im = ImageOps.exif_transpose(im)
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode == "F" and a.size and np.nanmax(a) <= 1.0:
            a = a * 255.0
        elif im.mode != "F" and (im.mode != "I" or (a.size and a.max() > 255)):
            a = a / 257.0  # the 16-bit range (an "I" picture of 0..255 is already 8-bit)
        a = np.nan_to_num(a, nan=0.0)
        im = Image.fromarray(np.clip(a.round(), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "P", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return im.convert("RGB")
