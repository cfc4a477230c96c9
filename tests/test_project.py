"""Your own picture as a StyleGAN face (facegan.project): a face the model drew is found again, the
best latent is kept, its code draws the projection's picture and works in every studio action,
the files, and ``facegan project stylegan`` as a user runs it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli_limits import assert_one_line_refusal, run_main

from facegan import checks, hub, latent
from facegan import project as pj
from facegan.models import stylegan
from facegan.studio import MAX_CODE_CHARS, MAX_WPLUS_VALUES, Studio

TINY = {"image_size": 16, "z_dim": 8, "w_dim": 8, "channel_base": 64, "channel_max": 8, "mbstd_group": 2}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return stylegan.Model(stylegan.Config(**TINY)).eval()


@pytest.fixture(scope="module")
def st(model) -> Studio:
    return Studio(model, dtype="float32")


@pytest.fixture(scope="module")
def projected(model, st):
    """Seed 3's face, projected in W with the pixel loss alone (fast), and in W+."""
    target = st.face(3).picture
    w = pj.project(model, target, steps=200, crop="none", perceptual_weight=0)
    wplus = pj.project(model, st.face(4).picture, steps=60, space="w+", crop="none", perceptual_weight=0)
    return target, w, wplus


def mse(a: Image.Image, b: Image.Image) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def same(a: Image.Image, b: Image.Image) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_a_face_the_model_drew_is_found_again(model, st, projected):
    target, p, _ = projected
    mean, _ = pj.w_statistics(model)
    average = st.draw(mean[None, None].expand(1, st.num_ws, -1))  # where the projection starts
    from facegan.images import to_pil

    start_error = mse(to_pil(average)[0], target)
    assert mse(p.picture, target) < 0.01 * start_error  # well below the average face's error
    assert pj.psnr(p.picture, target) > 40
    true_w = st.w(st.faces([3]))[0]
    assert (p.latent[0] - true_w).norm() < 0.05 * (true_w - mean).norm()  # the same point of W
    assert len(p.losses) == 200 and p.losses[-1] < 0.01 * p.losses[0]
    assert p.latent.shape == (1, st.w_dim) and p.ws.shape == (st.num_ws, st.w_dim)
    assert p.target.size == (16, 16) and p.notice == "" and p.noise is None


