"""AC-GAN class-grid tab: a row of faces per class, the same latent down each column; a face by its
code; interpolation inside the classes.

Thin: widget values -> facegan.pipelines.ACGANPipeline (a facegan.classgrid.ClassGrid) -> pictures.
The actions are the named
endpoints ``acgan_grid``, ``acgan_face`` and ``acgan_interpolate`` that gradio_client can call.
"""

from __future__ import annotations

import functools

import gradio as gr
import pandas as pd

from apps import browser, serving
from apps.common import DEFAULT, animation_outputs, checkpoint_chooser, load_model, whole
from facegan import checks
from facegan.pipelines import ACGANPipeline

TECHNIQUE = "acgan"
MAX_CELLS = 1024  # classes x columns of one grid
MAX_ROWS = 32  # classes of one interpolation
TABLE = ["class", "diversity", "accuracy %", "real images"]
NOT_MEASURED = ("This checkpoint carries no measured figures: `python benchmarks/acgan_quality.py --checkpoint "
                "<its folder> --write` measures them.")


def class_grid(ckpt: str) -> ACGANPipeline:
    return _grid_of(load_model(TECHNIQUE, ckpt))


@functools.lru_cache(maxsize=4)
def _grid_of(model) -> ACGANPipeline:
    return ACGANPipeline(model)


def _classes(cg: ACGANPipeline, chosen) -> list[str]:
    """The chosen class names (a list, or a comma-separated text; none: all), each one of the model's."""
    if chosen is None or chosen == "" or chosen == []:
        return list(cg.classes)
    if isinstance(chosen, str):
        chosen = [c.strip() for c in checks.text(chosen, "classes", 10_000).split(",") if c.strip()]
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        raise gr.Error("classes: a list of class names")
    cg.model.class_index(chosen)  # a message naming the known classes for an unknown one
    return chosen


def grid(ckpt: str, classes, columns: float, seed: float):
    """acgan_grid: a row per class -> (gallery of (face, code), summary)."""
    cg = class_grid(ckpt)
    names = _classes(cg, classes)
    columns = whole(columns, "columns", 1, checks.MAX_COLUMNS)
    if len(names) * columns > MAX_CELLS:
        raise gr.Error(f"{len(names)} classes x {columns} columns is more than {MAX_CELLS} faces")
    g = cg.grid(names, columns, whole(seed, "seed", 0, checks.MAX_SEED))
    summary = f"{len(names)} classes x {columns} faces; each column is one latent in every class."
    if cg.measured() is None:
        summary += " " + NOT_MEASURED
    return g.cells(), summary, diversity_table(cg, names)


def diversity_table(cg: ACGANPipeline, names: list[str]) -> pd.DataFrame:
    """The checkpoint's measured figures for the chosen classes (an empty table when it has none)."""
    rows = cg.measured(names)
    if rows is None:
        return pd.DataFrame(columns=TABLE)
    def rounded(v, scale: float, digits: int):
        return None if v is None else round(scale * v, digits)

    return pd.DataFrame([[r["class"], rounded(r["diversity"], 1, 2), rounded(r["accuracy"], 100, 1),
                          None if r["real images"] is None else int(r["real images"])] for r in rows], columns=TABLE)


def face(ckpt: str, code: str):
    """acgan_face: a face code (``<class>:<hex>``) -> (face, the code normalised)."""
    cg = class_grid(ckpt)
    cls, hexes = cg.parse(code)
    return cg.face(f"{cls}:{hexes}"), f"{cls}:{hexes}"


def interpolate(ckpt: str, a: str, b: str, classes, steps: float, mode: str, loop: bool, fps: float):
    """acgan_interpolate: two latents (face codes or hex) -> (GIF, MP4, both as files), a row per class."""
    cg = class_grid(ckpt)
    names = _classes(cg, classes)
    if len(names) > MAX_ROWS:
        raise gr.Error(f"at most {MAX_ROWS} classes side by side, got {len(names)}")
    if mode not in ("lerp", "slerp"):
        raise gr.Error(f"interpolation is 'lerp' or 'slerp', not {checks.quote(mode)}")
    a, b = (checks.text(v, "face", 1000).strip() for v in (a, b))
    gif, mp4 = cg.interpolate(a, b, names, whole(steps, "steps", 2, checks.MAX_FRAMES), mode,
                              whole(fps, "fps", 1, checks.MAX_FPS), checks.yes_no(loop, "loop"), out_dir=serving.scratch_dir())
    return str(gif), str(mp4), [str(gif), str(mp4)]


def _choices(ckpt: str) -> list[str]:
    try:
        return list(class_grid(ckpt).classes)
    except gr.Error:
        return []


