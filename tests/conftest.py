"""Shared fixtures: a small messy image folder made on the fly, and the real data path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegan.data import data_root

# The tests are tiny; one thread avoids fighting over a shared CPU (several times faster there).
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")  # for the CLI tests' subprocesses

ROOT = Path(__file__).resolve().parent.parent

# (relative name, PIL mode, (width, height)): 24 readable images, every mode and format,
# some not 64x64, one in a nested subfolder.
FACE_SPECS = [
    *[(f"rgb_{i:02d}.jpg", "RGB", (64, 64)) for i in range(8)],
    *[(f"rgb_{i:02d}.png", "RGB", (64, 64)) for i in range(8, 12)],
    ("grey_00.png", "L", (64, 64)),
    ("grey_01.jpg", "L", (48, 48)),
    ("alpha_00.png", "RGBA", (64, 64)),
    ("alpha_01.webp", "RGBA", (64, 64)),
    ("palette_00.png", "P", (64, 64)),
    ("palette_01.png", "P", (40, 40)),
    ("wide_00.jpg", "RGB", (96, 64)),
    ("tall_00.webp", "RGB", (64, 128)),
    ("big_00.png", "RGB", (128, 128)),
    ("small_00.jpg", "RGB", (32, 32)),
    ("nested/deeper/rgb_sub.png", "RGB", (64, 64)),
    ("upper_00.JPG", "RGB", (64, 64)),
]
N_FACES = len(FACE_SPECS)


def random_image(rng: np.random.Generator, mode: str, size: tuple[int, int]) -> Image.Image:
    """A smooth random picture (a colour gradient plus noise), in ``mode``."""
    w, h = size
    base = rng.integers(0, 256, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    arr = (base[None, None, :] + (xx[..., None] * rng.integers(1, 4, 3)) + (yy[..., None] * rng.integers(0, 3, 3))
           + rng.integers(0, 24, (h, w, 3))) % 256
    im = Image.fromarray(arr.astype(np.uint8), "RGB")
    if mode == "RGB":
        return im
    if mode == "L":
        return im.convert("L")
    if mode == "P":
        return im.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    if mode == "RGBA":
        alpha = Image.fromarray(rng.integers(128, 256, (h, w)).astype(np.uint8), "L")
        im = im.convert("RGBA")
        im.putalpha(alpha)
        return im
    raise ValueError(mode)


def make_faces(folder: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, mode, size in FACE_SPECS:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        im = random_image(rng, mode, size)
        fmt = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[path.suffix.lower()]
        im.save(path, format=fmt)
    (folder / "broken.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (folder / "notes.txt").write_text("not an image, ignored\n")
    return folder


@pytest.fixture
def face_folder(tmp_path: Path) -> Path:
    """~24 small images of mixed formats, modes and sizes, one nested, plus a corrupt ``broken.jpg``."""
    return make_faces(tmp_path / "faces")


def shared_data_dir() -> Path | None:
    """The real data folder (env FACEGAN_DATA, else ``../shared/data`` beside the repo), or None."""
    path = data_root()
    return path if path.is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    """The real data folder; the test is skipped (with the reason) where it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("real data not found: set FACEGAN_DATA or provide ../shared/data beside the repository")
    return path


def one_line_error(capsys, *args) -> str:
    """``facegan ARGS`` in this process: exit 2 and one line on stderr, ``facegan: error: ...``; that line."""
    from facegan import cli

    assert cli.main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facegan: error: "), err
    return err[0]
