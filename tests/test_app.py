"""The app end to end: apps.main.build_demo() served in-process on 127.0.0.1 and driven
through gradio_client, the way a script (or the README's examples) would use it.

One server for the module. FACEGAN_RUNS points at a temporary folder before the app is
built, so every training job of these tests writes there; HF_HUB_OFFLINE makes the
default checkpoint the bundled one without touching the network.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from facegan import hub, jobs, latent

CODE = "732d4e9480c10995a6e7dee79c05b0e9"  # the app's start code
OTHER = "82763953b2740fef4d321dde7af002f7"
HEX32 = re.compile(r"[0-9a-f]{32}")
TINY_MODEL = '{"ngf": 8, "ndf": 8}'
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `apps` is not an installed package: plain `pytest` finds it too
    sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- fixtures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def client(runs, tmp_path_factory):
    """The whole app on a free port; jobs still running at the end are stopped."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEGAN_RUNS", str(runs))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        mp.setenv("OMP_NUM_THREADS", "1")  # for the training subprocesses
        from apps.main import build_demo
        from apps.serving import Settings

        # The tests' data sets and checkpoints live under pytest's temporary folder: the operator's
        # --data-dir / --checkpoint-dir. Runs are named, under FACEGAN_RUNS.
        base = tmp_path_factory.getbasetemp()
        demo = build_demo(Settings(training=True, data_dirs=[base], checkpoint_dirs=[base]))
        # gradio's launch gives up if its first self-check of the page takes > 3 s (a busy CPU): try again.
        for attempt in range(3):
            port = free_port()
            try:
                demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
                break
            except Exception:  # re-raised on the last attempt
                demo.close()
                if attempt == 2:
                    raise
        try:
            yield Client(f"http://127.0.0.1:{port}/", verbose=False)
        finally:
            for pid, proc in list(jobs._children.items()):  # only processes this app started
                if proc.poll() is None:
                    os.kill(pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            demo.close()


@pytest.fixture(scope="module")
def tiny_faces(tmp_path_factory) -> Path:
    """16 random 64x64 PNGs."""
    folder = tmp_path_factory.mktemp("tiny_faces")
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"face_{i:02d}.png")
    return folder


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def same_picture(a, b, tol: int = 0) -> bool:
    pa, pb = pixels(a), pixels(b)
    return pa.shape == pb.shape and int(np.abs(pa - pb).max()) <= tol


def library_face(code: str, size: int, ckpt: str = "default") -> np.ndarray:
    """The face of ``code`` rendered here with the library (the model makes 64 px; the app may enlarge)."""
    from apps.common import load_model
    from facegan.explorer import Explorer

    pic = Explorer(load_model("dcgan", ckpt)).faces([code])[0]
    if pic.size != (size, size):
        pic = pic.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(pic.convert("RGB"), dtype=np.int16)


def face(client, code, ckpt="default"):
    return client.predict(ckpt, code, api_name="/dcgan_face")


def wait_for(client, out, states, timeout=120.0, pred=lambda st: True) -> dict:
    deadline = time.time() + timeout
    st = {}
    while time.time() < deadline:
        st, _sample, _plot = client.predict(Path(out).name, api_name="/train_status")
        if st.get("state") in states and pred(st):
            return st
        if st.get("state") in ("died", "failed"):
            pytest.fail(f"training job {st.get('state')}: {st.get('error')}")
        time.sleep(0.3)
    pytest.fail(f"job in {out} did not reach {states} in {timeout:.0f} s; last status {st}")


def start_job(client, data, out, steps, batch=4, resume=False, model=TINY_MODEL):
    return client.predict("dcgan", str(data) if data is not None else "", steps, batch, Path(out).name, resume,
                          model, api_name="/train_start")


def run_checkpoint(runs: Path, public: str) -> Path:
    """A status's checkpoint ("runs/<run>/checkpoints/step-N") as the folder under the runs root."""
    assert public.startswith("runs/"), public
    return runs / public[len("runs/"):]


# ----------------------------------------------------------------------------- DCGAN explorer


def test_face_is_reproducible_from_its_code_and_sliders(client):
    img1, code1, *sliders1 = face(client, CODE.upper())  # codes are case-insensitive, normalised on the way back
    img2, code2, *sliders2 = face(client, CODE)
    assert code1 == code2 == CODE
    assert Path(img1).read_bytes() == Path(img2).read_bytes()
    assert same_picture(img1, img2)
    size = pixels(img1).shape[0]
    assert size >= 64 and pixels(img1).shape == (size, size, 3) and pixels(img1).std() > 1  # a picture
    assert np.abs(pixels(img1) - library_face(CODE, size)).max() <= 2  # the model's face for that code
    assert sliders1 == sliders2 == latent.code_to_bytes(CODE)
    assert len(sliders1) == 16

    img3, code3 = client.predict("default", *sliders1, api_name="/dcgan_sliders")
    assert code3 == CODE
    assert same_picture(img3, img1)

    # A different code is a different face: the comparison above can fail.
    other, other_code, *_ = face(client, OTHER)
    assert other_code == OTHER
    assert not same_picture(other, img1, tol=2)
    moved = list(sliders1)
    moved[0] = 255 - moved[0]
    img4, code4 = client.predict("default", *moved, api_name="/dcgan_sliders")
    assert code4 == latent.bytes_to_code(moved)
    assert not same_picture(img4, img1)


@pytest.mark.parametrize("bad", ["xyz", CODE[:-1]])
def test_bad_code_says_what_a_code_is(client, bad):
    """The code field's validator answers (gradio_client raises ValidationError, naming the field; the
    tab shows the message beside the code and leaves the face and sliders as they were)."""
    from gradio_client.exceptions import ValidationError

    with pytest.raises(ValidationError, match=r"32 hex digits") as e:
        face(client, bad)
    assert repr(bad) in str(e.value)
    img, code, *_ = face(client, OTHER)  # the server still answers
    assert code == OTHER and Path(img).is_file()


# Gradio checks a slider's range and a radio's choices itself; the app's own checks
# (apps.dcgan.whole) cover what the widgets don't bound. Either way: a message, no crash.
@pytest.mark.parametrize(("endpoint", "args", "says"), [
    ("/dcgan_generate", (0, 0), r"less than minimum value 1|must be between 1 and 256"),
    ("/dcgan_generate", (0, 10**6), r"greater than maximum value|must be between 1 and 256"),
    ("/dcgan_rank", (16, 17, 0), r"k must be between 1 and 16"),
    ("/dcgan_morph", (f"{CODE}\n{OTHER}", 10**5, "slerp", True, 10), r"greater than maximum value|must be between"),
    ("/dcgan_morph", (f"{CODE}\n{OTHER}", 4, "cubic", True, 10), r"cubic"),
])
def test_out_of_range_numbers_are_refused_and_the_server_lives(client, endpoint, args, says):
    with pytest.raises(AppError, match=says):
        client.predict("default", *args, api_name=endpoint)
    assert len(client.predict("default", 1, 2, api_name="/dcgan_generate")) == 2


def test_generate_is_seeded_and_matches_single_faces(client):
    g1 = client.predict("default", 7, 4, api_name="/dcgan_generate")
    g2 = client.predict("default", 7, 4, api_name="/dcgan_generate")
    g3 = client.predict("default", 8, 4, api_name="/dcgan_generate")
    caps = [x["caption"] for x in g1]
    assert len(g1) == 4 and all(HEX32.fullmatch(c) for c in caps)
    assert caps == [x["caption"] for x in g2] == latent.random_codes(4, 16, 7)
    assert caps != [x["caption"] for x in g3]
    assert all(same_picture(a["image"], b["image"]) for a, b in zip(g1, g2))
    # Each gallery face is the face of its caption's code (batched vs single generation: +-1 rounding).
    size = pixels(g1[1]["image"]).shape[0]
    single = library_face(caps[1], size)
    assert np.abs(pixels(g1[1]["image"]) - single).max() <= 3
    assert np.abs(pixels(g1[0]["image"]) - single).max() > 3