def ends_after_click(start: str | None, end: str | None, clicked: str) -> tuple[str, str]:
    """The interpolation's (From, To) after a face of the grid is clicked: the first click fills
    From, the second To; later clicks walk on: From takes the old To, To the new face."""
    start, end = (start or "").strip(), (end or "").strip()
    if not start:
        return clicked, end
    if not end:
        return start, clicked
    return end, clicked


def render():
    """The tab's widgets and events, inside an open Blocks/Tab. Returns the checkpoint chooser."""
    ckpt, _ = checkpoint_chooser(TECHNIQUE)
    names = _choices(DEFAULT)
    gr.Markdown("### Faces of a class\nA row per chosen class, a column per latent: a column is \"the same face\" "
                "in every class (article 004). Click a face to open it below; its code reproduces it.")
    with gr.Row():
        classes = gr.Dropdown(names, value=names[:6], multiselect=True, label="Classes", allow_custom_value=True,
                              info="none chosen: all", scale=4)
        columns = gr.Slider(1, 16, value=8, step=1, label="Columns")
        seed = gr.Number(0, label="Seed", precision=0, minimum=0)
        go = gr.Button("Make the grid", variant="primary")
    summary = gr.Markdown()
    with gr.Row():
        gallery = gr.Gallery(label="A row per class", columns=8, height="auto", object_fit="contain", format="png",
                             scale=3)
        with gr.Column(scale=1, min_width=260):
            table = gr.Dataframe(headers=TABLE, label="Measured per class", interactive=False, wrap=True)
            gr.Markdown("**diversity**: mean pairwise distance of the Inception features of a class's generated "
                        "faces over the same for its real faces (1.0: as diverse as the data; near 0: the class "
                        "collapsed to one face, article 004's finding). **accuracy**: generated faces a separate "
                        "classifier reads as their class. " + NOT_MEASURED.replace("This checkpoint carries no "
                        "measured figures: ", "Measured by ").replace(" measures them.", "."))
    with gr.Row():
        picture = gr.Image(label="Face", type="pil", format="png", height=192, interactive=False,
                           elem_classes=["facegan-picture"])
        with gr.Column():
            code = gr.Textbox(label="Face code", info="<class>:<hex latent>; press Enter to apply", max_lines=1,
                              buttons=["copy"])
            in_browser = browser.enabled()
            if in_browser:  # the face drawn by the page; the hidden button draws it on the server instead
                browser.where_note(TECHNIQUE)
                face_server = browser.server_button(TECHNIQUE, "face")
    gr.Markdown("### Interpolation inside the classes\nFrom one latent to another (face codes or hex), a face per "
                "class side by side.")
    with gr.Row():
        start = gr.Textbox(label="From", max_lines=1, info="click a face of the grid: the first fills From")
        end = gr.Textbox(label="To", max_lines=1, info="... the next fills To")
        steps = gr.Slider(2, 60, value=24, step=1, label="Steps")
        mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Interpolation")
        loop = gr.Checkbox(True, label="Loop back")
        fps = gr.Slider(5, 30, value=20, step=1, label="FPS")
    walk = gr.Button("Make GIF + MP4", variant="primary")
    gif, mp4, files = animation_outputs(192)

    go.click(grid, [ckpt, classes, columns, seed], [gallery, summary, table], api_name="acgan_grid")
    if in_browser:
        code.submit(None, [ckpt, code, picture], [picture, code], js=browser.js("acganFace"))
    (face_server.click if in_browser else code.submit)(face, [ckpt, code], [picture, code], api_name="acgan_face")
    walk.click(interpolate, [ckpt, start, end, classes, steps, mode, loop, fps], [gif, mp4, files],
               api_name="acgan_interpolate")

    def open_selected(ckpt_value, start_value, end_value, evt: gr.SelectData):
        caption = evt.value.get("caption") if isinstance(evt.value, dict) else None
        if not isinstance(caption, str) or ":" not in caption:
            raise gr.Error("pick a face of the grid")
        pic, c = face(ckpt_value, caption)
        return (pic, c, *ends_after_click(start_value, end_value, c))

    gallery.select(open_selected, [ckpt, start, end], [picture, code, start, end], api_visibility="private")
    ckpt.change(lambda c: gr.Dropdown(choices=_choices(c), value=_choices(c)[:6]), ckpt, classes,
                api_visibility="private", queue=False)
    return ckpt


def build_demo() -> gr.Blocks:
    """The class-grid tab alone (e.g. for a Space of its own)."""
    with gr.Blocks(title="facegan · AC-GAN class grid") as demo:
        render()
    return demo
