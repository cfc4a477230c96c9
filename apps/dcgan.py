"""DCGAN explorer tab: faces from codes and seeds, ranking by D, offset vectors, morphing.

Thin: widget values -> facegan.pipelines.DCGANPipeline (a facegan.explorer.Explorer) -> pictures.
Every action is a named
endpoint (``dcgan_*``) that gradio_client can call.
"""

from __future__ import annotations

import functools

import gradio as gr

from apps import browser, serving
from apps.common import animation_outputs, checkpoint_chooser, load_model, real, whole
from facegan import checks, latent
from facegan.pipelines import DCGANPipeline

TECHNIQUE = "dcgan"
N_SLIDERS = 16  # article 002's UI: the 16-dim z as 0-255 sliders
START_CODE = "732d4e9480c10995a6e7dee79c05b0e9"  # a face of the bundled model (lavender hair, blue eyes)
# The morph box starts with three faces of the bundled model, so "Make GIF + MP4" works at once.
MORPH_CODES = ["732d4e9480c10995a6e7dee79c05b0e9", "5dfcb27d6fd5d70a40b1d075d72b8c84", "3be354391b0405d3c1aa6c79d5f9f8d9"]
# Faces go out at the model's size (64 px), the browser enlarges them: a 256 px PNG took 15 ms
# to encode, a 64 px one 1 ms (32 faces of a gallery: 130 ms -> 13 ms).
FACE_PX = THUMB_PX = None


def explorer(ckpt: str) -> DCGANPipeline:
    return _explorer_of(load_model(TECHNIQUE, ckpt))


@functools.lru_cache(maxsize=4)
def _explorer_of(model) -> DCGANPipeline:  # one per loaded model: it may hold a bf16 copy
    return DCGANPipeline(model)


def parse_codes(text: str, nz: int, at_least: int = 0, what: str = "codes") -> list[str]:
    """Codes from a textbox (one per line, or separated by spaces/commas) -> normalised list."""
    text = checks.text(text, what, MAX_CODES_CHARS)
    raw = [c for c in text.replace(",", " ").split() if c]
    if len(raw) < at_least:
        raise gr.Error(f"{what}: need at least {at_least} code(s), got {len(raw)}")
    try:
        return [latent.bytes_to_code(latent.code_to_bytes(c, nz)) for c in raw]
    except latent.CodeError as e:
        raise gr.Error(f"{what}: {e}") from None


MAX_SEED = checks.MAX_SEED
MAX_CODES_CHARS = 64 * 1024  # a box of codes: hundreds of them
MAX_MORPH_FRAMES = 600  # all frames of a morph (each 256 px): bounded memory and time


def _check_sliders(ex: DCGANPipeline) -> None:
    if ex.nz != N_SLIDERS:
        raise gr.Error(f"the sliders drive 16-dim models; this checkpoint has nz={ex.nz}: type a {2 * ex.nz}-digit code")


# -- endpoints ------------------------------------------------------------------


def face_from_code(ckpt: str, code: str):
    """dcgan_face: a code -> (face, normalised code, 16 slider values)."""
    ex = explorer(ckpt)
    (code,) = parse_codes(code, ex.nz, 1, "code")
    values = latent.code_to_bytes(code, ex.nz)
    sliders = values[:N_SLIDERS] + [0] * (N_SLIDERS - len(values[:N_SLIDERS]))
    return ex.face(code, FACE_PX), code, *sliders


def check_code(ckpt: str, code: str):
    """The code field's validator: a malformed code gets one message beside the field, and the face
    and sliders stay as they are (a checkpoint that does not load: the event itself says why)."""
    try:
        ex = explorer(ckpt)
    except gr.Error:
        return [gr.validate(True, ""), gr.validate(True, "")]
    try:
        parse_codes(code, ex.nz, 1, "code")
    except (gr.Error, checks.InputError) as e:
        text = str(getattr(e, "message", e))
        return [gr.validate(True, ""), gr.validate(False, text.removeprefix("code: "))]  # shown beside the field
    return [gr.validate(True, ""), gr.validate(True, "")]