def test_rank_sorts_by_discriminator_score(client):
    from apps.common import load_model
    from facegan.explorer import Explorer

    n, k, seed = 8, 3, 5
    best, worst = client.predict("default", n, k, seed, api_name="/dcgan_rank")
    assert len(best) == len(worst) == k

    def parse(gallery):
        out = []
        for item in gallery:
            m = re.fullmatch(r"([0-9a-f]{32}) · D ([0-9.]+)", item["caption"])
            assert m, item["caption"]
            out.append((m.group(1), float(m.group(2))))
        return out

    b, w = parse(best), parse(worst)
    scores_best, scores_worst = [s for _, s in b], [s for _, s in w]
    assert scores_best == sorted(scores_best, reverse=True)
    assert scores_worst == sorted(scores_worst)  # worst first
    assert min(scores_best) >= max(scores_worst)
    codes = latent.random_codes(n, 16, seed)
    assert {c for c, _ in b} | {c for c, _ in w} <= set(codes)
    assert not {c for c, _ in b} & {c for c, _ in w}
    # The same ranking, computed here with the library on the same model.
    r = Explorer(load_model("dcgan", "default")).rank(codes)
    assert [c for c, _ in b] == r.codes[:k]
    assert [c for c, _ in w] == r.codes[-k:][::-1]
    assert scores_best == pytest.approx(r.scores[:k], abs=6e-4)


def test_offset_strength_zero_keeps_the_codes(client):
    good, bad = "ff" * 16, "00" * 16
    before, after, info = client.predict("default", good, bad, 0.0, 3, 3, api_name="/dcgan_offset")
    codes = [x["caption"] for x in before]
    assert codes == latent.random_codes(3, 16, 3)
    assert [x["caption"] for x in after] == codes
    assert all(same_picture(x["image"], y["image"]) for x, y in zip(before, after))
    assert "ffffffff" in info and "00000000" in info

    before1, after1, _ = client.predict("default", good, bad, 0.5, 3, 3, api_name="/dcgan_offset")
    assert [x["caption"] for x in before1] == codes
    moved = [x["caption"] for x in after1]
    # good - bad = +2 latent units in every dimension: half of it is +1 = +127.5 bytes, clamped at 255.
    for c, m in zip(codes, moved):
        for b, mb in zip(latent.code_to_bytes(c), latent.code_to_bytes(m)):
            assert abs(mb - min(255.0, b + 127.5)) <= 0.5
    assert moved != codes


def test_offset_rejects_bad_codes(client):
    with pytest.raises(AppError, match=r"good faces: .*32 hex digits"):
        client.predict("default", "nope", "00" * 16, 1.0, 0, 2, api_name="/dcgan_offset")


def test_morph_makes_gif_and_mp4(client):
    frames = 3
    gif, mp4, files = client.predict("default", f"{CODE}\n{OTHER}", frames, "slerp", True, 10, api_name="/dcgan_morph")
    with Image.open(gif) as im:
        assert im.format == "GIF"
        assert im.n_frames == frames * 2  # two segments, looping back to the first face
        assert im.size == (256, 256)
    mp4 = mp4["video"] if isinstance(mp4, dict) else mp4
    assert Path(mp4).stat().st_size > 0
    assert sorted(Path(f).suffix for f in files) == [".gif", ".mp4"]
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return
    reader = imageio.get_reader(mp4)
    try:
        first = reader.get_data(0)
    finally:
        reader.close()
    assert first.shape[:2] == (256, 256)

    with pytest.raises(AppError, match=r"at least 2"):
        client.predict("default", CODE, frames, "slerp", True, 10, api_name="/dcgan_morph")


# ----------------------------------------------------------------------------- training


def test_train_tiny_run_then_use_its_checkpoint(client, runs, tiny_faces):
    out = runs / "tiny"
    assert start_job(client, tiny_faces, out, steps=3) == out.name
    st = wait_for(client, str(out), {"finished"})
    assert st["step"] == 3 and st["steps"] == 3
    assert st["losses"] and all(math.isfinite(v) for v in st["losses"].values())
    assert st["checkpoint"] == "runs/tiny/checkpoints/step-000003"  # public: no server path
    ckpt = run_checkpoint(runs, st["checkpoint"])
    model = hub.load_folder(ckpt)
    assert model.config.ngf == 8 and model.config.ndf == 8
    assert ckpt in jobs.finished_checkpoints(technique="dcgan")
    assert json.loads((out / "run.json").read_text())["model_config"]["ngf"] == 8

    # The explorer uses the new checkpoint: a different model, so a different face for the same code.
    img, code, *_ = face(client, CODE, ckpt=str(ckpt))
    assert code == CODE
    size = pixels(img).shape[0]
    assert np.abs(pixels(img) - library_face(CODE, size, ckpt=str(ckpt))).max() <= 2
    assert np.abs(pixels(img) - library_face(CODE, size)).max() > 2  # not the default model's face

    # Its folder now holds a run: starting afresh there is refused.
    with pytest.raises(AppError, match="already holds a run"):
        start_job(client, tiny_faces, out, steps=3)


def test_train_starts_from_an_exported_model_the_form_offers(client, runs, tiny_faces):
    """"Start from" a run's checkpoint: the new run's run.json names it and its G starts as that one's;
    a folder the chooser does not offer is refused before anything starts."""
    first = runs / "tiny-source"
    start_job(client, tiny_faces, first, steps=2)
    ckpt = run_checkpoint(runs, wait_for(client, str(first), {"finished"})["checkpoint"])
    warm = runs / "tiny-warm"
    client.predict("dcgan", str(tiny_faces), 2, 4, warm.name, False, TINY_MODEL, 1,
                   f"runs/{first.name}/checkpoints/{ckpt.name}", 0, api_name="/train_start")
    wait_for(client, str(warm), {"finished"})
    assert json.loads((warm / "run.json").read_text())["init"] == str(ckpt)
    for bad, says in (("/etc", "not one this app offers"), ("checkpoints/stylegan-anime-64", "not a dcgan checkpoint")):
        with pytest.raises(AppError, match=says):
            client.predict("dcgan", str(tiny_faces), 2, 4, "tiny-bad", False, TINY_MODEL, 1, bad, 0,
                           api_name="/train_start")
    assert not (runs / "tiny-bad").exists()


def test_train_start_refuses_bad_folders_without_starting_anything(client, runs, tmp_path):
    before = set(jobs._children)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [(empty, "no images"), (tmp_path / "missing", "not one of this app's data sets"),
             (None, "choose a data folder")]
    for i, (data, msg) in enumerate(cases):
        out = runs / f"refused-{i}"
        with pytest.raises(AppError, match=msg):
            start_job(client, data, out, steps=3)
        assert not out.exists()
    out = runs / "no-run-json"
    out.mkdir()
    with pytest.raises(AppError, match="nothing to resume"):
        start_job(client, None, out, steps=3, resume=True)
    assert not (out / "job.json").exists()
    with pytest.raises(AppError, match="model config"):
        start_job(client, empty, runs / "bad-config", steps=3, model='{"no_such_field": 1}')
    assert set(jobs._children) == before  # no process was started
    assert jobs.active() is None or jobs.status(jobs.active())["state"] != "starting"


def test_one_job_at_a_time_and_stop_keeps_a_checkpoint(client, runs, tiny_faces):
    out = runs / "long"
    assert start_job(client, tiny_faces, out, steps=100_000) == out.name
    # Past the first logged step: the job's SIGTERM handler is in place and it has trained.
    st = wait_for(client, str(out), {"running"}, pred=lambda st: st.get("step", 0) > 0)
    assert st["running"]
    assert jobs.active() == out
    with pytest.raises(AppError, match="already running"):
        start_job(client, tiny_faces, runs / "second", steps=3)
    assert not (runs / "second").exists()

    st = client.predict(out.name, api_name="/train_stop")
    assert st["state"] == "stopped" and not st["running"]
    assert 0 < st["step"] < 100_000
    ckpt = run_checkpoint(runs, st["checkpoint"])
    assert ckpt.name == f"step-{st['step']:06d}" and ckpt.parent == out / "checkpoints"
    hub.load_folder(ckpt)
    assert jobs.active() is None
    with pytest.raises(AppError, match="no training job is running"):
        client.predict(out.name, api_name="/train_stop")


def test_stop_while_starting_is_stopped_not_died(client, runs, tiny_faces):
    """Stop pressed before the job has trained (still importing / loading data): 'stopped', no error."""
    out = runs / "stopped-early"
    assert start_job(client, tiny_faces, out, steps=100_000) == out.name
    st = client.predict(out.name, api_name="/train_stop")
    assert st["state"] == "stopped" and not st["running"]
    assert not st.get("error")
    assert jobs.active() is None