def test_the_best_latent_is_kept_not_the_last(model, st, monkeypatch):
    target = st.face(5).picture
    # a learning rate that throws the latent about in the second half: the best is found before it
    monkeypatch.setattr(pj, "learning_rate", lambda step, steps: 0.1 if step < steps // 2 else 4.0)
    p = pj.project(model, target, steps=40, crop="none", perceptual_weight=0)
    assert p.loss == min(p.losses) == p.losses[p.best_step]
    assert p.best_step < 39 and p.losses[-1] > 2 * p.loss
    # the picture is the kept latent's: its pixel loss is that step's (the latent rounded to float16)
    x = (np.asarray(p.picture, np.float64) / 127.5 - 1)
    y = (np.asarray(target, np.float64) / 127.5 - 1)
    assert float(np.mean((x - y) ** 2)) == pytest.approx(p.loss, rel=0.1, abs=1e-4)
    assert p.frame_steps[-1] == p.best_step and len(p.frames) == len(p.frame_steps)


def test_the_code_draws_exactly_the_projections_picture(model, st, projected):
    _, p, q = projected
    assert p.code.startswith("w:") and len(p.code) == 2 + 4 * st.w_dim
    assert q.code.startswith("wp:") and len(q.code) == 3 + 4 * st.num_ws * st.w_dim
    for r in (p, q):
        face = st.face(r.code)
        assert face.code == r.code and same(face.picture, r.picture)
        assert st.code(r.code.upper().replace("W", "w", 1)) == r.code  # hex digits in either case
    assert torch.equal(st.ws(st.faces([q.code]))[0], q.ws)
    # a studio drawing in bf16 (the app's on such a CPU) shows what it draws for the code
    fast = Studio(model, dtype="bfloat16")
    r = fast.project(p.target, steps=3, crop="none", perceptual_weight=0)
    assert same(r.picture, fast.face(r.code).picture)


def test_a_projected_code_works_in_mix_interpolate_variations_and_edit(st, projected):
    _, p, q = projected
    m = st.mix([p.code, 1], [2, q.code], "coarse")
    assert m.row_labels[0].startswith("w:") and m.column_labels[1].startswith("wp:")
    assert same(m.row_pictures[0], p.picture) and same(m.column_pictures[1], q.picture)
    itself = st.mix([p.code], [p.code], "all")
    assert same(itself.pictures[0][0], p.picture)  # a face mixed with itself is the face
    frames = st.interpolation_frames([p.code, 5, q.code], frames=3, size=16)
    assert frames.shape == (7, 16, 16, 3)
    assert np.array_equal(frames[0], np.asarray(p.picture)) and np.array_equal(frames[-1], np.asarray(q.picture))
    for code in (p.code, q.code):
        around = st.variations(code, 3, 0.3, 1)
        assert [v.code for v in around] == [f"{code}+1:{i}:0.3" for i in range(3)]
        assert same(st.face(around[2].code).picture, around[2].picture)
        assert not same(around[0].picture, st.face(code).picture)
        assert same(st.edit(code, 0, "coarse", 0).picture, st.face(code).picture)  # strength 0: the face
        assert not same(st.edit(code, 0, "coarse", 5).picture, st.face(code).picture)


def test_slerp_in_z_refuses_a_projected_face_clearly(st, projected):
    _, p, q = projected
    for code in (p.code, q.code):
        with pytest.raises(ValueError, match=r"slerp in Z needs faces with a z .* a projected face .* use lerp-w"):
            st.interpolation_frames([1, code], frames=2, mode="slerp-z")


@pytest.mark.parametrize(("face", "says"), [
    ("w:" + "3c00" * 7, r"a W code \(w:\) of this checkpoint \(8 values\) is 32 hex digits .*\(28 characters\)"),
    ("w:" + "3c00" * 7 + "zzzz", r"is 32 hex digits \(0-9, a-f"),
    ("w:" + "7e00" * 8, r"holds a NaN or infinite value"),
    ("w:" + "7c00" * 8, r"holds a NaN or infinite value"),
    ("wp:" + "3c00" * 8, r"a W\+ code \(wp:\) of this checkpoint \(6 x 8 values\) is 192 hex digits"),
    ("w:" + "3c00" * 8 + "+1:2", r"\+<seed>:<index>:<step>"),
    ("w:" + "0" * MAX_CODE_CHARS, r"face is [\d,]+ characters long: at most [\d,]+"),
])
def test_w_codes_are_checked(st, face, says):
    with pytest.raises(ValueError, match=says):
        st.face(face)


def test_a_w_plus_too_large_for_a_code_is_a_file(tmp_path):
    torch.manual_seed(1)
    wide = stylegan.Model(stylegan.Config(**{**TINY, "w_dim": 1024, "z_dim": 8})).eval()
    assert wide.num_ws * 1024 > MAX_WPLUS_VALUES
    p = pj.project(wide, Image.new("RGB", (16, 16), (200, 30, 90)), steps=2, space="w+", crop="none",
                   perceptual_weight=0)
    assert p.code is None and p.latent.shape == (wide.num_ws, 1024)
    files = pj.save(p, tmp_path)
    assert "code" not in files and files["latent"].is_file()
    with pytest.raises(ValueError, match=r"W\+ \(6 x 1024 values\) is too large for a face code"):
        Studio(wide).face("wp:" + "3c00" * 8)  # whatever its length
    w = pj.project(wide, Image.new("RGB", (16, 16), (200, 30, 90)), steps=2, crop="none", perceptual_weight=0)
    assert len(w.code) == 2 + 4 * 1024 <= MAX_CODE_CHARS  # W's code fits any w_dim up to 1024


def test_latent_hex_round_trips_float16():
    w = torch.randn(3, 5) * 4
    text = latent.floats_to_hex(w)
    assert len(text) == 60 and torch.equal(latent.hex_to_floats(text, 15).view(3, 5), w.half().float())
    with pytest.raises(ValueError, match="NaN, infinite or huge"):
        latent.floats_to_hex(torch.tensor([1e6]))


def test_noise_maps_optimised_as_the_paper():
    torch.manual_seed(2)
    noisy = stylegan.Model(stylegan.Config(**TINY)).eval()
    for m in noisy.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.data.fill_(0.5)  # an untrained model's noise has strength 0
    target = Studio(noisy, dtype="float32").face(3).picture
    p = pj.project(noisy, target, steps=20, crop="none", perceptual_weight=0, optimise_noise=True)
    assert p.noise is not None and list(p.noise) == ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1"]
    for n in p.noise.values():  # renormalised after every step
        assert abs(float(n.mean())) < 1e-4 and float(n.square().mean()) == pytest.approx(1, abs=1e-3)
    assert not torch.equal(p.noise["b16.conv1"], noisy.generator.synthesis.b16.conv1.noise_const)
    assert p.noise_picture is not None and not same(p.noise_picture, p.picture)
    assert same(Studio(noisy, dtype="float32").face(p.code).picture, p.picture)  # the code: const noise
    before = noisy.generator.synthesis.b16.conv1.noise_const.clone()
    pj.project(noisy, target, steps=3, crop="none", perceptual_weight=0, optimise_noise=True)
    assert torch.equal(noisy.generator.synthesis.b16.conv1.noise_const, before)  # the model is left as it was


def test_the_noise_regulariser_punishes_structure_not_white_noise():
    g = torch.Generator().manual_seed(0)
    white = [torch.randn(32, 32, generator=g), torch.randn(8, 8, generator=g)]
    smooth = [torch.nn.functional.interpolate(torch.randn(1, 1, 4, 4, generator=g), size=32, mode="bilinear")[0, 0]]
    smooth = [(s - s.mean()) / s.std() for s in smooth]
    assert float(pj.noise_regularisation(white)) < 0.1  # chance: about 2 / 64 for the 8 x 8 map
    assert float(pj.noise_regularisation(smooth)) > 100


def test_the_schedules_are_the_papers():
    assert pj.learning_rate(0, 1000) == 0 and pj.learning_rate(25, 1000) == pytest.approx(0.05)
    assert pj.learning_rate(500, 1000) == pytest.approx(0.1) and pj.learning_rate(875, 1000) == pytest.approx(0.05)
    assert pj.w_noise_scale(0, 100, 2.0) == pytest.approx(0.1) and pj.w_noise_scale(75, 100, 2.0) == 0


def test_the_inception_distance_is_spatial_and_differentiable():
    d = pj.inception_distance(torch.device("cpu"), 96)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    feats = d.features(a)
    assert [tuple(f.shape[2:]) for f in feats] == [(20, 20), (9, 9), (4, 4)]
    assert float(d.distance(a, feats)) == pytest.approx(0, abs=1e-6)
    x = torch.zeros_like(a, requires_grad=True)
    dist = d.distance(x, feats)
    dist.sum().backward()
    assert float(dist.detach()) > 0.1 and float(x.grad.abs().sum()) > 0
    assert float(d.distance(a.flip(3), feats)) > 0  # a mirrored picture is another picture to it


def test_projecting_with_the_perceptual_loss(model, st):
    target = st.face(6).picture
    p = pj.project(model, target, steps=25, crop="none")
    assert p.settings["perceptual"].startswith("TF-FID Inception Conv2d_4a_3x3, Mixed_5d, Mixed_6e at 96 px")
    assert p.loss < 0.5 * p.losses[0] and same(st.face(p.code).picture, p.picture)


def test_the_face_is_cropped_as_the_other_tabs_crop_it(model):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 90, 3), dtype=np.uint8))
    p = pj.project(model, noise, steps=2, crop="anime", perceptual_weight=0)
    assert p.notice == pj.NO_FACE and p.face is None and p.target.size == (16, 16)
    from facegan import faces

    assert same(p.target, faces.square(noise, 16))
    for kwargs, says in (({"crop": "cat"}, "crop is one of auto, anime, photo, none"),
                         ({"steps": 0}, "steps must be between 1 and 1000"),
                         ({"steps": checks.MAX_PROJECT_STEPS + 1}, "steps must be between 1 and 1000"),
                         ({"space": "z"}, "space is w or w\\+"),
                         ({"seed": -1}, "seed must be between"),
                         ({"perceptual_weight": 0, "pixel_weight": 0}, "both 0"),
                         ({"pixel": "l3"}, "the pixel loss is l2 or l1")):
        with pytest.raises(ValueError, match=says):
            pj.project(model, noise, **{"steps": 2, **kwargs})