def face_from_sliders(ckpt: str, *values: float):
    """dcgan_sliders: 16 values 0-255 -> (face, code)."""
    ex = explorer(ckpt)
    _check_sliders(ex)
    if len(values) != N_SLIDERS:
        raise gr.Error(f"give {N_SLIDERS} slider values, got {len(values)}")
    code = latent.bytes_to_code(round(real(v, f"z{i}", 0, 255)) for i, v in enumerate(values))
    return ex.face(code, FACE_PX), code


def random_face(ckpt: str):
    """dcgan_random: a random face -> (face, code, 16 slider values)."""
    ex = explorer(ckpt)
    return face_from_code(ckpt, ex.random_codes(1)[0])


def generate(ckpt: str, seed: float, count: float):
    """dcgan_generate: ``count`` faces from ``seed`` -> gallery of (face, code)."""
    ex = explorer(ckpt)
    codes = ex.random_codes(whole(count, "faces", 1, checks.MAX_FACES), whole(seed, "seed", 0, MAX_SEED))
    return list(zip(ex.faces(codes, THUMB_PX), codes))


MAX_RANK_SHOWN = 32  # best and worst faces shown by a ranking (the slider's top)


def rank(ckpt: str, n: float, k: float, seed: float):
    """dcgan_rank: ``n`` faces from ``seed`` scored by D -> (best k, worst k) galleries."""
    ex = explorer(ckpt)
    n = whole(n, "N", 1, checks.MAX_RANK)
    k = whole(k, "k", 1, min(n, MAX_RANK_SHOWN))  # thumbnails are what costs: 2 x 4096 took over 60 s
    r = ex.rank(ex.random_codes(n, whole(seed, "seed", 0, MAX_SEED)))
    pics = ex.faces(r.codes[:k] + r.codes[-k:], THUMB_PX)
    label = [f"{c} · D {s:.3f}" for c, s in zip(r.codes, r.scores)]
    best = list(zip(pics[:k], label[:k]))
    worst = list(zip(pics[k:], label[-k:]))[::-1]  # worst first
    return best, worst


def offset(ckpt: str, good: str, bad: str, strength: float, seed: float, count: float):
    """dcgan_offset: new samples with and without strength * (mean(good) - mean(bad)) added."""
    ex = explorer(ckpt)
    strength = real(strength, "strength", -checks.MAX_STRENGTH, checks.MAX_STRENGTH)
    good_codes = parse_codes(good, ex.nz, 1, "good faces")
    bad_codes = parse_codes(bad, ex.nz, 1, "bad faces")
    codes = ex.random_codes(whole(count, "faces", 1, checks.MAX_FACES), whole(seed, "seed", 0, MAX_SEED))
    steered = ex.steer(codes, good_codes, bad_codes, strength)
    info = (f"mean of good: `{ex.code(ex.z(good_codes).mean(0))}` · mean of bad: "
            f"`{ex.code(ex.z(bad_codes).mean(0))}` · offset norm "
            f"{ex.offset(good_codes, bad_codes).norm():.3f} (latent units)")
    return list(zip(ex.faces(codes, THUMB_PX), codes)), list(zip(ex.faces(steered, THUMB_PX), steered)), info


def morph(ckpt: str, codes: str, frames: float, mode: str, loop: bool, fps: float):
    """dcgan_morph: a GIF and an MP4 through 2+ codes -> (gif, mp4, [gif, mp4] downloads)."""
    ex = explorer(ckpt)
    code_list = parse_codes(codes, ex.nz, 2, "morph")
    if len(code_list) > checks.MAX_MORPH_FACES:
        raise gr.Error(f"morph: at most {checks.MAX_MORPH_FACES} faces, got {len(code_list)}")
    if mode not in ("lerp", "slerp"):
        raise gr.Error(f"interpolation is 'lerp' or 'slerp', not {checks.quote(mode)}")
    frames = whole(frames, "frames per face", 2, checks.MAX_FRAMES)
    if frames * len(code_list) > MAX_MORPH_FRAMES:
        raise gr.Error(f"morph: {len(code_list)} faces x {frames} frames is more than {MAX_MORPH_FRAMES} frames "
                       "in all: fewer faces or frames per face")
    fps = whole(fps, "fps", 1, checks.MAX_FPS)
    gif, mp4 = ex.morph(code_list, frames, mode, fps, checks.yes_no(loop, "loop"), out_dir=serving.scratch_dir())
    return str(gif), str(mp4), [str(gif), str(mp4)]