def test_watch_a_run_started_in_a_terminal(client, runs, tiny_faces):
    """A run started with `facegan train` under the runs root (not under cwd or /tmp, which
    gradio serves files from) is watched by its name: status, loss table and its sample grid."""
    from facegan.models import dcgan
    from facegan.train import TrainConfig, train

    out = runs / "cli-run"
    train("dcgan", str(tiny_faces), out, dcgan.Config(ngf=8, ndf=8),
          TrainConfig(steps=2, batch_size=4, log_every=1, sample_every=2, checkpoint_every=2))
    st, sample, plot = client.predict("cli-run", api_name="/train_status")
    assert st["state"] == "finished" and st["step"] == 2 and st["run"] == "cli-run"
    with Image.open(sample) as im:  # the grid of 64 faces came back as a picture
        expected = Image.open(out / "samples" / "latest.png").convert("RGB")
        assert im.size == expected.size
        assert np.array_equal(np.asarray(im.convert("RGB")), np.asarray(expected))
    assert plot is not None


# ----------------------------------------------------------------------------- U-GAT-IT converter


@pytest.fixture(scope="module")
def ugatit_ckpt(tmp_path_factory) -> str:
    """A tiny random U-GAT-IT (generators only) saved as a checkpoint folder."""
    import torch

    from facegan.models import ugatit

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("ugatit") / "tiny"
    hub.save_pretrained(ugatit.Model(ugatit.Config(ch=4, n_res=1, discriminators=False)), folder)
    return str(folder)


def picture_file(folder: Path, name: str, mode: str, size: tuple[int, int]) -> str:
    rng = np.random.default_rng(len(name))
    arr = rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
    im = Image.fromarray(arr, "RGBA")
    im = im.convert(mode) if mode != "RGBA" else im
    path = folder / name
    im.save(path)
    return str(path)


def convert(client, ckpt, path, direction="a2b", crop="auto", face_no=0):
    from gradio_client import handle_file

    return client.predict(ckpt, handle_file(path), direction, crop, face_no, api_name="/ugatit_convert")


@pytest.mark.parametrize(("mode", "size"), [("L", (150, 120)), ("RGBA", (128, 128)), ("RGB", (1200, 90))],
                         ids=["greyscale", "rgba", "very-wide"])
def test_ugatit_converts_any_picture(client, ugatit_ckpt, tmp_path, mode, size):
    path = picture_file(tmp_path, f"in.{'png' if mode != 'RGB' else 'jpg'}", mode, size)
    result, attention, side, found, notes = convert(client, ugatit_ckpt, path, "b2a")
    assert "anime → selfie" in notes and "No face found" in notes and found is None
    out, att, both = pixels(result), pixels(attention), pixels(side)
    s = hub.load_folder(ugatit_ckpt).config.image_size  # pictures come at the model's size; the browser enlarges
    assert out.shape == att.shape == (s, s, 3) and both.shape == (s, 3 * s, 3)
    assert out.std() > 0 and np.abs(both[:, s:2 * s] - out).max() <= 2  # the download holds the result
    again = convert(client, ugatit_ckpt, path, "b2a")
    assert same_picture(again[0], result)  # deterministic
    other = convert(client, ugatit_ckpt, path, "a2b")  # the other generator: another picture
    assert not same_picture(other[0], result, tol=2)


def test_ugatit_crops_a_face_and_offers_each_face(client, ugatit_ckpt):
    photo = str(ROOT / "assets" / "examples" / "astronaut.jpg")
    _result, _attention, side, found, notes = convert(client, ugatit_ckpt, photo, "a2b", "auto")
    assert "No face found" not in notes and found is not None
    whole = convert(client, ugatit_ckpt, photo, "a2b", "none")
    assert not same_picture(whole[2], side, tol=2)  # the crop changed what was translated
    with pytest.raises(AppError, match=r"face 3 asked for, but 1 face"):
        convert(client, ugatit_ckpt, photo, "a2b", "photo", 3)


