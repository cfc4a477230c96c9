"""StyleGAN studio tab: a face from a seed or a code with truncation and noise; style mixing
(StyleGAN's Figure 3); interpolations (one face through a list, or several side by side) as GIF
and MP4; variations around a face; edits along SeFa's closed-form directions and along labelled
ones ("hair: blue", a checkpoint's ``directions.safetensors``, or computed here on request and
kept in the app's cache, ``directions_cache()``, by the weights' sha256: never in a checkpoint
folder); the face sent to the StarGAN and U-GAT-IT tabs.

Thin: widget values -> facegan.pipelines.StyleGANPipeline (a facegan.studio.Studio) -> pictures.
The actions are the named endpoints
``stylegan_generate``, ``stylegan_mix``, ``stylegan_interpolate``, ``stylegan_variations`` and
``stylegan_edit`` that gradio_client can call; each ends with the rendering: psi, cutoff, noise,
noise seed. ``stylegan_project`` (the "Your picture" sub-tab) finds an uploaded picture's face in W
(facegan.project) and gives its face code, which every other action takes like a seed.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import NamedTuple

import gradio as gr
from PIL import Image

from apps import browser, serving
from apps.common import (
    CROP_CHOICES,
    DEFAULT,
    PictureInput,
    animation_outputs,
    check_picture,
    checkpoint_chooser,
    default_checkpoint,
    example_pictures,
    load_model,
    whole,
)
from facegan import checks, directions, hub, jobs
from facegan import project as projection
from facegan.pipelines import StyleGANPipeline
from facegan.studio import MODES, NOISE_MODES, span

TECHNIQUE = "stylegan"
FIGURE_PX = 128  # the mixing figure's pictures, so that its captions are legible
FRAME_PX = 128  # an interpolation's faces
STRIP_STEPS = 7  # faces of an edit's strip, from -strength to +strength
SEND_PX = 256  # a face sent to the StarGAN / U-GAT-IT tab (their detectors miss a 64 px face)
PROJECT_STEPS = {"quick": 60, "careful": 200}  # "Your picture": ~10 s / ~30 s for the 64 px CPU model
PROJECT_PX = 256  # each picture of the projection's input | projection
LABELLED_N = 1000  # faces "Compute labelled directions" draws and reads (the library's default: 2,000)
SEFA_LISTED = 8  # SeFa directions in the direction list (any other number can be typed)
NO_DEFAULT = ("No StyleGAN checkpoint is bundled yet: train one in the Training tab (or `facegan train stylegan`) "
              "and pick it under Checkpoint, or give a checkpoint folder or <hub repo>@<revision>.")


def studio(ckpt: str) -> StyleGANPipeline:
    """The studio of a chooser value, with the checkpoint's labelled directions (shipped or cached), if any."""
    return _studio_and_folder(ckpt)[0]


def _studio_and_folder(ckpt: str) -> tuple[StyleGANPipeline, Path]:
    if ckpt is None or (isinstance(ckpt, str) and ckpt.strip() in ("", DEFAULT)):
        try:
            default_checkpoint(TECHNIQUE)
        except hub.CheckpointError:
            raise serving.refuse(NO_DEFAULT) from None
    model, folder = load_model(TECHNIQUE, ckpt, with_folder=True)
    st = _studio_of(model)
    st.labelled = labelled_of(folder)
    return st, folder


@functools.lru_cache(maxsize=4)
def _studio_of(model) -> StyleGANPipeline:
    return StyleGANPipeline(model)


def browser_directions(model, folder: Path) -> dict:
    """The edit's directions as the page applies them (apps/browser.py): the styles of each choice,
    SeFa's first SEFA_LISTED unit vectors for each, the labelled ones by name."""
    st = _studio_of(model)
    found = labelled_of(folder)
    spans = {name: st.sefa(name) for name in ("coarse", "middle", "fine", "all")}
    return {"directions": {"spans": {k: list(d.layers) for k, d in spans.items()},
                           "sefa": {k: d.vectors[:SEFA_LISTED].tolist() for k, d in spans.items()},
                           "labelled": dict(zip(found.names, found.vectors.tolist())) if found else {}}}


