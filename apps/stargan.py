"""StarGAN editor tab: a face picture to every hair / eye colour (or any label group of the
checkpoint), or to one chosen combination of labels.

Thin: widget values -> facegan.pipelines.StarGANPipeline (a facegan.editor.Editor) -> pictures.
The actions are the named endpoints
``stargan_grid`` and ``stargan_edit`` that gradio_client can call.
"""

from __future__ import annotations

import functools
import json

import gradio as gr

from apps.common import (
    CROP_CHOICES,
    DEFAULT,
    PictureInput,
    check_picture,
    checkpoint_chooser,
    example_pictures,
    load_model,
    save_png,
    whole,
)
from facegan import checks
from facegan.editor import describe
from facegan.labels import BINARY
from facegan.pipelines import StarGANPipeline

TECHNIQUE = "stargan"
MAX_CATEGORICAL, MAX_BINARY = 6, 2  # compose mode's dropdowns: one per label group of the checkpoint
GRID_PX = 128  # the labelled grid's pictures (download), so that its captions are legible
KEEP = "(as read)"  # a compose dropdown left alone: the picture's own label, as D reads it


def editor(ckpt: str) -> StarGANPipeline:
    return _editor_of(load_model(TECHNIQUE, ckpt))


@functools.lru_cache(maxsize=4)
def _editor_of(model) -> StarGANPipeline:
    return StarGANPipeline(model)


def _check(picture, crop: str, face) -> int:
    check_picture(picture, crop)
    return whole(face, "face", 0, 99)


def _notes(ed: StarGANPipeline, what: str, read: dict, notice: str, found: int, painted: float | None = None) -> str:
    notes = [(f"**{what}** at {ed.size} px. The picture reads as *{describe(read)}* (the discriminator's "
              f"reading; the groups not edited keep it).")]
    if painted is not None:
        notes.append(f"The edit repainted {100 * painted:.0f} % of the picture (the model's attention mask); "
                     f"the rest is the input's own pixels.")
    if found > 1:
        notes.append(f"{found} faces found.")
    if notice:
        notes.append(notice)
    return " ".join(notes)


def grid(ckpt: str, picture, group: str, crop: str, face: float):
    """stargan_grid: picture -> (gallery of (picture, label): the input, then each domain of ``group``;
    the labelled grid as a PNG file; notes)."""
    face_no = _check(picture, crop, face)
    ed = editor(ckpt)
    if not group:
        raise gr.Error(f"choose a label group: {', '.join(ed.groups)}")
    if group not in ed.groups:
        raise gr.Error(f"{checks.quote(group)} is not a label group of this checkpoint; its groups are {', '.join(ed.groups)}")
    try:
        r = ed.grid(picture, group, crop, face_no, display=None, grid_size=max(ed.size, GRID_PX))
    except ValueError as e:
        raise gr.Error(str(e)) from None
    gallery = [(r.input, "input"), *r.pictures]  # at the model's size: the browser enlarges them
    return gallery, save_png(r.grid, f"stargan-{group}.png"), _notes(ed, f"Every {group} ({len(r.pictures)})", r.read, r.notice, len(r.faces))


def edit(ckpt: str, picture, target: str, crop: str, face: float):
    """stargan_edit: picture, target labels as JSON ('{"hair": "blue", "eyes": "red"}') -> (result, notes)."""
    face_no = _check(picture, crop, face)
    ed = editor(ckpt)
    try:
        r = ed.edit(picture, target or "{}", crop, face_no, display=None)
    except ValueError as e:
        raise gr.Error(str(e)) from None
    return r.output, _notes(ed, f"Edited to {describe(r.target)}", r.read, r.notice, len(r.faces), r.painted)


# -- compose mode: one dropdown per label group of the checkpoint ----------------------


def _slots(ckpt: str):
    """The label groups of ``ckpt``: (categorical groups, binary groups (name, values)), or a message."""
    try:
        ed = editor(ckpt)
    except gr.Error as e:
        return [], [], str(getattr(e, "message", e))
    cats, bins = [], []
    for _, g, _ in ed.spec.groups():
        (bins if g.kind == BINARY else cats).append((g.name, g.values))
    msg = ""
    if len(cats) > MAX_CATEGORICAL or len(bins) > MAX_BINARY:
        msg = (f"This checkpoint has more label groups than the dropdowns show; type the target labels as JSON "
               f"(groups: {', '.join(ed.groups)}).")
    grey = [g.name for d in ed.spec.datasets if d.grey for g in d.groups]
    if grey:
        msg += (f" An edit of {', '.join(grey)} (learned from greyscale photos) changes the picture's lightness "
                "only: its colours stay as they are.")
    return cats, bins, msg.strip()


def _cat_slot(cats, i) -> dict:
    name, values = cats[i] if i < len(cats) else (None, ())
    return {"choices": [KEEP, *values], "value": KEEP, "label": name, "visible": i < len(cats)}


def _bin_slot(bins, i) -> dict:
    name, values = bins[i] if i < len(bins) else (None, ())
    return {"choices": [s + v for v in values for s in "+-"], "value": [], "label": name, "visible": i < len(bins),
            "multiselect": True}


