"""What every tab shares: the checkpoint chooser and turning library errors into gr.Error."""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr
from gradio import utils as gr_utils

from apps import serving
from facegan import checks, hub, jobs, models
from facegan.convert import FILE_CONVERTERS
from facegan.faces import CROPS
from facegan.images import open_picture

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
        return checks.whole(value, name, lo, hi)
    except checks.InputError as e:
        raise serving.refuse(str(e)) from None


def real(value, name: str, lo: float, hi: float) -> float:
    try:
        return checks.real(value, name, lo, hi)
    except checks.InputError as e:
        raise serving.refuse(str(e)) from None


def _uploaded(path) -> bool:
    """A file that a client uploaded: it lies in gradio's upload folder (after resolving links and ..)."""
    try:
        real_path = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return real_path.is_file() and real_path.is_relative_to(Path(gr_utils.get_upload_folder()).resolve())


class PictureInput(gr.Image):
    """gr.Image for a user's picture: only a file the client uploaded is read (a FileData naming
    any other server path, or a URL, is refused with one message whatever is there), decoded by
    facegan.images.open_picture (pixel cap before decoding, JPEGs reduced while decoding, 16-bit
    greyscale scaled) into RGB, with a clear message for anything unreadable. A template: the
    browser shows the ordinary Image widget."""

    is_template = True
    NOT_UPLOADED = serving.NOT_UPLOADED

    async def async_move_resource_to_block_cache(self, url_or_file_path):
        if url_or_file_path is None:
            return None
        if not _uploaded(url_or_file_path):  # before gradio copies it into its cache (where it would pass)
            raise serving.refuse(self.NOT_UPLOADED)
        return await super().async_move_resource_to_block_cache(url_or_file_path)

    def preprocess(self, payload):
        if payload is None:
            return None
        path = getattr(payload, "path", None)
        if not path or not _uploaded(path):
            raise serving.refuse(self.NOT_UPLOADED)
        name = checks.quote(getattr(payload, "orig_name", None) or Path(path).name, 60).strip("'\"")
        try:
            return open_picture(path, name)
        except checks.InputError as e:
            raise serving.refuse(str(e)) from None


TITLES = {"dcgan": "DCGAN", "ugatit": "U-GAT-IT", "stargan": "StarGAN", "acgan": "AC-GAN", "stylegan": "StyleGAN"}
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"  # public-domain photo, our DCGAN's faces
CROP_CHOICES = [("auto", "auto"), ("anime face", "anime"), ("photo face", "photo"), ("off", "none")]


def load_model(name: str, ref: str | None, with_folder: bool = False):
    """The ``name`` model behind a chooser value: DEFAULT, a checkpoint folder, ``repo@revision`` or
    ``repo@revision:file`` (a foreign file, converted once by ``name``'s converter into the Hub cache);
    ``with_folder``: (the model, its local folder), for what else the folder holds."""
    try:
        ref = checks.text(ref, "checkpoint", serving.MAX_REF_CHARS).strip()
        if ref in ("", DEFAULT):
            folder = default_checkpoint(name).folder
        elif (foreign := hub.parse_file_ref(ref)) is not None:  # only ever downloaded: never a local path
            folder = hub.download_foreign(*foreign, technique=name, max_bytes=serving.MAX_HUB_BYTES)
        elif (repo := hub.parse_ref(ref)) is not None:
            folder = hub.download(*repo, max_bytes=serving.MAX_HUB_BYTES)  # into the Hub cache
        else:
            folder = serving.resolve_checkpoint(ref)
        folder = Path(folder).resolve()
        model = _load(str(folder))
    except checks.InputError as e:  # a reference this app does not serve: the message says so already
        raise serving.refuse(str(e)) from None
    except (hub.CheckpointError, ValueError, OSError) as e:
        raise serving.refuse(f"Cannot load checkpoint {checks.quote(ref)}: {e}") from None
    if models.technique_of(model) != name:
        title = TITLES.get(name, name)
        raise serving.refuse(f"checkpoint {checks.quote(ref)} is not {'an' if title[0] in 'AEIO' else 'a'} {title} model")
    return (model, folder) if with_folder else model