browser.EXTRAS[TECHNIQUE] = browser_directions


# -- labelled directions: shipped in the folder, or computed here and cached by the weights' sha256

def directions_cache() -> Path:
    """The app's own folder of computed labelled directions, ``<sha256 of model.safetensors>.safetensors``."""
    return jobs.runs_dir() / ".cache" / "directions"


@functools.lru_cache(maxsize=64)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    return hub.sha256_of(path)


def weights_sha256(folder: Path) -> str:
    weights = Path(folder) / hub.WEIGHTS_NAME
    st = weights.stat()
    return _sha256(str(weights.resolve()), st.st_mtime_ns, st.st_size)


def labelled_of(folder: Path) -> directions.LabelledDirections | None:
    """The folder's own ``directions.safetensors``, else what this app computed for its weights, else None."""
    if (found := directions.shipped(folder)) is not None:
        return found
    cached = directions_cache() / f"{weights_sha256(folder)}.safetensors"
    return directions.LabelledDirections.load(cached) if cached.is_file() else None


_computing = threading.Lock()  # one computation at a time (each reads LABELLED_N faces)


def direction_choices(found: directions.LabelledDirections | None) -> list[tuple[str, int | str]]:
    """The direction list: SeFa's first SEFA_LISTED (numbers), then the labelled ones (names)."""
    sefa_choices = [(f"SeFa {i}" + (" (strongest)" if i == 0 else ""), i) for i in range(SEFA_LISTED)]
    return sefa_choices + [(name, name) for name in (found.names if found is not None else ())]


def directions_note(found: directions.LabelledDirections | None) -> str:
    if found is None:
        return (f"This checkpoint has no labelled directions: **Compute labelled directions** fits them "
                f"(InterFaceGAN: {LABELLED_N:,} faces read by the bundled hair / eye colour classifier, "
                "under a minute for the 64 px CPU model on one core).")
    groups = found.groups()
    n = found.info.get("n")
    return (f"Labelled directions: {', '.join(f'{len(v)} {g}' for g, v in groups.items())} colours"
            + (f" (fitted on {n:,} faces)" if isinstance(n, int) else "") + "; they move all styles unless "
            "Styles says otherwise.")


def _default_labelled() -> tuple[bool, directions.LabelledDirections | None]:
    """(whether there is a default checkpoint, its labelled directions): the list the page starts with."""
    try:
        return True, labelled_of(default_checkpoint(TECHNIQUE).folder)
    except (hub.CheckpointError, ValueError, OSError):
        return False, None


def directions_for(ckpt: str, keep: bool = False):
    """The direction list, its note and the compute button for a checkpoint: on a chooser change
    (the direction back to 0), or when the sub-tab is opened (``keep``: the direction as it is)."""
    try:
        found, loaded = studio(ckpt).labelled, True
    except gr.Error:  # a checkpoint that does not load: the other actions say why
        found, loaded = None, False
    return (gr.Dropdown(choices=direction_choices(found), **({} if keep else {"value": 0})),
            directions_note(found), gr.Button(visible=loaded and found is None))


def compute_directions(ckpt: str, progress=gr.Progress()):  # noqa: B008 - how gradio is asked for a progress bar
    """stylegan_compute_directions: fit the checkpoint's labelled directions (LABELLED_N faces)
    unless it has them, and keep them in the app's cache -> (the direction list, a note)."""
    st, folder = _studio_and_folder(ckpt)
    if st.labelled is None:
        with _computing:
            st.labelled = labelled_of(folder)  # another request may have computed them meanwhile
            if st.labelled is None:
                found = directions.labelled(st.model, n=LABELLED_N,
                                            progress=lambda f, text: progress(f, desc=text))
                found.save(directions_cache() / f"{weights_sha256(folder)}.safetensors")
                st.labelled = found
    return gr.Dropdown(choices=direction_choices(st.labelled)), directions_note(st.labelled), gr.Button(visible=False)


