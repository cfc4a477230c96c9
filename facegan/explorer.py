"""The DCGAN explorer as a Python API (what the app's DCGAN tab calls).

Every face is named by its hex code (``latent.py``), so anything shown can be
reproduced: ``Explorer(model).faces(["82763953b2740fef4d321dde7af002f7"])``.
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facegan import images as img_lib
from facegan import latent, models


@dataclass
class Ranked:
    """Faces sorted by D's score, best first: codes, scores in [0, 1] and images (N, 3, H, W)."""

    codes: list[str]
    scores: list[float]
    images: torch.Tensor




def _probe(model: torch.nn.Module, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """4 fixed faces of ``model`` with its weights in ``dtype``, as the Explorer draws them."""
    if next(model.parameters()).dtype != dtype:
        model = copy.deepcopy(model).to(dtype)
    z = models.probe_latents(4, model.latent_dim).clamp(-1, 1).to(device, dtype)
    return model.eval().generate(z).float()


class Explorer:
    """Sample, rank, steer and morph faces of a model. Codes <-> latents follow the model's
    prior (``model.config.prior``: uniform [-1, 1] by default, or normal; see ``latent.py``)."""

    def __init__(self, model: torch.nn.Module, batch: int = 256, dtype: str | torch.dtype = "auto",
                 exact: bool = False):
        """``dtype``: "auto" runs in bfloat16 where the hardware computes it natively (CUDA, or a
        CPU with AVX512-BF16/AMX: ~2.3x faster, faces within 2/255 of float32), else float32.
        A copy of the model is made when its dtype changes; ``model`` itself is left as it is.
        ``exact``: the model's own float32 forward in its own memory layout, so that a converted
        model's faces are its reference's bit for bit (the CLI's mode; the app's channels_last
        path is ~1.6x faster and within 1/255)."""
        if exact:
            dtype = models.exact_dtype(dtype)
        self.device = next(model.parameters()).device
        self.precision = models.checked_precision(dtype, self.device, lambda dt: _probe(model, dt, self.device))
        self.dtype = self.precision.dtype
        if next(model.parameters()).dtype != self.dtype:
            model = copy.deepcopy(model).to(self.dtype)
        # channels_last: oneDNN's fast path for the (transposed) convs, ~1.6x on CPU.
        self.model = model.eval().to(memory_format=models.memory_format(exact))
        self.nz = model.latent_dim
        self.prior = latent.check_prior(getattr(getattr(model, "config", None), "prior", "uniform"))
        self.batch = batch

    # -- codes -> pictures ------------------------------------------------------

    def z(self, codes: list[str]) -> torch.Tensor:
        """Codes -> (N, nz) latents. Raises latent.CodeError for an invalid code."""
        return latent.codes_to_z(codes, self.nz, self.prior)

    def code(self, z: torch.Tensor) -> str:
        """(nz,) latent -> its code under the model's prior (e.g. the mean of some faces)."""
        return latent.z_to_code(z, self.prior)

    @torch.inference_mode()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(N, nz) -> (N, 3, H, W) in [-1, 1], in batches."""
        return torch.cat([self.model.generate(part.to(self.device, self.dtype)).float().cpu()
                          for part in z.split(self.batch)])

    def faces(self, codes: list[str], size: int | None = None) -> list[Image.Image]:
        """Codes -> PIL faces, enlarged to ``size`` px (Lanczos) for display when given."""
        pics = img_lib.to_pil(self.generate(self.z(codes)))
        if size:
            pics = [p.resize((size, size), Image.Resampling.LANCZOS) for p in pics]
        return pics

    def face(self, code: str, size: int | None = None) -> Image.Image:
        return self.faces([code], size)[0]

    def grid(self, codes: list[str], columns: int | None = None) -> np.ndarray:
        return img_lib.grid(self.generate(self.z(codes)), columns)

    def random_codes(self, count: int, seed: int | None = None) -> list[str]:
        return latent.random_codes(count, self.nz, seed)

    # -- ranking by D (article 002) --------------------------------------------

    @torch.inference_mode()
    def rank(self, codes: list[str]) -> Ranked:
        """Score every face with D and sort, best (most 'real') first."""
        images = self.generate(self.z(codes))
        scores = torch.cat([self.model.score(part.to(self.device, self.dtype)).cpu()
                            for part in images.split(self.batch)])
        order = torch.argsort(scores, descending=True, stable=True)
        return Ranked([codes[i] for i in order.tolist()], scores[order].tolist(), images[order])

    # -- offset vectors (article 002) -------------------------------------------

    def offset(self, good: list[str], bad: list[str]) -> torch.Tensor:
        """mean(good) - mean(bad) in latent space: (nz,)."""
        return latent.offset_vector(self.z(good), self.z(bad))

    def steer(self, codes: list[str], good: list[str], bad: list[str], strength: float = 1.0) -> list[str]:
        """The codes moved by ``strength`` times the good-minus-bad offset."""
        return latent.steer(codes, good, bad, strength, self.nz, self.prior)

    # -- morphing ---------------------------------------------------------------

    def morph_frames(self, codes: list[str], steps: int = 24, mode: str = "slerp", loop: bool = True,
                     size: int = 256) -> np.ndarray:
        """(T, size, size, 3) uint8 frames through the faces of ``codes``."""
        frames = self.generate(latent.path(self.z(codes), steps, mode, loop))
        return img_lib.upscale(img_lib.to_uint8(frames), size)

    def morph(self, codes: list[str], steps: int = 24, mode: str = "slerp", fps: int = 20, loop: bool = True,
              size: int = 256, out_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
        """A GIF and an MP4 through the faces of ``codes``; returns their paths."""
        frames = self.morph_frames(codes, steps, mode, loop, size)
        out = Path(out_dir or tempfile.mkdtemp(prefix="facegan-morph-"))
        out.mkdir(parents=True, exist_ok=True)
        stem = f"morph-{mode}-" + "-".join(c[:6] for c in codes[:4])
        return (img_lib.save_gif(frames, out / f"{stem}.gif", fps),
                img_lib.save_mp4(frames, out / f"{stem}.mp4", fps))
