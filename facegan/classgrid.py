"""Faces of chosen classes from a class-conditional model (what the app's AC-GAN tab calls).

A face's code is its class and its latent: ``"blue:3f2a..."`` (the class name, a colon, the
latent as hex, one byte per dimension as the DCGAN explorer's codes), so a code reproduces its
face exactly. ``ClassGrid(model).grid(["blue", "red"], columns=8, seed=0)`` gives a row per class
with the same latent down each column; ``.interpolate(a, b, classes)`` walks from one latent to
another with a row per class.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facegan import checks, latent, models
from facegan import images as img_lib


@dataclass
class Grid:
    """A row per class, a column per latent: pictures and their codes, row by row."""

    classes: list[str]
    codes: list[str]  # one per column: the latent's hex
    pictures: list[list[Image.Image]]  # [row][column]

    def cells(self) -> list[tuple[Image.Image, str]]:
        """(picture, face code) row by row, for a gallery."""
        return [(p, f"{c}:{code}") for c, row in zip(self.classes, self.pictures) for p, code in zip(row, self.codes)]


class ClassGrid:
    """Grids, single faces and interpolations of a class-conditional model (``model.grid``,
    ``model.generate(z, classes)``, ``model.classes``)."""

    def __init__(self, model: torch.nn.Module, dtype: str | torch.dtype = "auto", exact: bool = False):
        """``dtype`` and ``exact`` as the Explorer's: "auto" is bf16 where native and close enough;
        ``exact`` draws the model's own float32 forward (the CLI's mode)."""
        if not hasattr(model, "class_index"):
            raise ValueError(f"a ClassGrid needs a class-conditional model (acgan), not {type(model).__name__}")
        if exact:
            dtype = models.exact_dtype(dtype)
        self.model = model.eval().to(memory_format=models.memory_format(exact))
        self.device = next(model.parameters()).device
        self.precision = models.checked_precision(dtype, self.device, self._probe)
        self.dtype = self.precision.dtype
        self.nz = model.latent_dim
        self.prior = latent.check_prior(model.config.prior)
        self.classes = model.classes

    def _probe(self, dtype: torch.dtype) -> torch.Tensor:
        """A fixed face of each of the first 4 classes, drawn in ``dtype`` as the grid draws."""
        classes = self.model.classes[:4]
        z = models.probe_latents(len(classes), self.model.latent_dim).clamp(-1, 1).to(self.device)
        with models.autocast(self.device, dtype):
            return self.model.generate(z, self.model.class_index(list(classes))).float()

    def measured(self, classes: list[str] | None = None) -> list[dict] | None:
        """The figures ``benchmarks/acgan_quality.py --write`` stored in the checkpoint's config.json,
        a row per class (all when None): class, intra-class diversity (1.0: as diverse as the real
        faces of the class, near 0: one face), class accuracy, real images of the class. None when
        the checkpoint was not measured."""
        m = getattr(self.model, "extra_config", {}).get("measured")
        rows = m.get("classes") if isinstance(m, dict) else None
        if not isinstance(rows, dict):
            return None

        def number(v):
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

        out = []
        for c in classes or self.classes:
            r = rows.get(c) if isinstance(rows.get(c), dict) else {}
            out.append({"class": c, "diversity": number(r.get("diversity")), "accuracy": number(r.get("accuracy")),
                        "real images": number(r.get("images"))})
        return out

    # -- codes ------------------------------------------------------------------

    def code(self, cls: str, z: torch.Tensor) -> str:
        return f"{cls}:{latent.z_to_code(z, self.prior)}"

    def parse(self, code: str) -> tuple[str, str]:
        """``"blue:3f2a..."`` -> ("blue", "3f2a..."); the class must be one of the model's."""
        code = checks.text(code, "face code", 1000).strip()
        cls, sep, hexes = code.rpartition(":")
        if not sep:
            raise checks.InputError(f"a face code is <class>:<{2 * self.nz} hex digits>, e.g. "
                                    f"{self.classes[0]}:{'00' * self.nz}; got {checks.quote(code)}")
        self.model.class_index(cls)  # a LabelError naming the classes for an unknown one
        latent.code_to_bytes(hexes, self.nz)  # a CodeError for a bad latent
        return cls, hexes.lower()

    def latents(self, seed: int, count: int) -> list[str]:
        return latent.random_codes(count, self.nz, seed)

    def steer(self, hexes: list[str], good: list[str], bad: list[str], strength: float = 1.0) -> list[str]:
        """Latents (hex) moved by ``strength`` times the good-minus-bad offset, as the Explorer's."""
        return latent.steer(hexes, good, bad, strength, self.nz, self.prior)

    def _z(self, hexes: list[str]) -> torch.Tensor:
        return latent.codes_to_z(hexes, self.nz, self.prior).to(self.device)

    def _pictures(self, x: torch.Tensor) -> list[Image.Image]:
        return img_lib.to_pil(x.float())

    # -- pictures ---------------------------------------------------------------

    @torch.no_grad()
    def grid(self, classes: list[str] | None, columns: int, seed: int) -> Grid:
        """A row per class (all when None), ``columns`` latents from ``seed``, the same down each column."""
        classes = list(classes or self.classes)
        hexes = self.latents(seed, columns)
        return Grid(classes, hexes, [self._pictures(row) for row in self.draw(classes, hexes)])

    @torch.no_grad()
    def draw(self, classes: list[str], hexes: list[str]) -> torch.Tensor:
        """(R, C, 3, H, W) in [-1, 1]: a row per class, a column per latent (hex codes)."""
        y = self.model.class_index(classes)  # an unknown name: a message naming the known ones
        with models.autocast(self.device, self.dtype):
            return self.model.grid(self._z(hexes), y).float()

    @torch.no_grad()
    def face(self, code: str) -> Image.Image:
        cls, hexes = self.parse(code)
        with models.autocast(self.device, self.dtype):
            return self._pictures(self.model.generate(self._z([hexes]), cls))[0]

    @torch.no_grad()
    def interpolation_frames(self, a: str, b: str, classes: list[str] | None, steps: int = 24,
                             mode: str = "slerp", loop: bool = True, size: int = 128) -> np.ndarray:
        """Frames (T, size, R * size, 3) uint8 walking from latent ``a`` to ``b`` (hex, or codes whose
        latent is taken), one face per class side by side."""
        classes = list(classes or self.classes)
        y = self.model.class_index(classes)
        hexes = [self.parse(c)[1] if ":" in c else latent.bytes_to_code(latent.code_to_bytes(c, self.nz))
                 for c in (a, b)]
        zs = latent.path(self._z(hexes), steps, mode, loop)  # (T, nz)
        with models.autocast(self.device, self.dtype):
            x = self.model.grid(zs, y).float()  # (R, T, 3, H, W)
        frames = img_lib.to_uint8(x.permute(1, 0, 2, 3, 4).flatten(0, 1))  # (T * R, H, W, 3)
        frames = img_lib.upscale(frames, size).reshape(zs.shape[0], len(classes), size, size, 3)
        return np.concatenate(list(frames.transpose(1, 0, 2, 3, 4)), axis=2)  # side by side

    def interpolate(self, a: str, b: str, classes: list[str] | None, steps: int = 24, mode: str = "slerp",
                    fps: int = 20, loop: bool = True, size: int = 128,
                    out_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
        """A GIF and an MP4 of ``interpolation_frames``; returns their paths."""
        frames = self.interpolation_frames(a, b, classes, steps, mode, loop, size)
        out = Path(out_dir or ".")
        out.mkdir(parents=True, exist_ok=True)
        stem = f"acgan-{mode}-{len(classes or self.classes)}-classes"
        return img_lib.save_gif(frames, out / f"{stem}.gif", fps), img_lib.save_mp4(frames, out / f"{stem}.mp4", fps)
