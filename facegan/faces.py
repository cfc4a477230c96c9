"""Face detection and cropping for the image-to-image techniques (U-GAT-IT, StarGAN).

Two OpenCV cascades: nagadomi's LBP anime-face cascade (bundled in ``facegan/assets``) for
illustrations, OpenCV's frontal-face Haar cascade for photos. A detected box is widened to a
square crop with the margin the training sets have (hair and chin in frame), so a user's
picture looks like the faces the model was trained on.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from facegan.checks import quote

ANIME_CASCADE = Path(__file__).resolve().parent / "assets" / "lbpcascade_animeface.xml"
KINDS = ("anime", "photo")
CROPS = ("auto", *KINDS, "none")  # what a user may ask of the face crop


@dataclass(frozen=True)
class Box:
    """A face in image pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


@cache
def _cascade(kind: str):
    import cv2  # headless OpenCV < 5 (5.x has no CascadeClassifier)

    if kind == "anime":
        path = ANIME_CASCADE
    elif kind == "photo":
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    else:
        raise ValueError(f"face kind is one of {', '.join(KINDS)}, not {kind!r}")
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"could not load the face detector {path}")
    return cascade


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image (greyscale, palette, RGBA, EXIF-rotated) -> RGB; transparency on white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(bg, rgba)
    return image.convert("RGB")


DETECT_SIDE = 1024  # pictures are searched at most this large (boxes scaled back)
_found: OrderedDict[tuple, list[Box]] = OrderedDict()  # the last pictures' faces, by their pixels' digest
_found_lock = threading.Lock()


def detect(image: Image.Image, kind: str = "anime", min_size: int = 24) -> list[Box]:
    """Faces in ``image``, largest first.

    A face smaller than 1/16 of the picture's short side is not looked for (the models see
    64-256 px faces; a smaller one would be enlarged into a blur), and a picture is searched at
    most DETECT_SIDE px large, so a search costs tens of ms, not seconds. The faces of the last
    few pictures are remembered: the same upload edited again (another label group, another
    direction) is not searched again."""
    import cv2

    rgb = to_rgb(image)
    scale = min(1.0, DETECT_SIDE / max(rgb.size))
    small = rgb if scale == 1.0 else rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                                               Image.Resampling.BILINEAR)
    grey = np.asarray(small.convert("L"))
    least = max(min_size, round(min(grey.shape) / 16))
    key = (hashlib.blake2b(grey.tobytes(), digest_size=16).digest(), grey.shape, kind, least)
    with _found_lock:
        if key in _found:
            _found.move_to_end(key)
            return list(_found[key])
    # The detectors' usual settings (nagadomi's example: 1.1, 5, 24 px).
    found = _cascade(kind).detectMultiScale(cv2.equalizeHist(grey), scaleFactor=1.1, minNeighbors=5,
                                            minSize=(least, least))
    boxes = [Box(*(round(int(v) / scale) for v in b)) for b in (found if len(found) else [])]
    boxes = sorted(boxes, key=lambda b: -b.area)
    with _found_lock:
        _found[key] = boxes
        while len(_found) > 64:
            _found.popitem(last=False)
    return list(boxes)


def found_share(pictures: list[Image.Image], kind: str = "anime", side: int = 256) -> float:
    """The share of ``pictures`` in which the detector finds a face, each enlarged (Lanczos) to
    ``side`` px first, as the editors enlarge a small face: a quality figure a user reads at once
    ("does it draw faces?"), beside FID. 64 px anime faces: 95 % of the real ones."""
    if not pictures:
        raise ValueError("no pictures")
    found = sum(bool(detect(to_rgb(p).resize((side, side), Image.Resampling.LANCZOS), kind)) for p in pictures)
    return found / len(pictures)


# How much larger than the detector's box a crop is, and how far its centre sits above the
# box's (in box heights; negative: below), measured on selfie2anime's test sets so that a
# user's picture is framed like the faces the models were trained on: the photo cascade's box
# covers ~72 % of a selfie2anime selfie and sits 15 % high; the anime box ~82 %, centred.
FRAMING = {"anime": (1.25, 0.0), "photo": (1.4, -0.15)}


def crop_box(image: Image.Image, box: Box, kind: str = "anime") -> tuple[int, int, int, int]:
    """The square (left, top, right, bottom) around ``box``, moved inside the image where possible."""
    scale, up = FRAMING[kind]
    side = round(max(box.w, box.h) * scale)
    side = min(side, max(image.size))
    cx, cy = box.x + box.w / 2, box.y + box.h / 2 - up * box.h
    left = round(min(max(cx - side / 2, 0), max(image.width - side, 0)))
    top = round(min(max(cy - side / 2, 0), max(image.height - side, 0)))
    return left, top, left + side, top + side


def crop(image: Image.Image, box: Box, kind: str = "anime") -> Image.Image:
    """A square RGB crop around a face; any part outside the picture is filled white."""
    left, top, right, bottom = crop_box(image, box, kind)
    canvas = Image.new("RGB", (right - left, bottom - top), (255, 255, 255))
    canvas.paste(to_rgb(image), (-left, -top))
    return canvas


def square(image: Image.Image, size: int) -> Image.Image:
    """The centre square of an RGB picture, resized to ``size`` (the whole picture when it is square)."""
    return ImageOps.fit(to_rgb(image), (size, size), Image.Resampling.LANCZOS)


_crop_face = crop  # (``frame``'s argument of that name is the crop mode)


@dataclass
class Framing:
    """The square model-size input cut from a picture, and how."""

    square: Image.Image
    faces: list[Box] = field(default_factory=list)  # every face found by the detector used, largest first
    face: int | None = None  # index of the face used, None when the whole picture was used
    kind: str | None = None  # the detector that found it: "anime" or "photo"
    notice: str = ""


def frame(picture: Image.Image, size: int, crop: str = "auto", face: int = 0,
          no_face: str = "No face found: used the centre of the whole picture.") -> Framing:
    """A user's picture -> the square ``size`` px input of a model: a face crop (``crop``: "anime"
    for illustrations, "photo" for photos, "auto": anime, then photo) framed as the training
    faces (``crop_box``), else (no face found: ``no_face`` is the notice; "none") the centre
    square of the whole picture. ``face``: which detected face, 0 the largest."""
    if crop not in CROPS:
        raise ValueError(f"crop is one of {', '.join(CROPS)}, not {quote(crop)}")
    if isinstance(face, bool) or not isinstance(face, int) or face < 0:
        raise ValueError(f"face is a number from 0 (the largest), not {quote(face)}")
    picture = to_rgb(picture)
    if crop == "none":
        return Framing(square(picture, size))
    for kind in (KINDS if crop == "auto" else (crop,)):
        found = detect(picture, kind)
        if found:
            if face >= len(found):
                raise ValueError(f"face {face} asked for, but {len(found)} face(s) were found "
                                 f"(numbered 0 to {len(found) - 1}, largest first)")
            note = f"{len(found)} {kind} faces found; using face {face}." if len(found) > 1 else ""
            return Framing(square(_crop_face(picture, found[face], kind), size), found, face, kind, note)
    return Framing(square(picture, size), notice=no_face)