def test_save_writes_the_latent_pictures_video_and_code(projected, tmp_path):
    _, p, q = projected
    files = pj.save(p, tmp_path / "w")
    assert sorted(f.name for f in files.values()) == ["code.txt", "latent.json", "latent.safetensors",
                                                     "projection.mp4", "projection.png"]
    ws, noise, space = pj.load_latent(files["latent"])
    assert torch.equal(ws, p.ws) and noise is None and space == "w"
    info = json.loads(files["json"].read_text())
    assert info["code"] == p.code and info["loss"] == p.loss and info["losses"] == p.losses
    assert files["code"].read_text().strip() == p.code
    with Image.open(files["side_by_side"]) as im:
        assert im.width > 2 * 256  # input | projection, 256 px each, captioned
    import imageio.v2 as imageio

    with imageio.get_reader(files["video"]) as r:
        first = r.get_data(0)
    assert first.shape == (128, 256, 3)  # input | the face, 128 px each
    gif = pj.save_video(q, tmp_path / "q.gif")
    with Image.open(gif) as im:  # (PIL merges equal frames into one of their summed duration)
        total = 0
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info["duration"]
    assert total == (len(q.frames) + 20) * 50  # every frame at 20 fps, the last held for a second
    with pytest.raises(ValueError, match=r"\.mp4 or \.gif"):
        pj.save_video(q, tmp_path / "q.avi")


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def ckpt(model, tmp_path_factory):
    return hub.save_pretrained(model, tmp_path_factory.mktemp("sg") / "tiny")