def append_code(box: str, code: str) -> str:
    box, code = checks.text(box, "codes", MAX_CODES_CHARS), checks.text(code, "code", 200).strip()
    lines = [c for c in box.split("\n") if c.strip()]
    return "\n".join(lines + [code] if code else lines)


# -- layout ---------------------------------------------------------------------


def render():
    """The tab's widgets and events, inside an open Blocks/Tab. Returns the checkpoint chooser
    and the (fn, inputs, outputs) that shows the first face on page load."""
    ckpt, _ = checkpoint_chooser(TECHNIQUE)
    start = latent.code_to_bytes(START_CODE)

    gr.Markdown("### Explore one face\nMove a slider (each is one of the 16 latent dimensions, 0-255) "
                "or paste a 32-hex-digit code: the code reproduces the face exactly.")
    with gr.Row():
        with gr.Column(scale=3):
            sliders = []
            with gr.Row():
                for col in range(2):
                    with gr.Column(min_width=200):
                        for i in range(col * 8, col * 8 + 8):
                            sliders.append(gr.Slider(0, 255, value=start[i], step=1, label=f"z{i}"))
        with gr.Column(scale=2):
            face = gr.Image(label="Face", type="pil", format="png", height=256, interactive=False,
                            elem_classes=["facegan-picture"])
            code = gr.Textbox(START_CODE, label="Code", info="32 hex digits; press Enter to apply",
                              max_lines=1, buttons=["copy"])
            in_browser = browser.enabled()
            if in_browser:  # the face drawn by the page; these hidden buttons draw it on the server instead
                browser.where_note(TECHNIQUE)
                face_server, sliders_server = browser.server_button(TECHNIQUE, "face"), browser.server_button(
                    TECHNIQUE, "sliders")
            with gr.Row():
                random_btn = gr.Button("🎲 Random face")
                good_btn = gr.Button("👍 Good")
                bad_btn = gr.Button("👎 Bad")
                morph_btn = gr.Button("➕ To morph")

    with gr.Tabs():
        with gr.Tab("Faces from a seed"):
            gr.Markdown("Click a face to open it above.")
            with gr.Row():
                seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                count = gr.Slider(1, 64, value=32, step=1, label="Faces")
                grid_btn = gr.Button("Generate", variant="primary")
            gallery = gr.Gallery(label="Faces", columns=8, height="auto", object_fit="contain", format="png")

        with gr.Tab("Ranking by D"):
            gr.Markdown("Generate N faces and show the k that the discriminator finds most and least real "
                        "(article 002: often, but not always, the better and the worse faces).")
            with gr.Row():
                rank_n = gr.Slider(8, 512, value=128, step=1, label="N faces")
                rank_k = gr.Slider(1, MAX_RANK_SHOWN, value=10, step=1, label="k")
                rank_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                rank_btn = gr.Button("Rank", variant="primary")
            # captions "<code> · D <score>" cut from the left, so that the score is shown whole
            best = gr.Gallery(label="Best k (highest D score)", columns=10, height="auto", format="png",
                              elem_classes=["facegan-codes"])
            worst = gr.Gallery(label="Worst k (lowest D score)", columns=10, height="auto", format="png",
                               elem_classes=["facegan-codes"])

        with gr.Tab("Offset vectors"):
            gr.Markdown("Mark faces 👍 / 👎 above (or paste codes). The average of the good codes minus the "
                        "average of the bad ones is added to new samples (article 002).")
            with gr.Row():
                good = gr.Textbox(label="Good codes", lines=4, placeholder="one code per line")
                bad = gr.Textbox(label="Bad codes", lines=4, placeholder="one code per line")
            with gr.Row():
                strength = gr.Slider(0, 2, value=1.0, step=0.05, label="Strength")
                off_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                off_count = gr.Slider(1, 32, value=16, step=1, label="Faces")
                off_btn = gr.Button("Apply offset", variant="primary")
            off_info = gr.Markdown()
            with gr.Row():
                before = gr.Gallery(label="Without offset", columns=4, height="auto", format="png")
                after = gr.Gallery(label="With offset", columns=4, height="auto", format="png")

        with gr.Tab("Morph"):
            gr.Markdown("Two or more codes (➕ adds the current face); lerp or slerp between them.")
            with gr.Row():
                morph_codes = gr.Textbox("\n".join(MORPH_CODES), label="Codes", lines=5, placeholder="one code per line")
                with gr.Column():
                    frames = gr.Slider(2, 60, value=24, step=1, label="Frames per face")
                    mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Interpolation")
                    with gr.Row():
                        loop = gr.Checkbox(True, label="Loop back to the first face")
                        fps = gr.Slider(5, 30, value=20, step=1, label="FPS")
                    morph_go = gr.Button("Make GIF + MP4", variant="primary")
            gif, mp4, files = animation_outputs(256)

    # -- events: the named ones are the API (see README) --------------------------
    if in_browser:  # a move sends nothing: the page draws, or clicks the server's hidden button (the endpoint)
        code.submit(None, [ckpt, code, face, *sliders], [face, code, *sliders], js=browser.js("dcganCode"))
        gr.on([s.input for s in sliders], None, [ckpt, *sliders, face, code], [face, code],
              js=browser.js("dcganSliders"))
        code_event, sliders_event = face_server.click, [sliders_server.click]
    else:
        code_event, sliders_event = code.submit, [s.release for s in sliders]
    code_event(face_from_code, [ckpt, code], [face, code, *sliders], api_name="dcgan_face", validator=check_code)
    gr.on(sliders_event, face_from_sliders, [ckpt, *sliders], [face, code], api_name="dcgan_sliders")
    random_btn.click(random_face, [ckpt], [face, code, *sliders], api_name="dcgan_random")
    grid_btn.click(generate, [ckpt, seed, count], gallery, api_name="dcgan_generate")
    rank_btn.click(rank, [ckpt, rank_n, rank_k, rank_seed], [best, worst], api_name="dcgan_rank")
    off_btn.click(offset, [ckpt, good, bad, strength, off_seed, off_count], [before, after, off_info],
                  api_name="dcgan_offset")
    morph_go.click(morph, [ckpt, morph_codes, frames, mode, loop, fps], [gif, mp4, files], api_name="dcgan_morph")

    def open_selected(ckpt_value, evt: gr.SelectData):
        caption = evt.value.get("caption") if isinstance(evt.value, dict) else None
        if not isinstance(caption, str) or not caption.strip():
            raise gr.Error("pick a face of the gallery")
        return face_from_code(ckpt_value, caption.split(" ")[0])

    for g in (gallery, best, worst, before, after):
        g.select(open_selected, [ckpt], [face, code, *sliders], api_visibility="private")
    good_btn.click(append_code, [good, code], good, api_visibility="private", queue=False)
    bad_btn.click(append_code, [bad, code], bad, api_visibility="private", queue=False)
    morph_btn.click(append_code, [morph_codes, code], morph_codes, api_visibility="private", queue=False)
    ckpt.change(face_from_code, [ckpt, code], [face, code, *sliders], api_visibility="private")
    return ckpt, (face_from_code, [ckpt, code], [face, code, *sliders])


def build_demo() -> gr.Blocks:
    """The DCGAN explorer alone (e.g. for a Space of its own)."""
    with gr.Blocks(title="facegan · DCGAN explorer") as demo:
        _, (fn, inputs, outputs) = render()
        demo.load(fn, inputs, outputs, api_visibility="private")
    return demo