def test_ugatit_refuses_a_non_picture_and_lives(client, ugatit_ckpt, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is not a picture\n")
    with pytest.raises(AppError, match=r"not a picture"):
        convert(client, ugatit_ckpt, str(bogus))
    with pytest.raises(AppError, match=r"not a U-GAT-IT model"):
        convert(client, str(ROOT / "checkpoints" / "dcgan-anime-64"), picture_file(tmp_path, "ok.png", "RGB", (64, 64)))
    result, *_ = convert(client, ugatit_ckpt, picture_file(tmp_path, "ok2.png", "RGB", (64, 64)))
    assert pixels(result).shape == (128, 128, 3)  # the server still answers


def test_train_a_tiny_ugatit_job_and_convert_with_it(client, runs, tmp_path):
    from test_ugatit import make_two_domains

    root = make_two_domains(tmp_path / "two")
    with pytest.raises(AppError, match=r"trainA/ and trainB/"):  # an ordinary image folder is refused up front
        client.predict("ugatit", str(root / "trainA"), 2, 1, "ug-bad", False, "", api_name="/train_start")
    assert not (runs / "ug-bad").exists()

    out = runs / "ug"
    model = '{"image_size": 96, "ch": 4, "n_res": 1}'
    assert client.predict("ugatit", str(root), 2, 1, out.name, False, model, api_name="/train_start") == out.name
    st = wait_for(client, str(out), {"finished"})
    assert st["step"] == 2 and {"loss_d", "loss_cycle", "loss_cam"} <= set(st["losses"])
    with Image.open(out / "samples" / "latest.png") as grid:  # rows: A, attention, A→B, A→B→A, B, ...
        assert grid.size == (8 * 98 + 2, 2 * 98 + 2)
    ckpt = run_checkpoint(runs, st["checkpoint"])
    assert ckpt in jobs.finished_checkpoints(technique="ugatit")
    result, *_ = convert(client, str(ckpt), picture_file(tmp_path, "p.png", "RGB", (120, 100)), "a2b", "none")
    assert pixels(result).shape == (96, 96, 3)


# ----------------------------------------------------------------------------- StarGAN editor

HAIR3, EYES2 = ("black", "blue", "pink"), ("green", "red")


@pytest.fixture(scope="module")
def stargan_ckpt(tmp_path_factory) -> str:
    """A tiny random StarGAN (32 px, hair: 3 colours, eyes: 2) saved as a checkpoint folder."""
    import torch

    from facegan.labels import LabelSpec, anime_labels
    from facegan.models import stargan

    torch.manual_seed(0)
    cfg = stargan.Config(image_size=32, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=4,
                         labels=LabelSpec.of(anime_labels(HAIR3, EYES2)))
    folder = tmp_path_factory.mktemp("stargan") / "tiny"
    hub.save_pretrained(stargan.Model(cfg), folder)
    return str(folder)


def star_grid(client, ckpt, path, group="hair", crop="auto", face_no=0):
    from gradio_client import handle_file

    return client.predict(ckpt, handle_file(path), group, crop, face_no, api_name="/stargan_grid")


def star_edit(client, ckpt, path, target, crop="auto", face_no=0):
    from gradio_client import handle_file

    return client.predict(ckpt, handle_file(path), target, crop, face_no, api_name="/stargan_edit")


def test_stargan_grid_gives_each_domain_with_its_label(client, stargan_ckpt, tmp_path):
    from facegan.editor import Editor

    path = picture_file(tmp_path, "in.png", "RGB", (90, 70))
    gallery, grid_png, notes = star_grid(client, stargan_ckpt, path, "hair", "none")
    assert [x["caption"] for x in gallery] == ["input", *HAIR3]
    assert "Every hair (3)" in notes and "reads as" in notes
    want = Editor(hub.load_folder(stargan_ckpt)).grid(Image.open(path), "hair", "none", display=None,
                                                      grid_size=128)  # the app's sizes
    for item, (pic, label) in zip(gallery[1:], want.pictures):
        assert item["caption"] == label
        assert np.abs(pixels(item["image"]) - np.asarray(pic, np.int16)).max() <= 1  # the library's picture
    assert not same_picture(gallery[1]["image"], gallery[2]["image"], tol=2)  # each domain its own picture
    with Image.open(grid_png) as im:
        assert im.format == "PNG" and im.size == want.grid.size
    eyes, _, _ = star_grid(client, stargan_ckpt, path, "eyes", "none")
    assert [x["caption"] for x in eyes] == ["input", *EYES2]
    with pytest.raises(AppError, match=r"'wings' is not a label group .* hair, eyes"):
        star_grid(client, stargan_ckpt, path, "wings", "none")


def test_stargan_edit_takes_json_target_labels(client, stargan_ckpt, tmp_path):
    from facegan.editor import Editor

    path = picture_file(tmp_path, "in.png", "RGB", (64, 64))
    result, notes = star_edit(client, stargan_ckpt, path, '{"hair": "blue", "eyes": "red"}', "none")
    assert "Edited to hair blue, eyes red" in notes
    want = Editor(hub.load_folder(stargan_ckpt)).edit(Image.open(path), {"hair": "blue", "eyes": "red"}, "none",
                                                      display=None)
    assert np.abs(pixels(result) - np.asarray(want.output, np.int16)).max() <= 1
    other, _ = star_edit(client, stargan_ckpt, path, '{"hair": "pink", "eyes": "red"}', "none")
    assert not same_picture(other, result, tol=2)
    for target, says in (('{"hair": "gold"}', r"'gold' is not one of the 3 hair values: black, blue, pink"),
                         ('{"hair": blue}', r"not JSON"), ('["blue"]', r"JSON object"),
                         ('{"wings": "blue"}', r"no label group 'wings'")):
        with pytest.raises(AppError, match=says):
            star_edit(client, stargan_ckpt, path, target, "none")


def test_stargan_without_a_face_uses_the_whole_picture_and_says_so(client, stargan_ckpt, tmp_path):
    path = picture_file(tmp_path, "noise.png", "RGB", (120, 80))
    result, notes = star_edit(client, stargan_ckpt, path, '{"hair": "pink"}', "auto")
    assert "No face found" in notes
    whole_pic, notes_off = star_edit(client, stargan_ckpt, path, '{"hair": "pink"}', "none")
    assert "No face found" not in notes_off and same_picture(result, whole_pic)
    gallery, _, grid_notes = star_grid(client, stargan_ckpt, path, "hair", "anime")
    assert "No face found" in grid_notes and len(gallery) == 1 + len(HAIR3)


def test_stargan_refuses_a_non_picture_and_lives(client, stargan_ckpt, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is not a picture\n")
    with pytest.raises(AppError, match=r"not a picture"):
        star_grid(client, stargan_ckpt, str(bogus))
    ok = picture_file(tmp_path, "ok.png", "RGB", (64, 64))
    with pytest.raises(AppError, match=r"not a StarGAN model"):
        star_edit(client, str(ROOT / "checkpoints" / "dcgan-anime-64"), ok, '{"hair": "blue"}')
    result, _ = star_edit(client, stargan_ckpt, ok, '{"eyes": "green"}', "none")
    assert pixels(result).shape == (32, 32, 3)  # the server still answers (the model's size)


def test_stargan_default_and_the_other_bundled_checkpoint(client, tmp_path):
    from apps.common import checkpoint_choices

    choices = dict(checkpoint_choices("stargan"))
    assert choices["default (stargan-anime-64)"] == "default"
    mixed = choices["bundled (stargan-anime-fer-64)"]
    photo = str(ROOT / "assets" / "examples" / "astronaut.jpg")
    gallery, _, notes = star_grid(client, "default", photo, "hair", "photo")
    assert len(gallery) == 13 and "No face found" not in notes  # the input and 12 hair colours
    gallery, _, _ = star_grid(client, mixed, photo, "expression", "photo")
    assert [x["caption"] for x in gallery] == ["input", "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def test_stargan_compose_dropdowns_follow_the_checkpoint(stargan_ckpt):
    from apps import stargan as tab

    group, *rest = tab.setup(stargan_ckpt)
    cat, state, target = rest[:tab.MAX_CATEGORICAL], rest[-3], rest[-2]
    assert group.value == "hair" and [c[0] for c in group.choices] == ["hair", "eyes"]
    assert cat[0].visible and cat[0].label == "hair" and not cat[2].visible and target == "{}"
    values = ["blue", tab.KEEP, *[tab.KEEP] * (tab.MAX_CATEGORICAL - 2), *[[]] * tab.MAX_BINARY]
    assert json.loads(tab.compose(state, *values)) == {"hair": "blue"}
    assert tab.setup("no/such/folder")[-1].startswith("checkpoint 'no/such/folder' is not one this app offers")


def test_train_a_tiny_stargan_job_on_two_folders_and_edit_with_it(client, runs, tmp_path, tiny_faces, tmp_path_factory):
    from test_stargan import BOTH, make_class_set, make_tag_set

    anime, fer = make_tag_set(tmp_path / "anime"), make_class_set(tmp_path / "fer")
    model = json.dumps({"image_size": 32, "g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1, "d_repeat_num": 4,
                        "n_critic": 1, "labels": BOTH.to_dict()})

    def start(data, out):
        return client.predict("stargan", data, 2, 2, out.name, False, model, api_name="/train_start")

    for data, says in ((str(anime), r"name 2 data set\(s\) \(anime, fer\) but 1 data folder"),
                       (f"{tiny_faces}{os.pathsep}{fer}", r"not a labelled data set")):
        with pytest.raises(AppError, match=says):  # refused up front, nothing started
            start(data, runs / "sg-bad")
        assert not (runs / "sg-bad").exists()

    out = runs / "sg"
    base = tmp_path_factory.getbasetemp()  # the app's data folder (--data-dir): names relative to it work
    relative = os.pathsep.join(os.path.relpath(p, base) for p in (anime, fer))  # each is resolved for the job
    assert start(relative, out) == out.name
    st = wait_for(client, str(out), {"finished"})
    assert st["step"] == 2 and {"loss_d_cls", "loss_g_rec"} <= set(st["losses"])
    assert json.loads((out / "run.json").read_text())["data"] == f"{anime.resolve()}{os.pathsep}{fer.resolve()}"
    ckpt = run_checkpoint(runs, st["checkpoint"])
    assert ckpt in jobs.finished_checkpoints(technique="stargan")
    gallery, _, _ = star_grid(client, str(ckpt), picture_file(tmp_path, "p.png", "RGB", (50, 50)), "expression", "none")
    assert [x["caption"] for x in gallery] == ["input", "happy", "sad"]


# ----------------------------------------------------------------------------- hostile pictures


@pytest.fixture(scope="module")
def hostile_pictures(tmp_path_factory) -> dict[str, Path]:
    """Files that once gave 'upstream Gradio app has raised an exception' (or a white square)."""
    import io

    folder = tmp_path_factory.mktemp("hostile")
    bomb = folder / "bomb.png"  # 20000 x 20000 declared, ~50 KB on disk
    Image.new("1", (20000, 20000)).save(bomb, optimize=True)
    over = folder / "over-cap.png"  # 20 MP: over the 16 MP cap, decoded never
    Image.new("L", (5000, 4000), 128).save(over)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(buf, "JPEG")
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    grey16 = folder / "grey16.png"  # a true 16-bit ramp: PIL's own convert clips it to a white square
    Image.fromarray((np.arange(96 * 96).reshape(96, 96) * 7).astype(np.uint16)).save(grey16)
    return {"bomb": bomb, "over": over, "truncated": truncated, "grey16": grey16}


@pytest.mark.parametrize("kind", ["bomb", "over", "truncated"])
@pytest.mark.parametrize("endpoint", ["ugatit", "stargan_grid", "stargan_edit"])
def test_bombs_and_damaged_pictures_get_a_message(client, ugatit_ckpt, stargan_ckpt, hostile_pictures, endpoint, kind):
    says = {"bomb": r"bomb\.png declares more pixels", "over": r"over-cap\.png is 5000x4000 pixels: at most 16",
            "truncated": r"truncated\.jpg is damaged or truncated"}[kind]
    path = str(hostile_pictures[kind])
    t0 = time.perf_counter()
    with pytest.raises(AppError, match=says):
        if endpoint == "ugatit":
            convert(client, ugatit_ckpt, path)
        elif endpoint == "stargan_grid":
            star_grid(client, stargan_ckpt, path)
        else:
            star_edit(client, stargan_ckpt, path, '{"hair": "blue"}')
    assert time.perf_counter() - t0 < 10  # refused from the header, not after decoding 400 MP


def test_a_16_bit_greyscale_picture_is_read_as_its_values(client, ugatit_ckpt, hostile_pictures):
    from facegan.images import open_picture
    from facegan.translator import Translator

    read = np.asarray(open_picture(hostile_pictures["grey16"]))
    assert read.std() > 40 and read.max() - read.min() > 200  # the ramp, not a white square
    result, *_ = convert(client, ugatit_ckpt, str(hostile_pictures["grey16"]), "a2b", "none")
    want = Translator(hub.load_folder(ugatit_ckpt)).translate(Image.fromarray(read), "a2b", "none", display=None)
    assert np.abs(pixels(result) - np.asarray(want.output, np.int16)).max() <= 1


# ----------------------------------------------------------------------------- AC-GAN class grid


@pytest.fixture(scope="module")
def acgan_ckpt(tmp_path_factory) -> str:
    """A tiny random AC-GAN of 3 classes saved as a checkpoint folder (under the operator's folder)."""
    import torch

    from facegan.models import acgan

    torch.manual_seed(0)
    model = acgan.Model(acgan.Config(nz=8, ngf=8, ndf=8, classes=["red", "green", "blue"]))
    folder = tmp_path_factory.mktemp("acgan") / "tiny"
    hub.save_pretrained(model, folder)
    return str(folder)


def test_acgan_grid_gives_a_row_per_chosen_class(client, acgan_ckpt):
    from facegan.classgrid import ClassGrid

    gallery, summary, table = client.predict(acgan_ckpt, ["blue", "red"], 3, 5, api_name="/acgan_grid")
    assert [x["caption"].split(":")[0] for x in gallery] == ["blue"] * 3 + ["red"] * 3
    assert "2 classes x 3 faces" in summary and "carries no measured figures" in summary
    assert table["data"] in ([], [[]]) or not any(any(r) for r in table["data"])  # nothing measured: no figures
    hexes = [x["caption"].split(":")[1] for x in gallery]
    assert hexes[:3] == hexes[3:]  # the same latent down each column
    want = ClassGrid(hub.load_folder(acgan_ckpt)).grid(["blue", "red"], 3, 5)
    for item, (pic, code) in zip(gallery, want.cells()):
        assert item["caption"] == code and np.abs(pixels(item["image"]) - np.asarray(pic, np.int16)).max() <= 1
    everything, _, _ = client.predict(acgan_ckpt, [], 2, 0, api_name="/acgan_grid")  # none chosen: all classes
    assert len(everything) == 3 * 2
    with pytest.raises(AppError, match=r"'purple' is not one of the 3 .*: red, green, blue"):
        client.predict(acgan_ckpt, ["purple"], 3, 0, api_name="/acgan_grid")
    with pytest.raises(AppError, match=r"is not an AC-GAN model"):
        client.predict("checkpoints/dcgan-anime-64", ["red"], 3, 0, api_name="/acgan_grid")
    again, _, _ = client.predict(acgan_ckpt, ["green"], 1, 0, api_name="/acgan_grid")  # the server still answers
    assert len(again) == 1


def test_acgan_grid_shows_the_measured_diversity_of_the_chosen_classes(client, tmp_path_factory):
    """The figures benchmarks/acgan_quality.py --write stores in config.json come back beside the
    grid, a row per chosen class in the grid's order; a class the figures lack has empty cells."""
    import torch

    from facegan.models import acgan

    torch.manual_seed(1)
    model = acgan.Model(acgan.Config(nz=8, ngf=8, ndf=8, classes=["red", "green", "blue"]))
    measured = {"by": "benchmarks/acgan_quality.py", "classes": {
        "red": {"images": 40, "accuracy": 0.9, "diversity": 0.31}, "blue": {"images": 12, "accuracy": 0.5, "diversity": 1.02}}}
    folder = tmp_path_factory.mktemp("acgan-measured") / "m"
    hub.save_pretrained(model, folder, extra_config={"measured": measured})
    gallery, summary, table = client.predict(str(folder), ["blue", "green", "red"], 2, 0, api_name="/acgan_grid")
    assert len(gallery) == 6 and "no measured figures" not in summary
    assert table["headers"] == ["class", "diversity", "accuracy %", "real images"]
    rows = {r[0]: r[1:] for r in table["data"]}
    assert [r[0] for r in table["data"]] == ["blue", "green", "red"]
    assert rows["red"] == [0.31, 90.0, 40] and rows["blue"] == [1.02, 50.0, 12]  # diversity to 2 digits, accuracy in %
    assert all(v in (None, "", "NaN") or (isinstance(v, float) and math.isnan(v)) for v in rows["green"])


def test_train_an_acgan_job_with_the_forms_label_group_and_top_k(client, runs, tmp_path_factory):
    """The Training tab's AC-GAN fields write group and top_k into the model config and name the
    classes the run will have; the job then trains on those classes only."""
    from test_stargan import HAIR, make_tag_set

    from apps import training

    data = make_tag_set(tmp_path_factory.mktemp("acgan-data") / "tags")
    config, groups, says = training.class_fields("acgan", str(data), "hair", 2, training.default_model_config("acgan"))
    assert groups["choices"] == ["hair", "eyes", "hair+eyes"]
    top2 = sorted(HAIR)[:2]  # 4 images of each colour: the tie goes by name
    assert json.loads(config)["top_k"] == 2 and says == f"**2 classes** of hair: {', '.join(top2)}"
    _, _, says = training.class_fields("acgan", str(data), "hair+eyes", 0, config)
    assert says.startswith("**6 classes** of hair+eyes")  # 3 hair x 2 eye colours occur
    assert training.class_fields("dcgan", str(data), "hair", 2, config)[2] == ""  # other techniques: untouched
    with pytest.raises(Exception, match="top-k"):
        training.class_fields("acgan", str(data), "hair", -1, config)

    model = json.dumps({**json.loads(config), "nz": 8, "ngf": 8, "ndf": 8})
    out = runs / "ac-form"
    assert client.predict("acgan", str(data), 2, 4, out.name, False, model, api_name="/train_start") == out.name
    st = wait_for(client, str(out), {"finished"})
    assert json.loads((out / "run.json").read_text())["model_config"]["classes"] == top2
    assert {"loss_d_cls_real", "loss_g_cls"} <= set(st["losses"])
    gallery, _, _ = client.predict(str(run_checkpoint(runs, st["checkpoint"])), [], 2, 0, api_name="/acgan_grid")
    assert len(gallery) == 2 * 2  # a row per class, two columns


def test_acgan_face_code_reproduces_the_face_and_interpolates(client, acgan_ckpt):
    gallery, _, _ = client.predict(acgan_ckpt, ["green"], 2, 9, api_name="/acgan_grid")
    code = gallery[1]["caption"]
    pic, same = client.predict(acgan_ckpt, code, api_name="/acgan_face")
    assert same == code and same_picture(pic, gallery[1]["image"])
    with pytest.raises(AppError, match=r"<class>:<16 hex digits>"):
        client.predict(acgan_ckpt, "no-colon", api_name="/acgan_face")
    gif, _mp4, files = client.predict(acgan_ckpt, code, gallery[0]["caption"], ["red", "blue"], 3, "slerp", True, 10,
                                     api_name="/acgan_interpolate")
    with Image.open(gif) as im:
        assert im.n_frames == 2 * 3 and im.size == (2 * 128, 128)  # there and back, a face per class
    assert sorted(Path(f).suffix for f in files) == [".gif", ".mp4"]


# ----------------------------------------------------------------------------- StyleGAN studio

SG_RENDER = (1.0, None, "const", 0)  # psi, cutoff, noise, noise seed: what every stylegan_* endpoint ends with


@pytest.fixture(scope="module")
def stylegan_ckpt(tmp_path_factory) -> str:
    """A tiny random StyleGAN2 (16 px, 6 styles) saved as a checkpoint folder (under the operator's folder)."""
    import torch

    from facegan.models import stylegan

    torch.manual_seed(0)
    model = stylegan.Model(stylegan.Config(image_size=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8,
                                           mbstd_group=2))
    folder = tmp_path_factory.mktemp("stylegan") / "tiny"
    hub.save_pretrained(model, folder)
    return str(folder)


def studio_of(ckpt: str):
    from facegan.studio import Studio

    return Studio(hub.load_folder(ckpt))


def test_stylegan_generate_a_seed_and_its_code_give_the_same_face(client, stylegan_ckpt):
    pic, code = client.predict(stylegan_ckpt, "3", 0.7, None, "const", 0, api_name="/stylegan_generate")
    want = studio_of(stylegan_ckpt).face(3, psi=0.7)
    assert code == want.code and len(code) == 16
    assert np.abs(pixels(pic) - np.asarray(want.picture, np.int16)).max() <= 1  # the library's face, at 16 px
    again, same = client.predict(stylegan_ckpt, code.upper(), 0.7, None, "const", 0, api_name="/stylegan_generate")
    assert same == code and same_picture(again, pic)
    average = [client.predict(stylegan_ckpt, s, 0, None, "const", 0, api_name="/stylegan_generate")[0]
               for s in ("1", "2")]
    assert same_picture(*average)  # psi 0: the average face for every seed
    noisy, _ = client.predict(stylegan_ckpt, code, 0.7, 2, "random", 5, api_name="/stylegan_generate")
    assert not same_picture(noisy, pic)


@pytest.mark.parametrize(("args", "says"), [
    (("-1", *SG_RENDER), "seed must be between 0 and 9223372036854775807"),
    (("1.5", *SG_RENDER), "seed must be a whole number"),
    (("nothex", *SG_RENDER), "a face code is 16 hex digits"),
    (("", *SG_RENDER), "give a face: a seed"),
    (("1", 5, None, "const", 0), r"psi must be between -2.0 and 2.0"),
    (("1", "NaN", None, "const", 0), r"psi must be a finite number"),
    (("1", 1, 7, "const", 0), r"cutoff \(truncated styles\) must be between 0 and 6"),
    (("1", 1, None, "loud", 0), r"noise is one of const, random, none|loud"),
])
def test_stylegan_generate_refuses_a_bad_seed_or_psi_and_lives(client, stylegan_ckpt, args, says):
    with pytest.raises(AppError, match=says):
        client.predict(stylegan_ckpt, *args, api_name="/stylegan_generate")
    pic, code = client.predict(stylegan_ckpt, "0", *SG_RENDER, api_name="/stylegan_generate")  # still answering
    assert Path(pic).is_file() and len(code) == 16


def test_stylegan_default_is_the_bundled_model(client):
    entry = hub.read_manifest(hub.MANIFEST).get("stylegan")
    if entry is None:  # a deployment without it says so
        with pytest.raises(AppError, match=r"No StyleGAN checkpoint is bundled yet: train one in the Training tab"):
            client.predict("default", "0", *SG_RENDER, api_name="/stylegan_generate")
    else:
        pic, code = client.predict("default", "7", 0.7, None, "const", 0, api_name="/stylegan_generate")
        want = studio_of(str(hub.MANIFEST.parent / entry["bundled"])).face(7, psi=0.7)
        assert code == want.code and np.abs(pixels(pic) - np.asarray(want.picture, np.int16)).max() <= 1
        assert pixels(pic).shape == (64, 64, 3)
    with pytest.raises(AppError, match=r"is not a StyleGAN model"):
        client.predict("checkpoints/dcgan-anime-64", "0", *SG_RENDER, api_name="/stylegan_generate")


def test_stylegan_mix_is_figure_3(client, stylegan_ckpt):
    figure, cells, summary = client.predict(stylegan_ckpt, "1, 2, 3", "4,5", "coarse", *SG_RENDER,
                                            api_name="/stylegan_mix")
    assert [c["caption"] for c in cells] == [f"seed {r} → seed {c}" for r in (1, 2, 3) for c in (4, 5)]
    assert "styles 0-3" in summary and "copied from the row's face" in summary
    want = studio_of(stylegan_ckpt).mix([1, 2, 3], [4, 5], "coarse")
    for item, (pic, _) in zip(cells, want.cells()):
        assert np.abs(pixels(item["image"]) - np.asarray(pic, np.int16)).max() <= 1
    with Image.open(figure) as im:
        assert im.size == want.figure(128).size  # (1 + 2) x (1 + 3) pictures of 128 px and their captions
    _, same, _ = client.predict(stylegan_ckpt, "4", "4", "0-2", *SG_RENDER, api_name="/stylegan_mix")
    face4, _ = client.predict(stylegan_ckpt, "4", *SG_RENDER, api_name="/stylegan_generate")
    assert np.abs(pixels(same[0]["image"]) - pixels(face4)).max() <= 1  # mixing a face with itself: the face
    for layers, says in (("0-99", r"style indices 0 to 5"), ("fine", r"has no fine styles"), ("x", r"coarse, middle")):
        with pytest.raises(AppError, match=says):
            client.predict(stylegan_ckpt, "1", "2", layers, *SG_RENDER, api_name="/stylegan_mix")
    with pytest.raises(AppError, match=r"row faces: 1 to 16 faces"):
        client.predict(stylegan_ckpt, ",".join(map(str, range(17))), "2", "coarse", *SG_RENDER,
                       api_name="/stylegan_mix")
    _, again, _ = client.predict(stylegan_ckpt, "1", "2", "middle", *SG_RENDER, api_name="/stylegan_mix")
    assert len(again) == 1  # the server still answers


def test_stylegan_interpolate_side_by_side_gif_and_mp4(client, stylegan_ckpt):
    gif, _mp4, files = client.predict(stylegan_ckpt, "1, 2, 3", 4, "lerp-w", False, 10, 1, *SG_RENDER,
                                      api_name="/stylegan_interpolate")
    with Image.open(gif) as im:
        assert im.n_frames == 2 * 4 + 1 and im.size == (128, 128)
    assert sorted(Path(f).suffix for f in files) == [".gif", ".mp4"]
    gif, _, _ = client.predict(stylegan_ckpt, "1 2 3 4 5 6", 3, "slerp-z", True, 10, 3, 0.7, None, "const", 0,
                               api_name="/stylegan_interpolate")
    with Image.open(gif) as im:  # three faces side by side, each through two key frames and back
        assert im.n_frames == 2 * 3 and im.size == (3 * 128, 128)
    with pytest.raises(AppError, match=r"a multiple of 2"):
        client.predict(stylegan_ckpt, "1,2,3,4,5", 3, "lerp-w", False, 10, 2, *SG_RENDER,
                       api_name="/stylegan_interpolate")
    with pytest.raises(AppError, match=r"at most 600 frames"):
        client.predict(stylegan_ckpt, ",".join(map(str, range(32))), 100, "lerp-w", False, 10, 1, *SG_RENDER,
                       api_name="/stylegan_interpolate")


def test_stylegan_variations_are_near_and_each_code_reproduces_its_face(client, stylegan_ckpt):
    gallery = client.predict(stylegan_ckpt, "7", 5, 0.25, 3, *SG_RENDER, api_name="/stylegan_variations")
    centre = studio_of(stylegan_ckpt).code(7)
    assert [g["caption"] for g in gallery] == [centre] + [f"{centre}+3:{i}:0.25" for i in range(5)]
    pics = [pixels(g["image"]) for g in gallery]
    assert len({p.tobytes() for p in pics}) == 6  # the face and 5 different variations
    pic, code = client.predict(stylegan_ckpt, gallery[2]["caption"], *SG_RENDER, api_name="/stylegan_generate")
    assert code == gallery[2]["caption"] and np.abs(pixels(pic) - pics[2]).max() <= 1
    further = client.predict(stylegan_ckpt, code, 2, 0.25, 0, *SG_RENDER, api_name="/stylegan_variations")
    assert further[1]["caption"] == f"{code}+0:0:0.25"  # continuing from a variation
    for args, says in ((("7", 0, 0.3, 0), r"variations must be between 1 and 64"),
                       (("7", 4, 5, 0), r"step must be between 0 and 2"),
                       ((centre + "+1:2", 4, 0.3, 0), r"\+<seed>:<index>:<step>")):
        with pytest.raises(AppError, match=says):
            client.predict(stylegan_ckpt, *args, *SG_RENDER, api_name="/stylegan_variations")


def test_stylegan_edit_along_a_direction_is_the_librarys_and_strength_zero_is_the_face(client, stylegan_ckpt):
    pic, strip, summary = client.predict(stylegan_ckpt, "3", 1, "coarse", 4, 0.7, None, "const", 0,
                                         api_name="/stylegan_edit")
    st = studio_of(stylegan_ckpt)
    want = st.edit(3, 1, "coarse", 4, psi=0.7)
    assert (pixels(pic) == np.asarray(want.picture, np.int16)).all()  # the library's edited face, at 16 px
    want_strip = st.edit_strip(3, 1, "coarse", 4, 7, psi=0.7).figure(128)
    assert (pixels(strip) == np.asarray(want_strip, np.int16)).all()  # 7 faces from -4 to +4, 128 px, captioned
    assert summary.startswith("Direction 1 of the 8 of styles 0-3 (4 px, 8 px): eigenvalue ") and "±4" in summary
    face, _ = client.predict(stylegan_ckpt, "3", 0.7, None, "const", 0, api_name="/stylegan_generate")
    assert not same_picture(pic, face)
    same, _, _ = client.predict(stylegan_ckpt, "3", 1, "coarse", 0, 0.7, None, "const", 0, api_name="/stylegan_edit")
    assert same_picture(same, face)  # strength 0: the face itself, bit for bit
    code = st.variations(3, 2, 0.3, 0)[1].code  # a variation's code, the last style only, random noise
    pic, _, summary = client.predict(stylegan_ckpt, code, 3, "5", -20, 1.0, 2, "random", 4, api_name="/stylegan_edit")
    want = st.edit(code, 3, "5", -20, cutoff=2, noise="random", noise_seed=4)
    assert (pixels(pic) == np.asarray(want.picture, np.int16)).all() and "Direction 3 of the 4 of styles 5" in summary


@pytest.mark.parametrize(("args", "says"), [
    (("3", 8, "coarse", 1), r"direction \(styles 0-3 have 8\) must be between 0 and 7, got 8"),
    (("3", "2.5", "coarse", 1), r"direction \(styles 0-3 have 8\) must be a whole number"),
    (("3", None, "coarse", 1), r"direction .* must be a whole number"),
    (("3", 0, "fine", 1), r"has no fine styles"),
    (("3", 0, "0-99", 1), r"style indices 0 to 5"),
    (("3", 0, "x" * 100_000, 1), r"layers is 100,000 characters long: at most 200"),
    (("3", 0, "coarse", 20.5), r"strength must be between -20.0 and 20.0"),
    (("3", 0, "coarse", "NaN"), r"strength must be a finite number"),
    (("3", 0, "coarse", "1e400"), r"strength must be a finite number"),
    (("nothex", 0, "coarse", 1), r"a face code is 16 hex digits"),
])
def test_stylegan_edit_refuses_bad_inputs_and_lives(client, stylegan_ckpt, args, says):
    with pytest.raises(AppError, match=says):
        client.predict(stylegan_ckpt, *args, *SG_RENDER, api_name="/stylegan_edit")
    pic, _, _ = client.predict(stylegan_ckpt, "0", 0, "coarse", 1, *SG_RENDER, api_name="/stylegan_edit")
    assert Path(pic).is_file()  # still answering


@pytest.fixture(scope="module")
def stylegan_labelled_ckpt(stylegan_ckpt, tmp_path_factory) -> str:
    """The tiny StyleGAN in a folder of its own that ships labelled directions, fitted to a reader
    of the picture's tint (tests/test_directions.py's LinearReader)."""
    import shutil

    from test_directions import LinearReader

    from facegan import directions

    folder = tmp_path_factory.mktemp("stylegan-labelled") / "tiny"
    shutil.copytree(stylegan_ckpt, folder)
    directions.labelled(hub.load_folder(folder), LinearReader(), n=200).save(folder)
    return str(folder)


def test_stylegan_edit_along_a_labelled_direction_by_name(client, stylegan_labelled_ckpt):
    from facegan import directions

    st = studio_of(stylegan_labelled_ckpt)
    st.labelled = directions.shipped(stylegan_labelled_ckpt)
    pic, strip, summary = client.predict(stylegan_labelled_ckpt, "3", "hair: blue", "all", 4, *SG_RENDER,
                                         api_name="/stylegan_edit")
    assert (pixels(pic) == np.asarray(st.edit(3, "hair: blue", "all", 4).picture, np.int16)).all()
    want_strip = st.edit_strip(3, "hair: blue", "all", 4, 7).figure(128)
    assert (pixels(strip) == np.asarray(want_strip, np.int16)).all()
    assert summary.startswith("Labelled direction **hair: blue** in styles 0-5") and "±4" in summary
    face, _ = client.predict(stylegan_labelled_ckpt, "3", *SG_RENDER, api_name="/stylegan_generate")
    same, _, _ = client.predict(stylegan_labelled_ckpt, "3", "Hair:Blue", "all", 0, *SG_RENDER,
                                api_name="/stylegan_edit")
    assert same_picture(same, face)  # strength 0: the face itself
    # no styles given: a labelled direction moves them all, as the library's default
    pic, _, _ = client.predict(stylegan_labelled_ckpt, "3", "hair: blue", "", 4, *SG_RENDER, api_name="/stylegan_edit")
    assert (pixels(pic) == np.asarray(st.edit(3, "hair: blue", None, 4).picture, np.int16)).all()
    with pytest.raises(AppError, match=r"no direction 'hair: teal'.*the labelled ones are hair: blue, red, other; eyes: dark, light"):
        client.predict(stylegan_labelled_ckpt, "3", "hair: teal", "all", 1, *SG_RENDER, api_name="/stylegan_edit")
    pic, _, summary = client.predict(stylegan_labelled_ckpt, "3", 1, "coarse", 2, *SG_RENDER, api_name="/stylegan_edit")
    assert summary.startswith("Direction 1 of the 8 of styles 0-3")  # SeFa's numbers as before


def test_stylegan_compute_labelled_directions_into_the_apps_cache(client, runs, tmp_path_factory, monkeypatch):
    """A checkpoint without directions: the name is refused with what to do; the button computes
    them (a bounded number of faces) into the app's cache, keyed by the weights' sha256, writing
    nothing into the checkpoint's folder; then the name works."""
    import torch

    from apps import stylegan as app
    from facegan.directions import LabelledDirections
    from facegan.models import stylegan
    from facegan.studio import Studio

    monkeypatch.setattr(app, "LABELLED_N", 60)  # (the server runs in this process)
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("stylegan-bare") / "tiny"
    hub.save_pretrained(stylegan.Model(stylegan.Config(image_size=16, z_dim=8, w_dim=8, channel_base=64,
                                                       channel_max=8, mbstd_group=2)), folder)
    files = sorted(p.name for p in folder.iterdir())
    with pytest.raises(AppError, match="this checkpoint has no labelled directions"):
        client.predict(str(folder), "3", "hair: blue", "all", 2, *SG_RENDER, api_name="/stylegan_edit")
    _, note, button = app.directions_for(str(folder))  # what a change of the chooser shows: the button
    assert button.visible and note.startswith("This checkpoint has no labelled directions")
    listed, note = client.predict(str(folder), api_name="/stylegan_compute_directions")
    assert ["hair: blue", "hair: blue"] in listed["choices"] and ["SeFa 0 (strongest)", 0] in listed["choices"]
    assert note.startswith("Labelled directions: 12 hair, 10 eyes colours (fitted on 60 faces)")
    cached = runs / ".cache" / "directions" / f"{hub.sha256_of(folder / hub.WEIGHTS_NAME)}.safetensors"
    found = LabelledDirections.load(cached)
    assert found.names[3] == "hair: blue" and found.info["n"] == 60
    assert sorted(p.name for p in folder.iterdir()) == files  # the checkpoint's folder only read
    listed, _, button = app.directions_for(str(folder), keep=True)
    assert not button.visible and ("hair: blue", "hair: blue") in listed.choices
    pic, _, _ = client.predict(str(folder), "3", "hair: blue", "all", 2, *SG_RENDER, api_name="/stylegan_edit")
    want = Studio(hub.load_folder(folder), labelled=found).edit(3, "hair: blue", "all", 2).picture
    assert (pixels(pic) == np.asarray(want, np.int16)).all()
    mtime = cached.stat().st_mtime_ns
    client.predict(str(folder), api_name="/stylegan_compute_directions")  # already there: not computed again
    assert cached.stat().st_mtime_ns == mtime


def _video_path(video) -> str:
    return video["video"] if isinstance(video, dict) else video  # gr.Video: {"video": path, "subtitles": ...}


def test_stylegan_project_a_picture_and_its_code_is_a_face_everywhere(client, stylegan_ckpt, tmp_path):
    """The "Your picture" sub-tab: a picture of one of the model's faces comes back as a w: code that
    /stylegan_generate draws as the library does, with the latent file, and the other endpoints take it."""
    from gradio_client import handle_file

    from facegan import project

    st = studio_of(stylegan_ckpt)
    path = tmp_path / "me.png"
    st.face(3).picture.resize((64, 64), Image.Resampling.LANCZOS).save(path)
    side, video, code, files = client.predict(stylegan_ckpt, handle_file(str(path)), "none", 12, "w", 0,
                                              api_name="/stylegan_project")
    assert code.startswith("w:") and len(code) == 2 + 4 * 8
    by_name = {Path(f).name: f for f in files}
    assert sorted(by_name) == ["code.txt", "latent.json", "latent.safetensors", "projection.mp4", "projection.png"]
    assert Path(_video_path(video)).suffix == ".mp4" and Path(_video_path(video)).stat().st_size > 0
    with Image.open(side) as im:
        assert im.width > 2 * 256  # input | projection, 256 px each
    info = json.loads(Path(by_name["latent.json"]).read_text())
    assert info["code"] == code and info["steps"] == 12 and len(info["losses"]) == 12
    assert info["loss"] == min(info["losses"])
    pic, same = client.predict(stylegan_ckpt, code, *SG_RENDER, api_name="/stylegan_generate")
    assert same == code
    assert np.abs(pixels(pic) - np.asarray(st.face(code).picture, np.int16)).max() <= 1
    ws, _, space = project.load_latent(by_name["latent.safetensors"])
    assert space == "w" and (st.ws(st.faces([code]))[0] == ws).all()  # the file and the code: one latent
    # the code wherever a face goes
    _, cells, _ = client.predict(stylegan_ckpt, code, "1", "all", *SG_RENDER, api_name="/stylegan_mix")
    assert cells[0]["caption"] == f"{code[:10]}… → seed 1"
    gallery = client.predict(stylegan_ckpt, code, 2, 0.3, 0, *SG_RENDER, api_name="/stylegan_variations")
    assert [g["caption"] for g in gallery] == [code, f"{code}+0:0:0.3", f"{code}+0:1:0.3"]
    edited, _, _ = client.predict(stylegan_ckpt, code, 0, "coarse", 0, *SG_RENDER, api_name="/stylegan_edit")
    assert same_picture(edited, pic)  # strength 0: the projected face itself
    gif, _, _ = client.predict(stylegan_ckpt, f"{code}, 2", 3, "lerp-w", False, 10, 1, *SG_RENDER,
                               api_name="/stylegan_interpolate")
    with Image.open(gif) as im:
        assert im.n_frames == 4
    with pytest.raises(AppError, match=r"slerp in Z needs faces with a z .*use lerp-w"):
        client.predict(stylegan_ckpt, f"{code}, 2", 3, "slerp-z", False, 10, 1, *SG_RENDER,
                       api_name="/stylegan_interpolate")
    # W+: a code of its own (6 x 8 values), drawn the same way
    _, _, wp, _ = client.predict(stylegan_ckpt, handle_file(str(path)), "auto", 3, "w+", 1,
                                 api_name="/stylegan_project")
    assert wp.startswith("wp:") and len(wp) == 3 + 4 * 6 * 8
    pic, same = client.predict(stylegan_ckpt, wp, *SG_RENDER, api_name="/stylegan_generate")
    assert same == wp and np.abs(pixels(pic) - np.asarray(st.face(wp).picture, np.int16)).max() <= 1


@pytest.mark.parametrize(("args", "says"), [
    ((None, "none", 5, "w", 0), r"Upload a picture first"),
    (("UP", "cat", 5, "w", 0), r"'cat' .*is not in the list of choices: \['auto', 'anime', 'photo', 'none'\]"),
    (("UP", "none", 0, "w", 0), r"steps must be between 1 and 1000, got 0"),
    (("UP", "none", 1001, "w", 0), r"steps must be between 1 and 1000, got 1001"),
    (("UP", "none", "NaN", "w", 0), r"steps must be a whole number"),
    (("UP", "none", 5, "z", 0), r"'z' .*is not in the list of choices: \['w', 'w\+'\]"),
    (("UP", "none", 5, "w", -1), r"seed must be between 0 and"),
    (("BOMB", "none", 5, "w", 0), r"bomb\.png declares more pixels"),
    (("TRUNCATED", "none", 5, "w", 0), r"truncated\.jpg is damaged or truncated"),
])
def test_stylegan_project_refuses_bad_inputs_and_lives(client, stylegan_ckpt, hostile_pictures, tmp_path, args, says):
    from gradio_client import handle_file

    path = tmp_path / "me.png"
    Image.new("RGB", (40, 40), (30, 150, 90)).save(path)
    files = {"UP": path, "BOMB": hostile_pictures["bomb"], "TRUNCATED": hostile_pictures["truncated"]}
    picture, *rest = args
    sent = handle_file(str(files[picture])) if picture in files else picture
    t0 = time.perf_counter()
    with pytest.raises(AppError, match=says):
        client.predict(stylegan_ckpt, sent, *rest, api_name="/stylegan_project")
    assert time.perf_counter() - t0 < 10
    *_, code, _ = client.predict(stylegan_ckpt, handle_file(str(path)), "none", 1, "w", 0,
                                 api_name="/stylegan_project")
    assert code.startswith("w:")  # still answering


def test_stylegan_face_goes_to_the_stargan_and_ugatit_tabs(client, stylegan_ckpt, stargan_ckpt):
    """The send buttons (private events, as the page calls them): the studio's face becomes the other
    tab's picture, that tab is opened, and the StarGAN editor edits the face it was sent."""
    import httpx

    config = httpx.get(client.src + "config").json()
    sends = [d["id"] for d in config["dependencies"] if (d.get("api_name") or "").startswith("send_face")]
    assert len(sends) == 2
    face_pic, _ = client.predict(stylegan_ckpt, "5", *SG_RENDER, api_name="/stylegan_generate")
    sent = []
    for fn in sends:
        r = httpx.post(client.src + "gradio_api/run/predict", timeout=60,
                       json={"data": [stylegan_ckpt, "5", *SG_RENDER], "fn_index": fn, "session_hash": "sg"})
        assert r.status_code == 200, r.text
        picture, tabs = r.json()["data"]
        sent.append(picture)
        assert tabs["selected"] in ("stargan", "ugatit")
        with Image.open(face_pic) as small:  # the face, enlarged for the other tab's face detector
            want = np.asarray(small.convert("RGB").resize((256, 256), Image.Resampling.LANCZOS), np.int16)
        assert np.abs(pixels(_fetch(picture["url"])) - want).max() <= 1
    r = httpx.post(client.src + "gradio_api/run/predict", timeout=60, json={
        "data": [stylegan_ckpt, "not a face", *SG_RENDER], "fn_index": sends[0], "session_hash": "sg"})
    assert "a face code is 16 hex digits" in r.json().get("error", "")
    # the StarGAN editor reads the picture it was sent (a file of this server's cache, as the page sends it back)
    grid_fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "stargan_grid")
    r = httpx.post(client.src + "gradio_api/run/predict", timeout=120, json={
        "data": [stargan_ckpt, sent[0], "hair", "none", 0], "fn_index": grid_fn, "session_hash": "sg"})
    assert r.status_code == 200, r.text
    gallery = r.json()["data"][0]
    assert gallery[0]["caption"] == "input" and len(gallery) > 2


def _fetch(url: str) -> io.BytesIO:
    import httpx

    return io.BytesIO(httpx.get(url).content)


def test_train_a_tiny_stylegan_job_and_draw_with_it(client, runs, tiny_faces):
    """The Training tab runs StyleGAN: the form's default config names the preset and leaves the
    preset's sizes to it (so a changed preset takes effect), the job trains with both lazy
    regularisers, and the studio draws with its checkpoint as with any other."""
    from apps import training
    from facegan.models import stylegan

    default = json.loads(training.default_model_config("stylegan"))
    assert default["preset"] == "cpu" and "channel_max" not in default and "image_size" not in default
    assert stylegan.Config(**{**default, "preset": "64"}).channel_max == 512  # the preset takes effect
    model = json.dumps({**default, "image_size": 16, "z_dim": 8, "w_dim": 8, "channel_base": 64, "channel_max": 8,
                        "mbstd_group": 2, "r1_interval": 2, "pl_interval": 2})
    out = runs / "sg-tiny"
    assert client.predict("stylegan", str(tiny_faces), 2, 4, out.name, False, model, api_name="/train_start") == out.name
    st = wait_for(client, str(out), {"finished"})
    assert st["step"] == 2 and st["losses"]["loss_r1"] > 0 and st["losses"]["loss_pl"] > 0
    assert all(math.isfinite(v) for v in st["losses"].values())
    ckpt = run_checkpoint(runs, st["checkpoint"])
    assert ckpt in jobs.finished_checkpoints(technique="stylegan")
    pic, code = client.predict(str(ckpt), "3", *SG_RENDER, api_name="/stylegan_generate")
    want = studio_of(str(ckpt)).face(3)
    assert code == want.code and np.abs(pixels(pic) - np.asarray(want.picture, np.int16)).max() <= 1


def test_grid_clicks_fill_from_then_to():
    from apps.acgan import ends_after_click

    assert ends_after_click("", "", "blue:aa") == ("blue:aa", "")
    assert ends_after_click("blue:aa", "", "red:bb") == ("blue:aa", "red:bb")
    assert ends_after_click("blue:aa", "red:bb", "pink:cc") == ("red:bb", "pink:cc")  # walks on


def test_a_chosen_direction_sets_styles_and_a_visible_strength():
    from apps.stylegan import LABELLED_STRENGTH, SEFA_STRENGTH, direction_defaults

    styles, strength = direction_defaults("hair: blue")
    assert styles["value"] == "all" and strength == LABELLED_STRENGTH
    styles, strength = direction_defaults(1)  # after a labelled one: back to the coarse styles, not "all"
    assert styles["value"] == "coarse" and strength == SEFA_STRENGTH