def generate(ckpt: str, face, psi: float, cutoff, noise: str, noise_seed: float):
    """stylegan_generate: a seed or a face code -> (face, its code)."""
    st = studio(ckpt)
    f = st.face(face, render=st.rendering(psi, cutoff, noise, noise_seed))
    return f.picture, f.code


OPENING_FACE, OPENING_PSI = "0", 0.7  # what the tab shows when it opens


def opening_face() -> tuple[Image.Image | None, str]:
    """The face the tab opens with (the default checkpoint, OPENING_FACE at OPENING_PSI); nothing
    when there is no default checkpoint (the tab then says so on Draw)."""
    try:
        return generate(DEFAULT, OPENING_FACE, OPENING_PSI, "", "const", 0)
    except (gr.Error, hub.CheckpointError, ValueError, OSError):
        return None, ""


def mix(ckpt: str, rows, columns, layers, psi: float, cutoff, noise: str, noise_seed: float):
    """stylegan_mix: row faces, column faces, the styles copied -> (the labelled figure, the cells
    as a gallery of (picture, "row → column"), a summary)."""
    st = studio(ckpt)
    m = st.mix(rows, columns, layers, render=st.rendering(psi, cutoff, noise, noise_seed))
    px = sorted({2 ** (i // 2 + 2) for i in m.layers})
    summary = (f"{len(m.rows)} x {len(m.columns)}: each column's face with styles {span(m.layers)} "
               f"({', '.join(f'{p} px' for p in px)}) copied from the row's face (of {st.num_ws} styles; "
               "coarse: pose and face shape, middle: features, fine: colours).")
    return m.figure(max(st.size, FIGURE_PX)), m.cells(), summary


def interpolate(ckpt: str, faces, frames: float, mode: str, loop: bool, fps: float, side_by_side: float,
                psi: float, cutoff, noise: str, noise_seed: float):
    """stylegan_interpolate: faces (seeds / codes) -> (GIF, MP4, both as files)."""
    st = studio(ckpt)
    gif, mp4 = st.interpolate(faces, frames, mode, checks.yes_no(loop, "loop"), side_by_side, fps, FRAME_PX,
                              out_dir=serving.scratch_dir(), render=st.rendering(psi, cutoff, noise, noise_seed))
    return str(gif), str(mp4), [str(gif), str(mp4)]


def variations(ckpt: str, face, count: float, step: float, seed: float, psi: float, cutoff, noise: str,
               noise_seed: float):
    """stylegan_variations: a face -> gallery of (face, code): the face itself, then its variations."""
    st = studio(ckpt)
    r = st.rendering(psi, cutoff, noise, noise_seed)
    centre = st.face(face, render=r)
    around = st.variations(centre.code, count, step, seed, render=r)
    return [(centre.picture, centre.code), *((v.picture, v.code) for v in around)]


def edit(ckpt: str, face, direction, layers, strength: float, psi: float, cutoff, noise: str,
         noise_seed: float):
    """stylegan_edit: a face, a direction (a SeFa number of the styles ``layers``, or a labelled
    direction's name such as "hair: blue") and a strength -> (the edited face, the strip of
    STRIP_STEPS faces from -|strength| to +|strength| as one labelled picture, a summary)."""
    st = studio(ckpt)
    if layers is None or (isinstance(layers, str) and not layers.strip()):
        layers = None  # the direction's default: coarse for SeFa's, all for a labelled one
    r = st.rendering(psi, cutoff, noise, noise_seed)
    e = st.edit(face, direction, layers, strength, render=r)
    strip = st.edit_strip(e.code, e.direction, e.layers, e.strength, STRIP_STEPS, render=r)
    px = sorted({2 ** (i // 2 + 2) for i in e.layers})
    where = f"styles {span(e.layers)} ({', '.join(f'{p} px' for p in px)})"
    if isinstance(e.direction, str):
        group, _, value = e.direction.partition(": ")
        summary = (f"Labelled direction **{e.direction}** in {where}: the normal of the boundary in W between the "
                   f"faces the classifier reads as {value} {group} most and least confidently (InterFaceGAN), "
                   f"{e.accuracy:.0%} of held-out faces on its right side.")
    else:
        found = st.sefa(e.layers)
        strongest = ", ".join(f"{i}: {found.share(i):.0%}" for i in range(min(len(found), 5)))
        summary = (f"Direction {e.direction} of the {e.directions} of {where}: eigenvalue {e.eigenvalue:.3g}, "
                   f"{e.share:.0%} of their total (the strongest: {strongest}).")
    summary += f" Strength {e.strength:+g}; the strip: {STRIP_STEPS} steps over ±{abs(e.strength):g}."
    return e.picture, strip.figure(max(st.size, FIGURE_PX)), summary


LABELLED_STRENGTH = 6.0  # "hair: blue" on the bundled model: faces move by ~30/255 on average (+3: 16/255)
SEFA_STRENGTH = 8.0  # SeFa 0 in the coarse styles: 12/255 (at +3: 6/255, hard to see); SeFa 1: 61/255


def direction_defaults(direction) -> tuple:
    """The Styles and Strength a chosen direction starts with: all styles and LABELLED_STRENGTH for a
    labelled one ("hair: blue"), the coarse styles and SEFA_STRENGTH for a SeFa number."""
    if isinstance(direction, str) and ":" in direction:
        return gr.update(value="all"), LABELLED_STRENGTH
    return gr.update(value="coarse"), SEFA_STRENGTH


def project(ckpt: str, picture, crop: str, steps: float, space: str, seed: float,
            progress=gr.Progress()):  # noqa: B008 - how gradio gives an event its progress bar
    """stylegan_project: a picture (cropped as ``crop`` says), optimisation steps, "w" or "w+" and the
    seed of the latent's exploring noise -> (input | projection as a PNG, the optimisation as an MP4,
    the face code ("" for a W+ too large for one), the files: latent.safetensors, latent.json,
    projection.png, projection.mp4 and code.txt)."""
    check_picture(picture, crop)
    steps = whole(steps, "steps", 1, checks.MAX_PROJECT_STEPS)
    if space not in projection.SPACES:
        raise serving.refuse(f"space is w or w+ (a w per style), not {checks.quote(space)}")
    seed = whole(seed, "seed", 0, checks.MAX_SEED)
    st = studio(ckpt)
    progress((0, steps), desc="projecting")

    def report(done: int, total: int, loss: float) -> None:
        progress((done, total), desc=f"projecting: loss {loss:.3f}")

    p = st.project(picture, steps, space, crop, seed=seed, progress=report)
    files = projection.save(p, serving.scratch_dir(), size=PROJECT_PX)
    if p.notice:
        gr.Info(p.notice)
    if p.code is None:
        gr.Warning(f"This checkpoint's W+ ({st.num_ws} x {st.w_dim} values) is too large for a face code: download "
                   "latent.safetensors, or project in W for a code.")
    return str(files["side_by_side"]), str(files["video"]), p.code or "", [str(f) for f in files.values()]


def use_projection(ckpt: str, projected: str, psi: float, cutoff, noise: str, noise_seed: float):
    """After a projection: its code becomes the current face (the face box, the face, its code)."""
    if not projected:
        return gr.skip(), gr.skip(), gr.skip()
    pic, c = generate(ckpt, projected, psi, cutoff, noise, noise_seed)
    return c, pic, c


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
                face = gr.Textbox(OPENING_FACE, label="Seed or code", max_lines=1, scale=4,
                                  info="a whole number, or a code (hex, +seed:index:step for a variation)")
                draw = gr.Button("Draw", variant="primary", scale=1, min_width=80)
            with gr.Row():
                psi = gr.Slider(-1, 2, value=OPENING_PSI, step=0.05, label="psi (truncation)")
                cutoff = gr.Textbox("", label="Cutoff", max_lines=1, placeholder="all",
                                    info="truncate only the first N styles; empty: all")
            with gr.Row():
                noise = gr.Radio(list(NOISE_MODES), value="const", label="Noise",
                                 info="const: the checkpoint's; random: from the noise seed")
                noise_seed = gr.Number(0, label="Noise seed", precision=0, minimum=0)
        with gr.Column(scale=2, min_width=260):
            # drawn when the page loads (the opening seed and psi), not only on Draw
            picture = gr.Image(lambda: opening_face()[0], label="Face", type="pil", format="png", height=256,
                               interactive=False, elem_classes=["facegan-picture"])
            code = gr.Textbox(lambda: opening_face()[1], label="Face code", max_lines=4, buttons=["copy"],
                              interactive=False)
            in_browser = browser.enabled()
            if in_browser:  # the face drawn by the page; the hidden buttons draw on the server instead
                browser.where_note(TECHNIQUE)
                face_server, edit_server = (browser.server_button(TECHNIQUE, w) for w in ("face", "edit"))
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
        with gr.Tab("Edit along a direction") as edit_tab:
            gr.Markdown("Closed-form directions (SeFa, Shen & Zhou 2021): the directions in W that change the "
                        "chosen styles most, strongest first, found from the weights alone; and labelled ones "
                        "(InterFaceGAN, Shen et al. 2020): *hair: blue* and the other hair and eye colours, "
                        "fitted to what a classifier reads in the checkpoint's faces. The current face moves "
                        "along one of them in the chosen styles only; strength 0 is the face itself.")
            has_default, first = _default_labelled()  # a bundled model may ship labelled directions
            with gr.Row():
                # a checkpoint that ships labelled directions opens on one whose effect a user sees at once
                opening = "hair: blue" if first is not None and "hair: blue" in first.names else 0
                direction = gr.Dropdown(direction_choices(first), value=opening, label="Direction",
                                        allow_custom_value=True,
                                        info="SeFa: a number, 0 the strongest; labelled: a name (hair: blue)")
                edit_layers = gr.Dropdown(["coarse", "middle", "fine", "all"], value="coarse" if opening == 0 else "all",
                                          label="Styles",
                                          allow_custom_value=True, info="or indices: 0-3, 4,5, 8-")
                strength = gr.Slider(-20, 20, value=LABELLED_STRENGTH if opening else SEFA_STRENGTH, step=0.5,
                                     label="Strength",
                                     info="along the unit direction in W")
                edit_btn = gr.Button("Edit + strip", variant="primary")
            with gr.Row():
                labelled_note = gr.Markdown(directions_note(first))
                compute_btn = gr.Button("Compute labelled directions", scale=0, min_width=220,
                                        visible=has_default and first is None)
            edit_summary = gr.Markdown()
            with gr.Row():
                edited = gr.Image(label="Edited face", type="pil", format="png", height=256, interactive=False,
                                  elem_classes=["facegan-picture"], scale=1)
                strip = gr.Image(label=f"From -strength to +strength ({STRIP_STEPS} steps)", type="pil",
                                 format="png", interactive=False, buttons=["download"], scale=3)
            if in_browser:
                browser.where_note(f"{TECHNIQUE}-edit")
        with gr.Tab("Your picture"):
            gr.Markdown("Your own picture as a face of this model: the face is cropped as in the other tabs, then "
                        "the latent whose picture is closest to it is searched for (StyleGAN2's projector). Its "
                        "code becomes the current face, so you can mix it, walk from it, vary it and edit it.")
            with gr.Row():
                with gr.Column(scale=2):
                    upload = PictureInput(label="Picture", type="pil", image_mode=None, height=256, format="png",
                                          sources=["upload", "clipboard"])
                    with gr.Row():
                        proj_crop = gr.Radio(CROP_CHOICES, value="auto", label="Face crop",
                                             info="auto: the anime-face detector, then the photo one")
                        proj_space = gr.Radio([("W", "w"), ("W+", "w+")], value="w", label="Space",
                                              info="W: one w for every style; W+: a w per style (closer, less "
                                                   "like the model's own faces)")
                    with gr.Row():
                        proj_quality = gr.Radio([(f"{k} ({n} steps)", k) for k, n in PROJECT_STEPS.items()],
                                                value="quick", label="Search",
                                                info="quick: about 10 s; careful: closer, about 30 s (64 px model, CPU)")
                        proj_steps = gr.Slider(1, checks.MAX_PROJECT_STEPS, value=PROJECT_STEPS["quick"], step=1,
                                               label="Steps", info="about 0.15 s each for a 64 px model on a CPU core")
                        proj_seed = gr.Number(0, label="Seed", precision=0, minimum=0,
                                              info="of the noise the latent explores with")
                    proj_btn = gr.Button("Project", variant="primary")
                    if examples := example_pictures():
                        gr.Examples([[str(p)] for p in examples], [upload],
                                    label="Examples (public-domain photo; faces made by facegan's DCGAN)")
                with gr.Column(scale=3):
                    proj_side = gr.Image(label="Input | projection", type="filepath", interactive=False,
                                         buttons=["download"])
                    proj_video = gr.Video(label="The optimisation", height=192, interactive=False, autoplay=True,
                                          loop=True)
                    proj_code = gr.Textbox(label="Its face code", max_lines=4, buttons=["copy"], interactive=False,
                                           info="usable wherever a seed is")
                    proj_files = gr.File(label="Download: latent, pictures, video, code", file_count="multiple",
                                         interactive=False)

    draw_args = [ckpt, face, *rendering]
    if in_browser:  # seed, code and psi: the page draws, or clicks the hidden button (the endpoint)
        gr.on([draw.click, face.submit, psi.input], None, [*draw_args, picture, code], [picture, code],
              js=browser.js("styleganFace"))
        face_server.click(generate, draw_args, [picture, code], api_name="stylegan_generate")
    else:
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
    if in_browser:  # the strength slider moves the edited face in the page; its strip stays the last drawn
        strength.input(None, [*edit_args, edited], edited, js=browser.js("styleganEdit"))
        edit_server.click(edit, edit_args, [edited, strip, edit_summary], api_visibility="private")
    else:
        strength.release(edit, edit_args, [edited, strip, edit_summary], api_visibility="private")
    compute_btn.click(compute_directions, ckpt, [direction, labelled_note, compute_btn],
                      api_name="stylegan_compute_directions", concurrency_limit=1)
    ckpt.change(directions_for, ckpt, [direction, labelled_note, compute_btn], api_visibility="private")
    # directions computed since the page was built (by this page or another) show up when the sub-tab opens
    edit_tab.select(lambda c: directions_for(c, keep=True), ckpt, [direction, labelled_note, compute_btn],
                    api_visibility="private")
    # a labelled direction moves every style by default (its boundary was fitted on the whole w), a SeFa
    # one the coarse styles; each with a strength that visibly moves a face
    direction.input(direction_defaults, direction, [edit_layers, strength], api_visibility="private", queue=False)

    def open_variation(ckpt_value, psi_value, cutoff_value, noise_value, noise_seed_value, evt: gr.SelectData):
        caption = evt.value.get("caption") if isinstance(evt.value, dict) else None
        if not isinstance(caption, str) or not caption:
            raise gr.Error("pick a face of the variations")
        pic, c = generate(ckpt_value, caption, psi_value, cutoff_value, noise_value, noise_seed_value)
        return c, pic, c  # the face box, the face, its code

    proj_quality.input(lambda q: PROJECT_STEPS.get(q, PROJECT_STEPS["quick"]), proj_quality, proj_steps,
                       api_visibility="private", queue=False)
    around.select(open_variation, [ckpt, *rendering], [face, picture, code], api_visibility="private")
    proj_btn.click(project, [ckpt, upload, proj_crop, proj_steps, proj_space, proj_seed],
                   [proj_side, proj_video, proj_code, proj_files], api_name="stylegan_project",
                   show_progress_on=[proj_side]).success(  # one progress bar (step, loss), not one per output
        use_projection, [ckpt, proj_code, *rendering], [face, picture, code], api_visibility="private")
    return Rendered(ckpt, {"stargan": to_stargan, "ugatit": to_ugatit}, draw_args)


def build_demo() -> gr.Blocks:
    """The StyleGAN studio alone (e.g. for a Space of its own); its send buttons have no tabs to go to."""
    with gr.Blocks(title="facegan · StyleGAN studio") as demo:
        render()
    return demo
