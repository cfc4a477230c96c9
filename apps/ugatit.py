"""U-GAT-IT converter tab: a picture to the other domain's style and back, with the CAM attention.

Thin: widget values -> facegan.pipelines.UGATITPipeline (a facegan.translator.Translator) -> pictures.
The action is the named
endpoint ``ugatit_convert`` that gradio_client can call.
"""

from __future__ import annotations

import functools

import gradio as gr

from apps.common import (
    CROP_CHOICES,
    PictureInput,
    check_picture,
    checkpoint_chooser,
    example_pictures,
    load_model,
    save_png,
    whole,
)
from facegan import checks
from facegan.pipelines import UGATITPipeline
from facegan.translator import annotate

TECHNIQUE = "ugatit"
DIRECTIONS = [("A → B (selfie → anime)", "a2b"), ("B → A (anime → selfie)", "b2a")]


def translator(ckpt: str) -> UGATITPipeline:
    return _translator_of(load_model(TECHNIQUE, ckpt))


@functools.lru_cache(maxsize=4)
def _translator_of(model) -> UGATITPipeline:
    return UGATITPipeline(model)


def convert(ckpt: str, picture, direction: str, crop: str, face: float):
    """ugatit_convert: picture -> (result, attention over the input, side-by-side PNG, faces found, notes)."""
    check_picture(picture, crop)
    if direction not in ("a2b", "b2a"):
        raise gr.Error(f"direction is 'a2b' or 'b2a', not {checks.quote(direction)}")
    tr = translator(ckpt)
    try:
        r = tr.translate(picture, direction, crop, whole(face, "face", 0, 99), display=None)  # the model's size
    except ValueError as e:
        raise gr.Error(str(e)) from None
    side = save_png(r.side_by_side, f"ugatit-{direction}.png")
    notes = [f"**{tr.direction_label(direction)}** at {tr.size} px."]
    if r.notice:
        notes.append(r.notice)
    found = annotate(picture, r.faces) if r.faces else None
    return r.output, r.attention, side, found, " ".join(notes)


def follow_picture(ckpt: str, picture, direction: str):
    """The direction for a new picture: from the domain whose face detector finds its face; as it
    was when neither does (or the picture is not readable: Convert then says why)."""
    if picture is None:
        return gr.skip()
    try:
        found = translator(ckpt).direction_of(picture)
    except (gr.Error, ValueError, OSError):
        return gr.skip()
    return found if found and found != direction else gr.skip()


def anime_picture_direction(ckpt: str):
    """A face drawn by the StyleGAN tab arrives: the direction from the anime side (B → A for selfie2anime)."""
    try:
        found = translator(ckpt).direction_from("anime")
    except (gr.Error, ValueError, OSError):
        return gr.skip()
    return found or gr.skip()


def render():
    """The tab's widgets and events, inside an open Blocks/Tab. Returns the checkpoint chooser, the
    picture input (which the StyleGAN studio can fill) and the direction."""
    ckpt, _ = checkpoint_chooser(TECHNIQUE)
    gr.Markdown("### Convert a face\nUpload a picture of a face (a photo or an illustration). The face is found "
                "and cropped like the training pictures, then translated; the attention map shows where the "
                "generator's CAM looked to tell the domains apart (red: most).")
    with gr.Row():
        with gr.Column(scale=2):
            picture = PictureInput(label="Picture", type="pil", image_mode=None, height=320, format="png",
                                   sources=["upload", "clipboard"])
            direction = gr.Radio(DIRECTIONS, value="a2b", label="Direction")
            with gr.Row():
                crop = gr.Radio(CROP_CHOICES,
                                value="auto", label="Face crop",
                                info="auto: the detector of the source domain, then the other one")
                face = gr.Number(0, label="Face #", precision=0, minimum=0, maximum=99,
                                 info="which face, when several are found (0 = largest)")
            go = gr.Button("Convert", variant="primary")
            examples = example_pictures()
            if examples:
                gr.Examples([[str(p), "a2b" if p.suffix == ".jpg" else "b2a"] for p in examples], [picture, direction],
                            label="Examples (public-domain photo; faces made by facegan's DCGAN)")
        with gr.Column(scale=3):
            notes = gr.Markdown()
            with gr.Row():
                result = gr.Image(label="Result", type="pil", format="png", height=256, interactive=False,
                                  elem_classes=["facegan-picture"])
                attention = gr.Image(label="Attention (CAM) over the input", type="pil", format="png", height=256,
                                     interactive=False, elem_classes=["facegan-picture"])
            side = gr.Image(label="Input · result · attention (download)", type="filepath", format="png",
                            interactive=False, buttons=["download"], height=256, elem_classes=["facegan-picture"])
            found = gr.Image(label="Faces found", type="pil", height=200, interactive=False)

    # the direction follows the picture (uploaded, sent from another tab, an example): a photo goes photo → anime
    picture.change(follow_picture, [ckpt, picture, direction], direction, api_visibility="private",
                   show_progress="hidden")
    go.click(convert, [ckpt, picture, direction, crop, face], [result, attention, side, found, notes],
             api_name="ugatit_convert")
    return ckpt, picture, direction


def build_demo() -> gr.Blocks:
    """The U-GAT-IT converter alone (e.g. for a Space of its own)."""
    with gr.Blocks(title="facegan · U-GAT-IT converter") as demo:
        render()
    return demo
