"""StyleGAN studio tab: a face from a seed or a code with truncation and noise; style mixing
(StyleGAN's Figure 3); interpolations (one face through a list, or several side by side) as GIF
and MP4; variations around a face; edits along SeFa's closed-form directions; the face sent to
the StarGAN and U-GAT-IT tabs.

Thin: widget values -> facegan.studio.Studio -> pictures. The actions are the named endpoints
``stylegan_generate``, ``stylegan_mix``, ``stylegan_interpolate``, ``stylegan_variations`` and
``stylegan_edit`` that gradio_client can call; each ends with the rendering: psi, cutoff, noise,
noise seed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

try:
    from apps import serving
    from apps.common import DEFAULT, animation_outputs, checkpoint_chooser, default_checkpoint, load_model
except ImportError:  # run as a script from apps/
    import serving
    from common import DEFAULT, animation_outputs, checkpoint_chooser, default_checkpoint, load_model

import gradio as gr
from PIL import Image

from facegan import hub
from facegan.studio import MODES, NOISE_MODES, Studio, span

TECHNIQUE = "stylegan"
FIGURE_PX = 128  # the mixing figure's pictures, so that its captions are legible
FRAME_PX = 128  # an interpolation's faces
STRIP_STEPS = 7  # faces of an edit's strip, from -strength to +strength
SEND_PX = 256  # a face sent to the StarGAN / U-GAT-IT tab (their detectors miss a 64 px face)
NO_DEFAULT = ("No StyleGAN checkpoint is bundled yet: train one in the Training tab (or `facegan train stylegan`) "
              "and pick it under Checkpoint, or give a checkpoint folder or <hub repo>@<revision>.")


def studio(ckpt: str) -> Studio:
    if ckpt is None or (isinstance(ckpt, str) and ckpt.strip() in ("", DEFAULT)):
        try:
            default_checkpoint(TECHNIQUE)
        except hub.CheckpointError:
            raise serving.refuse(NO_DEFAULT) from None
    return _studio_of(load_model(TECHNIQUE, ckpt))


@functools.lru_cache(maxsize=4)
def _studio_of(model) -> Studio:
    return Studio(model)


def generate(ckpt: str, face, psi: float, cutoff, noise: str, noise_seed: float):
    """stylegan_generate: a seed or a face code -> (face, its code)."""
    f = studio(ckpt).face(face, psi, cutoff, noise, noise_seed)
    return f.picture, f.code


def mix(ckpt: str, rows, columns, layers, psi: float, cutoff, noise: str, noise_seed: float):
    """stylegan_mix: row faces, column faces, the styles copied -> (the labelled figure, the cells
    as a gallery of (picture, "row → column"), a summary)."""
    st = studio(ckpt)
    m = st.mix(rows, columns, layers, psi, cutoff, noise, noise_seed)
    px = sorted({2 ** (i // 2 + 2) for i in m.layers})
    summary = (f"{len(m.rows)} x {len(m.columns)}: each column's face with styles {span(m.layers)} "
               f"({', '.join(f'{p} px' for p in px)}) copied from the row's face (of {st.num_ws} styles; "
               "coarse: pose and face shape, middle: features, fine: colours).")
    return m.figure(max(st.size, FIGURE_PX)), m.cells(), summary


def interpolate(ckpt: str, faces, frames: float, mode: str, loop: bool, fps: float, side_by_side: float,
                psi: float, cutoff, noise: str, noise_seed: float):
    """stylegan_interpolate: faces (seeds / codes) -> (GIF, MP4, both as files)."""
    gif, mp4 = studio(ckpt).interpolate(faces, frames, mode, bool(loop), side_by_side, fps, FRAME_PX, psi, cutoff,
                                        noise, noise_seed, out_dir=serving.scratch_dir())
    return str(gif), str(mp4), [str(gif), str(mp4)]


def variations(ckpt: str, face, count: float, step: float, seed: float, psi: float, cutoff, noise: str,
               noise_seed: float):
    """stylegan_variations: a face -> gallery of (face, code): the face itself, then its variations."""
    st = studio(ckpt)
    centre = st.face(face, psi, cutoff, noise, noise_seed)
    around = st.variations(centre.code, count, step, seed, psi, cutoff, noise, noise_seed)
    return [(centre.picture, centre.code), *((v.picture, v.code) for v in around)]


def edit(ckpt: str, face, direction: float, layers, strength: float, psi: float, cutoff, noise: str,
         noise_seed: float):
    """stylegan_edit: a face, a SeFa direction of the styles ``layers`` and a strength -> (the edited
    face, the strip of STRIP_STEPS faces from -|strength| to +|strength| as one labelled picture, a summary)."""
    st = studio(ckpt)
    e = st.edit(face, direction, layers, strength, psi, cutoff, noise, noise_seed)
    strip = st.edit_strip(e.code, e.direction, e.layers, e.strength, STRIP_STEPS, psi, cutoff, noise, noise_seed)
    found = st.sefa(e.layers)
    px = sorted({2 ** (i // 2 + 2) for i in e.layers})
    strongest = ", ".join(f"{i}: {found.share(i):.0%}" for i in range(min(len(found), 5)))
    summary = (f"Direction {e.direction} of the {e.directions} of styles {span(e.layers)} "
               f"({', '.join(f'{p} px' for p in px)}): eigenvalue {e.eigenvalue:.3g}, {e.share:.0%} of their total "
               f"(the strongest: {strongest}). Strength {e.strength:+g}; the strip: {STRIP_STEPS} steps over "
               f"±{abs(e.strength):g}.")
    return e.picture, strip.figure(max(st.size, FIGURE_PX)), summary


def face_picture(ckpt: str, face, psi: float, cutoff, noise: str, noise_seed: float):
    """The current face, for another tab's picture input (drawn again here, from what the page sends:
    a seed or a code and numbers, never a file), enlarged to SEND_PX so that the face detectors of
    those tabs find it."""
    picture = generate(ckpt, face, psi, cutoff, noise, noise_seed)[0]
    return picture.resize((SEND_PX, SEND_PX), Image.Resampling.LANCZOS) if picture.width < SEND_PX else picture


class Rendered(NamedTuple):
    """What main.py wires across tabs: the chooser, the send buttons, the inputs of the current face."""

    ckpt: gr.Dropdown
    send: dict[str, gr.Button]  # "stargan" / "ugatit" -> its button
    face_inputs: list


def send(rendered: Rendered, technique: str, picture: gr.Image, tabs: gr.Tabs, tab_id: str) -> None:
    """The button that draws the current face into ``picture`` (another tab's input) and opens that tab."""

    def send_face(*values):
        return face_picture(*values), gr.Tabs(selected=tab_id)

    rendered.send[technique].click(send_face, rendered.face_inputs, [picture, tabs], api_visibility="private")


def render() -> Rendered:
    """The tab's widgets and events, inside an open Blocks/Tab."""
    ckpt, _ = checkpoint_chooser(TECHNIQUE)
    gr.Markdown("### A face\nA seed or a face code (press Enter); the code reproduces the face. *psi* pulls it "
                "towards the average face (0: the average, 1: as sampled) in the first *cutoff* styles.")
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                face = gr.Textbox("0", label="Seed or code", max_lines=1, scale=4,
                                  info="a whole number, or a code (hex, +seed:index:step for a variation)")
                draw = gr.Button("Draw", variant="primary", scale=1, min_width=80)
            with gr.Row():
                psi = gr.Slider(-1, 2, value=0.7, step=0.05, label="psi (truncation)")
                cutoff = gr.Textbox("", label="Cutoff", max_lines=1, placeholder="all",
                                    info="truncate only the first N styles; empty: all")
            with gr.Row():
                noise = gr.Radio(list(NOISE_MODES), value="const", label="Noise",
                                 info="const: the checkpoint's; random: from the noise seed")
                noise_seed = gr.Number(0, label="Noise seed", precision=0, minimum=0)
        with gr.Column(scale=2, min_width=260):
            picture = gr.Image(label="Face", type="pil", format="png", height=256, interactive=False,
                               elem_classes=["facegan-picture"])
            code = gr.Textbox(label="Face code", max_lines=4, buttons=["copy"], interactive=False)
            with gr.Row():
                to_stargan = gr.Button("Edit in StarGAN →", size="sm")
                to_ugatit = gr.Button("Convert in U-GAT-IT →", size="sm")
    rendering = [psi, cutoff, noise, noise_seed]
    with gr.Tabs():
        with gr.Tab("Style mixing"):
            gr.Markdown("StyleGAN's Figure 3: the column faces along the top, the row faces down the left; each "
                        "cell is its column's face with the chosen styles copied from its row's face.")
            with gr.Row():
                rows = gr.Textbox("1, 2, 3, 4", label="Row faces", info="seeds or codes, commas between", scale=2)
                columns = gr.Textbox("5, 6, 7, 8, 9", label="Column faces", scale=2)
                layers = gr.Dropdown(["coarse", "middle", "fine"], value="coarse", label="Styles copied",
                                     allow_custom_value=True, info="or indices: 0-3, 4,5, 8-", scale=1)
                mix_btn = gr.Button("Mix", variant="primary", scale=0, min_width=80)
            mix_summary = gr.Markdown()
            figure = gr.Image(label="Style mixing", type="pil", format="png", interactive=False,
                              buttons=["download"])
            with gr.Accordion("The cells one by one", open=False):
                cells = gr.Gallery(label="row → column", columns=5, height="auto", object_fit="contain",
                                   format="png")
        with gr.Tab("Interpolation"):
            gr.Markdown("One face morphing through the faces of the list; with *side by side* k, the list is read "
                        "k faces at a time, so k faces walk side by side (the article's three-face GIF: 9 seeds, "
                        "3 side by side).")
            with gr.Row():
                walk_faces = gr.Textbox("1, 2, 3", label="Faces", info="seeds or codes, commas between", scale=3)
                side = gr.Slider(1, 8, value=1, step=1, label="Side by side")
                frames = gr.Slider(2, 60, value=24, step=1, label="Frames per face")
            with gr.Row():
                mode = gr.Radio(list(MODES), value="lerp-w", label="Interpolation",
                                info="lerp in W (any code), slerp in Z")
                loop = gr.Checkbox(True, label="Loop back")
                fps = gr.Slider(5, 30, value=20, step=1, label="FPS")
                walk = gr.Button("Make GIF + MP4", variant="primary")
            gif, mp4, files = animation_outputs(192)
        with gr.Tab("Variations"):
            gr.Markdown("Faces around the current one, small steps in W towards other faces' features. Click one "
                        "to continue from it: its code reproduces it.")
            with gr.Row():
                count = gr.Slider(1, 32, value=11, step=1, label="Variations")
                step = gr.Slider(0.05, 1, value=0.4, step=0.05, label="Step", info="1: a whole face's difference")
                var_seed = gr.Number(0, label="Seed of the directions", precision=0, minimum=0)
                var_btn = gr.Button("Vary", variant="primary")
            around = gr.Gallery(label="The face, then its variations", columns=6, height="auto",
                                object_fit="contain", format="png", elem_classes=["facegan-codes"])
        with gr.Tab("Edit along a direction"):
            gr.Markdown("Closed-form directions (SeFa, Shen & Zhou 2021): the directions in W that change the "
                        "chosen styles most, strongest first, found from the weights alone. The current face "
                        "moves along one of them in those styles only; strength 0 is the face itself.")
            with gr.Row():
                direction = gr.Number(0, label="Direction", precision=0, minimum=0,
                                      info="0: the strongest; the summary says how many")
                edit_layers = gr.Dropdown(["coarse", "middle", "fine", "all"], value="coarse", label="Styles",
                                          allow_custom_value=True, info="or indices: 0-3, 4,5, 8-")
                strength = gr.Slider(-20, 20, value=3, step=0.5, label="Strength",
                                     info="along the unit direction in W")
                edit_btn = gr.Button("Edit + strip", variant="primary")
            edit_summary = gr.Markdown()
            with gr.Row():
                edited = gr.Image(label="Edited face", type="pil", format="png", height=256, interactive=False,
                                  elem_classes=["facegan-picture"], scale=1)
                strip = gr.Image(label=f"From -strength to +strength ({STRIP_STEPS} steps)", type="pil",
                                 format="png", interactive=False, buttons=["download"], scale=3)

    draw_args = [ckpt, face, *rendering]
    draw.click(generate, draw_args, [picture, code], api_name="stylegan_generate")
    face.submit(generate, draw_args, [picture, code], api_visibility="private")
    psi.release(generate, draw_args, [picture, code], api_visibility="private")
    noise.input(generate, draw_args, [picture, code], api_visibility="private")
    mix_btn.click(mix, [ckpt, rows, columns, layers, *rendering], [figure, cells, mix_summary],
                  api_name="stylegan_mix")
    walk.click(interpolate, [ckpt, walk_faces, frames, mode, loop, fps, side, *rendering], [gif, mp4, files],
               api_name="stylegan_interpolate")
    var_btn.click(variations, [ckpt, face, count, step, var_seed, *rendering], around,
                  api_name="stylegan_variations")
    edit_args = [ckpt, face, direction, edit_layers, strength, *rendering]
    edit_btn.click(edit, edit_args, [edited, strip, edit_summary], api_name="stylegan_edit")
    strength.release(edit, edit_args, [edited, strip, edit_summary], api_visibility="private")

    def open_variation(ckpt_value, psi_value, cutoff_value, noise_value, noise_seed_value, evt: gr.SelectData):
        caption = evt.value.get("caption") if isinstance(evt.value, dict) else None
        if not isinstance(caption, str) or not caption:
            raise gr.Error("pick a face of the variations")
        pic, c = generate(ckpt_value, caption, psi_value, cutoff_value, noise_value, noise_seed_value)
        return c, pic, c  # the face box, the face, its code

    around.select(open_variation, [ckpt, *rendering], [face, picture, code], api_visibility="private")
    return Rendered(ckpt, {"stargan": to_stargan, "ugatit": to_ugatit}, draw_args)


def build_demo() -> gr.Blocks:
    """The StyleGAN studio alone (e.g. for a Space of its own); its send buttons have no tabs to go to."""
    with gr.Blocks(title="facegan · StyleGAN studio") as demo:
        render()
    return demo