def test_cli_project_writes_its_files_and_the_code_draws_the_face(ckpt, st, tmp_path, capsys):
    picture = tmp_path / "me.png"
    st.face(3).picture.resize((48, 48), Image.Resampling.LANCZOS).save(picture)
    rc, err = run_main(["project", "stylegan", str(picture), "--out", str(tmp_path / "out"), "--checkpoint",
                        str(ckpt), "--steps", "6", "--crop", "none", "--quiet"], capsys)
    assert rc == 0, err
    assert "W after 6 steps: loss" in err
    out = tmp_path / "out"
    for name in ("latent.safetensors", "latent.json", "projection.png", "projection.mp4", "code.txt"):
        assert (out / name).is_file(), name
    code = (out / "code.txt").read_text().strip()
    ws, _, _ = pj.load_latent(out / "latent.safetensors")
    assert torch.equal(st.ws(st.faces([code]))[0], ws)
    rc, err = run_main(["generate", "stylegan", "--checkpoint", str(ckpt), "--code", code, "--out",
                        str(tmp_path / "face.png")], capsys)
    assert rc == 0, err
    with Image.open(tmp_path / "face.png") as im:
        assert same(im.convert("RGB"), st.face(code).picture)


@pytest.mark.parametrize(("args", "says"), [
    (["--steps", "0"], "argument --steps: steps must be between 1 and 1000"),
    (["--steps", "1001"], "argument --steps: steps must be between 1 and 1000"),
    (["--space", "z"], "argument --space: invalid choice"),
    (["--crop", "cat"], "argument --crop: invalid choice"),
    (["--seed", "-1"], "argument --seed: seed must be between 0"),
    (["PICTURE=missing"], "missing.png is not a picture this app can read"),
    (["PICTURE=text"], "notes.txt is not a picture this app can read"),
    (["TECHNIQUE=dcgan"], "project is for stylegan, not dcgan"),
    (["OUT=file"], "is a file: give a folder"),
])
def test_cli_project_refuses_bad_input_in_one_line(ckpt, tmp_path, capsys, args, says):
    picture, out, technique = tmp_path / "me.png", tmp_path / "out", "stylegan"
    Image.new("RGB", (32, 32), (90, 20, 200)).save(picture)
    flags = []
    for a in args:
        if a == "PICTURE=missing":
            picture = tmp_path / "missing.png"
        elif a == "PICTURE=text":
            picture = tmp_path / "notes.txt"
            picture.write_text("not a picture")
        elif a == "TECHNIQUE=dcgan":
            technique = "dcgan"
        elif a == "OUT=file":
            out.write_text("x")
        else:
            flags.append(a)
    rc, err = run_main(["project", technique, str(picture), "--out", str(out), "--checkpoint", str(ckpt),
                        "--quiet", *flags], capsys)
    assert_one_line_refusal(rc, err, says)
    assert not (out / "latent.safetensors").exists()
