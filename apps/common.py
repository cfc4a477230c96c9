"""What every tab shares: the checkpoint chooser and turning library errors into gr.Error."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python apps/main.py` from a plain checkout
    sys.path.insert(0, str(ROOT))

import gradio as gr
import PIL

from facegan import hub, jobs, models
from facegan.faces import CROPS

DEFAULT = "default"  # the chooser's name for the manifest's default checkpoint


@functools.cache
def default_checkpoint(name: str) -> hub.Default:
    """Resolved once per process: Hub (pinned, sha256-checked) or the bundled folder."""
    return hub.default_checkpoint(name)


@functools.lru_cache(maxsize=4)
def _load(folder: str):
    return hub.load_folder(folder)


def whole(value, name: str, lo: int, hi: int) -> int:
    """A widget or API number as an int in [lo, hi], else a clear error (API callers can send anything)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a whole number, got {value!r}") from None
    if not lo <= number <= hi:
        raise gr.Error(f"{name} must be between {lo} and {hi}, got {number}")
    return number


class PictureInput(gr.Image):
    """gr.Image whose upload of a non-picture (a text file, a broken PNG) is a clear gr.Error
    instead of an internal error. A template: the browser shows the ordinary Image widget."""

    is_template = True

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except (PIL.UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            name = getattr(payload, "orig_name", None) or "the upload"
            raise gr.Error(f"{name} is not a picture this app can read (PNG, JPEG, WebP, GIF, BMP): "
                           f"{type(e).__name__}") from None


TITLES = {"dcgan": "DCGAN", "ugatit": "U-GAT-IT", "stargan": "StarGAN"}
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"  # public-domain photo, our DCGAN's faces
MAX_PIXELS = 40_000_000  # refuse decompression bombs politely (the upload limit caps the file, not the pixels)
CROP_CHOICES = [("auto", "auto"), ("anime face", "anime"), ("photo face", "photo"), ("off", "none")]


def load_model(name: str, ref: str | None):
    """The ``name`` model behind a chooser value: DEFAULT, a checkpoint folder or ``repo@revision``."""
    try:
        folder = default_checkpoint(name).folder if ref in (None, "", DEFAULT) else hub.resolve(ref.strip())
        model = _load(str(Path(folder).resolve()))
    except (hub.CheckpointError, ValueError, OSError) as e:
        raise gr.Error(f"Cannot load checkpoint {ref!r}: {e}") from None
    if models.technique_of(model) != name:
        raise gr.Error(f"checkpoint {ref!r} is not a {TITLES.get(name, name)} model")
    return model


def check_picture(picture, crop: str) -> None:
    """An uploaded picture and a face-crop choice, or a clear gr.Error."""
    if picture is None:
        raise gr.Error("Upload a picture first.")
    if picture.width * picture.height > MAX_PIXELS:
        raise gr.Error(f"the picture is {picture.width}x{picture.height}: at most {MAX_PIXELS // 1_000_000} megapixels")
    if crop not in CROPS:
        raise gr.Error(f"face crop is one of {', '.join(CROPS)}, not {crop!r}")


def default_label(technique: str) -> tuple[str, str]:
    """The chooser's label for the default and the notice under it (the reason when there is none)."""
    try:
        d = default_checkpoint(technique)
        return f"default ({d.folder.name})", d.notice
    except hub.CheckpointError as e:
        return "default (none)", f"No default checkpoint: {e}. Pick a trained run, a folder or `repo@revision`."


def checkpoint_choices(technique: str) -> list[tuple[str, str]]:
    """(label, value) pairs: the default first, the other bundled checkpoints, then the latest
    checkpoint of each training run."""
    choices = [(default_label(technique)[0], DEFAULT)]
    choices += [(f"bundled ({folder.name})", str(folder)) for _, folder in hub.bundled(technique)]
    for ckpt in jobs.finished_checkpoints(technique=technique):
        choices.append((f"{ckpt.parent.parent.name} / {ckpt.name}", str(ckpt)))
    return choices


def checkpoint_chooser(technique: str) -> tuple[gr.Dropdown, gr.Markdown]:
    """A dropdown of checkpoints (also accepts a typed folder or ``repo@revision``) and the default's notice."""
    with gr.Row():
        dropdown = gr.Dropdown(checkpoint_choices(technique), value=DEFAULT, label="Checkpoint",
                               info="the default, a run trained in the Training tab, a folder, or <hub repo>@<revision>",
                               allow_custom_value=True, scale=4)
        refresh = gr.Button("↻ Refresh list", scale=0, min_width=120)
    notice = gr.Markdown(f"<small>{default_label(technique)[1]}</small>")
    refresh.click(lambda: gr.Dropdown(choices=checkpoint_choices(technique)), outputs=dropdown,
                  api_visibility="private", queue=False)
    return dropdown, notice


def example_pictures() -> list[Path]:
    """The shipped example pictures: the photo(s) first, then the faces made by facegan's DCGAN."""
    return sorted(EXAMPLES.glob("*.jpg")) + sorted(EXAMPLES.glob("*.png"))
