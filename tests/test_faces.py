"""Face detection and framing: the bundled anime cascade and OpenCV's photo cascade."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegan import faces

ROOT = Path(__file__).resolve().parent.parent
ASTRONAUT = ROOT / "assets" / "examples" / "astronaut.jpg"


def test_photo_cascade_finds_the_astronaut_and_frames_the_head():
    im = Image.open(ASTRONAUT)
    found = faces.detect(im, "photo")
    assert len(found) == 1
    box = found[0]
    assert 150 < box.x < 220 and 40 < box.y < 110 and 70 < box.w < 130  # her face, upper middle
    left, top, right, bottom = faces.crop_box(im, box, "photo")
    assert right - left == bottom - top and left <= box.x and right >= box.x + box.w and top <= box.y
    crop = faces.crop(im, box, "photo")
    assert crop.mode == "RGB" and crop.size == (right - left, bottom - top)


def test_nothing_found_on_noise_and_both_cascades_load():
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8))
    assert faces.detect(noise, "anime") == [] and faces.detect(noise, "photo") == []
    with pytest.raises(ValueError, match="anime, photo"):
        faces.detect(noise, "cat")


def test_anime_cascade_finds_anime_faces(shared_data):
    folder = shared_data / "selfie2anime" / "128" / "testB"
    pics = sorted(folder.iterdir())[:10]
    hits = sum(bool(faces.detect(Image.open(p), "anime")) for p in pics)
    assert hits >= 8  # anime face crops: nearly all found


def test_found_share_counts_the_small_faces_found_once_enlarged():
    """64 px faces (our DCGAN's, in assets/) are found after the enlargement, noise is not."""
    small = [Image.open(p).convert("RGB").resize((64, 64), Image.Resampling.LANCZOS)
             for p in sorted((ROOT / "assets" / "examples").glob("facegan-anime-*.png"))]
    noise = [Image.fromarray(np.random.default_rng(i).integers(0, 256, (64, 64, 3), dtype=np.uint8)) for i in range(2)]
    assert len(small) >= 2
    assert faces.found_share(small) == 1.0
    assert faces.found_share(small + noise) == pytest.approx(len(small) / (len(small) + 2))
    assert faces.found_share(noise) == 0.0
    with pytest.raises(ValueError, match="no pictures"):
        faces.found_share([])


def test_a_crop_beyond_the_border_is_filled_white_and_modes_become_rgb():
    im = Image.new("LA", (100, 30), (0, 255))  # black, opaque, not as tall as the crop
    box = faces.Box(70, 0, 30, 30)
    crop = faces.crop(im, box, "photo")
    assert crop.mode == "RGB" and crop.size == (42, 42)
    assert crop.getpixel((5, 5)) == (0, 0, 0) and crop.getpixel((5, 40)) == (255, 255, 255)
    inside = faces.crop_box(im, box, "photo")
    assert inside[2] <= 100  # moved left to stay inside the picture's width
    assert faces.to_rgb(Image.new("RGBA", (4, 4), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert faces.square(Image.new("P", (300, 100)), 64).size == (64, 64)