def check_picture(picture, crop: str) -> None:
    """An uploaded picture and a face-crop choice, or a clear gr.Error."""
    if picture is None:
        raise serving.refuse("Upload a picture first.")
    if crop not in CROPS:
        raise serving.refuse(f"face crop is one of {', '.join(CROPS)}, not {checks.quote(crop)}")


def default_label(technique: str) -> tuple[str, str]:
    """The chooser's label for the default and the notice under it (the reason when there is none)."""
    try:
        d = default_checkpoint(technique)
        return f"default ({d.folder.name})", serving.clean(d.notice)
    except hub.CheckpointError as e:
        return "default (none)", serving.clean(f"No default checkpoint: {e}. Pick a trained run, a folder or "
                                               "`repo@revision`.")


def checkpoint_choices(technique: str) -> list[tuple[str, str]]:
    """(label, value) pairs: the default first, the other bundled checkpoints, then the latest
    checkpoint of each training run."""
    choices = [(default_label(technique)[0], DEFAULT)]
    choices += [(f"bundled ({folder.name})", serving.public(folder)) for _, folder in hub.bundled(technique)]
    for ckpt in jobs.finished_checkpoints(technique=technique):
        choices.append((f"{ckpt.parent.parent.name} / {ckpt.name}", serving.public(ckpt)))
    return choices


def model_line(technique: str, ref: str | None) -> str:
    """The chosen checkpoint in one short line (``hub.summary_line``): name, images seen, its card's
    figures, "interim" where it is not trained to its target; empty when it does not load (the
    tab's actions say why)."""
    try:
        _, folder = load_model(technique, ref, with_folder=True)
    except gr.Error:
        return ""
    return f"<small>Model: {serving.clean(hub.summary_line(folder), 400)}</small>"


def checkpoint_chooser(technique: str) -> tuple[gr.Dropdown, gr.Markdown]:
    """A dropdown of checkpoints (also accepts a typed folder or ``repo@revision``) and the default's notice."""
    suffixes = sorted({s for c in FILE_CONVERTERS if c.technique == technique for s in c.suffixes})
    foreign = f", or <hub repo>@<revision>:<file> (a {' / '.join(suffixes)} of another code, converted)"
    with gr.Row():
        dropdown = gr.Dropdown(checkpoint_choices(technique), value=DEFAULT, label="Checkpoint",
                               info="the default, a run trained in the Training tab, a folder, <hub repo>@<revision>"
                                    + (foreign if suffixes else ""),
                               allow_custom_value=True, scale=4)
        refresh = gr.Button("↻ Refresh list", scale=0, min_width=120)
    notice = gr.Markdown(f"<small>{default_label(technique)[1]}</small>")
    about = gr.Markdown(lambda: model_line(technique, DEFAULT))  # what the loaded model is, in one line
    dropdown.change(functools.partial(model_line, technique), dropdown, about, api_visibility="private",
                    show_progress="hidden")
    refresh.click(lambda: gr.Dropdown(choices=checkpoint_choices(technique)), outputs=dropdown,
                  api_visibility="private", queue=False)
    return dropdown, notice


def save_png(picture, name: str) -> str:
    """A picture for download, in a new temporary folder (gradio then serves a copy). Fast zlib:
    level 1 writes a grid in a third of the default's time, for a file a little larger."""
    path = serving.scratch_dir() / name
    picture.save(path, format="PNG", compress_level=1)
    return str(path)


def animation_outputs(height: int):
    """The GIF, the MP4 and both as downloads, in a row: what a morph or an interpolation returns."""
    with gr.Row():
        gif = gr.Image(label="GIF", type="filepath", height=height, interactive=False)
        mp4 = gr.Video(label="MP4", height=height, interactive=False, autoplay=True, loop=True)
        files = gr.File(label="Download", file_count="multiple", interactive=False)
    return gif, mp4, files


def example_pictures() -> list[Path]:
    """The shipped example pictures: the photo(s) first, then the faces made by facegan's DCGAN."""
    return sorted(EXAMPLES.glob("*.jpg")) + sorted(EXAMPLES.glob("*.png"))