def _state(cats, bins) -> dict:
    return {"categorical": [n for n, _ in cats[:MAX_CATEGORICAL]], "binary": [n for n, _ in bins[:MAX_BINARY]]}


def _info(groups, msg: str) -> str:
    return msg or ("" if groups else "Choose a StarGAN checkpoint to see its label groups.")


def setup(ckpt: str):
    """On a checkpoint change: the group choice, compose mode's dropdowns, their state, the target reset, a note."""
    cats, bins, msg = _slots(ckpt)
    groups = [name for name, _ in cats + bins]
    return (gr.Dropdown(choices=groups, value=groups[0] if groups else None),
            *[gr.Dropdown(**_cat_slot(cats, i)) for i in range(MAX_CATEGORICAL)],
            *[gr.Dropdown(**_bin_slot(bins, i)) for i in range(MAX_BINARY)],
            _state(cats, bins), "{}", _info(groups, msg))


def compose(slots: dict, *values) -> str:
    """Compose mode's dropdowns -> the target labels' JSON (groups left at KEEP are not named)."""
    slots = slots or {"categorical": [], "binary": []}
    cat_values, bin_values = values[:MAX_CATEGORICAL], values[MAX_CATEGORICAL:]
    target: dict = {}
    for name, value in zip(slots["categorical"], cat_values):
        if value and value != KEEP:
            target[name] = value
    for name, switched in zip(slots["binary"], bin_values):
        flags = {s[1:]: s[0] == "+" for s in switched or []}
        if flags:
            target[name] = flags
    return json.dumps(target)


def render():
    """The tab's widgets and events, inside an open Blocks/Tab. Returns the checkpoint chooser and
    the picture input (which the StyleGAN studio can fill)."""
    ckpt, _ = checkpoint_chooser(TECHNIQUE)
    gr.Markdown("### Edit a face\nUpload a picture of a face. The face is found and cropped like the training "
                "pictures, then translated by one generator to other labels: every value of one group "
                "(*Grid*), or a combination you choose (*Compose*). The labels you do not change keep what the "
                "discriminator reads in the picture.")
    cats, bins, msg = _slots(DEFAULT)  # the default checkpoint's groups (none when there is no default)
    groups = [name for name, _ in cats + bins]
    with gr.Row():
        with gr.Column(scale=2):
            picture = PictureInput(label="Picture", type="pil", image_mode=None, height=320, format="png",
                                   sources=["upload", "clipboard"])
            with gr.Row():
                crop = gr.Radio(CROP_CHOICES, value="auto", label="Face crop",
                                info="auto: the anime-face detector, then the photo one")
                face = gr.Number(0, label="Face #", precision=0, minimum=0, maximum=99,
                                 info="which face, when several are found (0 = largest)")
            if examples := example_pictures():
                gr.Examples([[str(p)] for p in examples], [picture],
                            label="Examples (public-domain photo; faces made by facegan's DCGAN)")
            info = gr.Markdown(_info(groups, msg))
            with gr.Tabs():
                with gr.Tab("Grid"):
                    group = gr.Dropdown(groups, value=groups[0] if groups else None, label="Label group",
                                        allow_custom_value=True,
                                        info="every value of this group, the others as read")
                    grid_btn = gr.Button("Make the grid", variant="primary")
                with gr.Tab("Compose"):
                    cat_slots = [gr.Dropdown(**_cat_slot(cats, i)) for i in range(MAX_CATEGORICAL)]
                    bin_slots = [gr.Dropdown(**_bin_slot(bins, i),
                                             info="+attribute: switch on, -attribute: switch off")
                                 for i in range(MAX_BINARY)]
                    slots = gr.State(_state(cats, bins))
                    target = gr.Textbox("{}", label="Target labels (JSON)", max_lines=3,
                                        info='filled from the dropdowns, or typed: {"hair": "blue", "eyes": "red"}')
                    edit_btn = gr.Button("Edit", variant="primary")
        with gr.Column(scale=3):
            notes = gr.Markdown()
            gallery = gr.Gallery(label="Grid: the input, then each value", format="png", columns=4, height=420,
                                 object_fit="contain", interactive=False)
            grid_file = gr.File(label="Labelled grid (PNG)", interactive=False)
            result = gr.Image(label="Result", type="pil", format="png", height=256, interactive=False,
                              elem_classes=["facegan-picture"])

    ckpt.change(setup, ckpt, [group, *cat_slots, *bin_slots, slots, target, info], api_visibility="private",
                queue=False)
    for slot in cat_slots + bin_slots:
        slot.change(compose, [slots, *cat_slots, *bin_slots], target, api_visibility="private", queue=False)
    grid_btn.click(grid, [ckpt, picture, group, crop, face], [gallery, grid_file, notes], api_name="stargan_grid")
    edit_btn.click(edit, [ckpt, picture, target, crop, face], [result, notes], api_name="stargan_edit")
    return ckpt, picture


def build_demo() -> gr.Blocks:
    """The StarGAN editor alone (e.g. for a Space of its own)."""
    with gr.Blocks(title="facegan · StarGAN editor") as demo:
        render()
    return demo
