"""`facegan rank`, `facegan morph` and `generate --good/--bad`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegan import hub, latent
from facegan.explorer import Explorer
from facegan.models import dcgan

ROOT = Path(__file__).resolve().parent.parent
A, B = "cbbfc4c798a26ba1babeaeaf53865766", "82763953b2740fef4d321dde7af002f7"


def facegan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "facegan", *args], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return hub.save_pretrained(dcgan.Model(dcgan.Config(ngf=8, ndf=8)), tmp_path_factory.mktemp("ckpt") / "tiny")


def test_rank_prints_best_and_worst_in_order(ckpt, tmp_path):
    r = facegan("rank", "dcgan", "--checkpoint", str(ckpt), "--count", "20", "--top", "3", "--seed", "4",
                "--out", str(tmp_path / "best.png"), "--worst", str(tmp_path / "worst.png"))
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines() if "\t" in line]
    best = [(c, float(s)) for kind, c, s in rows if kind == "best"]
    worst = [(c, float(s)) for kind, c, s in rows if kind == "worst"]
    assert len(best) == len(worst) == 3
    assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)
    assert [s for _, s in worst] == sorted(s for _, s in worst)
    assert min(s for _, s in best) >= max(s for _, s in worst)
    # the same ranking as the library's, on the same 20 codes
    ranked = Explorer(hub.load_folder(ckpt), dtype="float32").rank(latent.random_codes(20, 16, seed=4))
    assert [c for c, _ in best] == ranked.codes[:3]
    assert Image.open(tmp_path / "best.png").size == Image.open(tmp_path / "worst.png").size


def test_morph_writes_gif_and_mp4(ckpt, tmp_path):
    r = facegan("morph", "dcgan", "--checkpoint", str(ckpt), "--code", A, "--code", B, "--frames", "5",
                "--size", "64", "--out", str(tmp_path / "m.gif"), str(tmp_path / "m.mp4"))
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "m.gif") as im:
        assert im.n_frames == 10 and im.size == (64, 64)  # 2 faces x 5 frames, looping back
    assert (tmp_path / "m.mp4").stat().st_size > 0


@pytest.mark.parametrize(("args", "says"), [
    (["morph", "dcgan", "--code", A, "--out", "x.gif"], "at least 2 codes"),
    (["morph", "dcgan", "--code", A, "--code", B, "--out", "x.avi"], ".gif or .mp4"),
    (["rank", "dcgan", "--count", "4", "--top", "5", "--out", "x.png"], "--top must be between"),
    (["generate", "dcgan", "--good", A, "--out", "x.png"], "--good and --bad go together"),
])
def test_bad_arguments_are_one_line_errors(ckpt, tmp_path, args, says):
    r = facegan(*args[:2], "--checkpoint", str(ckpt), *args[2:])
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("facegan: error:")
    assert says in r.stderr and "Traceback" not in r.stderr


def test_generate_with_an_offset(ckpt, tmp_path):
    base = ["generate", "dcgan", "--checkpoint", str(ckpt), "--count", "4", "--seed", "1", "--print-codes"]
    plain = facegan(*base, "--out", str(tmp_path / "a.png"))
    zero = facegan(*base, "--good", A, "--bad", B, "--strength", "0", "--out", str(tmp_path / "b.png"))
    moved = facegan(*base, "--good", "c0" * 16, "--bad", "40" * 16, "--out", str(tmp_path / "c.png"))
    assert plain.returncode == zero.returncode == moved.returncode == 0, moved.stderr
    codes = plain.stdout.splitlines()[1:]
    assert zero.stdout.splitlines()[1:] == codes
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    # +128 bytes on every dimension (clamped at 255)
    expected = [latent.bytes_to_code(min(255, b + 128) for b in latent.code_to_bytes(c)) for c in codes]
    assert moved.stdout.splitlines()[1:] == expected


# ----------------------------------------------------------------------------- U-GAT-IT


@pytest.fixture(scope="module")
def ugatit_ckpt(tmp_path_factory) -> Path:
    from facegan.models import ugatit

    torch.manual_seed(0)
    return hub.save_pretrained(ugatit.Model(ugatit.Config(ch=4, n_res=1, image_size=96)),
                               tmp_path_factory.mktemp("ugatit") / "tiny")


def test_translate_writes_the_result_like_the_library(ugatit_ckpt, tmp_path):
    from facegan.translator import Translator

    src = tmp_path / "grey.png"
    Image.new("L", (300, 200), 90).save(src)
    r = facegan("translate", "ugatit", str(src), "--checkpoint", str(ugatit_ckpt), "--direction", "b2a",
                "--crop", "none", "--out", str(tmp_path / "out.png"), "--side-by-side", str(tmp_path / "side.png"))
    assert r.returncode == 0, r.stderr
    assert "anime → selfie" in r.stdout
    with Image.open(tmp_path / "out.png") as out, Image.open(tmp_path / "side.png") as side:
        assert out.size == (256, 256) and side.size == (768, 256)
        want = Translator(hub.load_folder(ugatit_ckpt), dtype="float32").translate(Image.open(src), "b2a", "none").output
        diff = np.asarray(out.convert("RGB"), np.int16) - np.asarray(want, np.int16)
        assert np.abs(diff).max() <= 1


@pytest.mark.parametrize(("args", "says"), [
    (["--out", "x.png", "NOT_A_PICTURE"], "is not a picture"),
    (["PIC"], "say where to write"),
])
def test_translate_errors_are_one_line(ugatit_ckpt, tmp_path, args, says):
    bogus = tmp_path / "bogus.png"
    bogus.write_text("hello")
    pic = tmp_path / "pic.png"
    Image.new("RGB", (96, 96)).save(pic)
    args = [str(bogus) if a == "NOT_A_PICTURE" else str(pic) if a == "PIC" else a for a in args]
    r = facegan("translate", "ugatit", "--checkpoint", str(ugatit_ckpt), *args)
    assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr


def test_export_generators_only_keeps_the_translation(ugatit_ckpt, tmp_path):
    r = facegan("export", str(ugatit_ckpt), "--out", str(tmp_path / "slim"), "--generators-only")
    assert r.returncode == 0, r.stderr
    full, slim = hub.load_folder(ugatit_ckpt), hub.load_folder(tmp_path / "slim")
    assert not slim.config.discriminators and not hasattr(slim, "discriminator")
    x = torch.rand(1, 3, 96, 96) * 2 - 1
    assert torch.equal(full.translate(x)[0], slim.translate(x)[0])
    assert (tmp_path / "slim" / "model.safetensors").stat().st_size < (ugatit_ckpt / "model.safetensors").stat().st_size


# ----------------------------------------------------------------------------- StarGAN


@pytest.fixture(scope="module")
def stargan_ckpt(tmp_path_factory) -> Path:
    from facegan.labels import LabelSpec, anime_labels
    from facegan.models import stargan

    torch.manual_seed(0)
    cfg = stargan.Config(image_size=32, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=4,
                         labels=LabelSpec.of(anime_labels(("black", "blue", "pink"), ("green", "red"))))
    return hub.save_pretrained(stargan.Model(cfg), tmp_path_factory.mktemp("stargan") / "tiny")


def test_edit_writes_the_grid_and_one_edit_like_the_library(stargan_ckpt, tmp_path):
    from facegan.editor import Editor

    src = tmp_path / "wide.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)).save(src)
    ed = Editor(hub.load_folder(stargan_ckpt), dtype="float32")

    r = facegan("edit", "stargan", str(src), "--checkpoint", str(stargan_ckpt), "--group", "hair",
                "--out", str(tmp_path / "grid.png"))
    assert r.returncode == 0, r.stderr
    assert f"hair: black, blue, pink: {tmp_path / 'grid.png'}" in r.stdout
    assert "No face found" in r.stderr and "read as hair" in r.stderr  # auto crop fell back to the whole picture
    want = ed.grid(Image.open(src), "hair").grid
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == want.size
        assert np.abs(np.asarray(grid.convert("RGB"), np.int16) - np.asarray(want, np.int16)).max() <= 1

    r = facegan("edit", "stargan", str(src), "--checkpoint", str(stargan_ckpt), "--set", "hair=blue",
                "--set", "eyes=red", "--crop", "none", "--out", str(tmp_path / "one.png"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("hair blue, eyes red: ") and "No face found" not in r.stderr
    want = ed.edit(Image.open(src), {"hair": "blue", "eyes": "red"}, "none").output
    with Image.open(tmp_path / "one.png") as one:
        assert one.size == (256, 256)
        assert np.abs(np.asarray(one.convert("RGB"), np.int16) - np.asarray(want, np.int16)).max() <= 1


def test_edit_uses_the_bundled_stargan_by_default(tmp_path):
    r = facegan("edit", "stargan", str(ROOT / "assets" / "examples" / "astronaut.jpg"), "--group", "hair",
                "--crop", "photo", "--out", str(tmp_path / "grid.png"))
    assert r.returncode == 0, r.stderr
    assert "hair: aqua, black, blonde, blue, brown, gray, green, orange, pink, purple, red, white" in r.stdout
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.width > grid.height > 0


@pytest.mark.parametrize(("args", "says"), [
    (["--out", "x.png"], "say what to make: --group"),
    (["--group", "hair", "--set", "hair=blue", "--out", "x.png"], "say what to make"),
    (["--group", "wings", "--out", "x.png"], "'wings' is not a label group of this checkpoint; its groups are hair, eyes"),
    (["--set", "hair=gold", "--out", "x.png"], "'gold' is not one of the 3 hair values: black, blue, pink"),
    (["--set", "hair", "--out", "x.png"], "write GROUP=VALUE"),
    (["--set", "hair=blue", "--set", "eyes=pink", "--out", "x.png"], "'pink' is not one of the"),
    (["--set", "hair=blue", "--out", "x.png", "NOT_A_PICTURE"], "is not a picture"),
    (["--group", "hair", "--out", "x.png", "DCGAN"], "edit needs a StarGAN model"),
])
def test_edit_errors_are_one_line(stargan_ckpt, ckpt, tmp_path, capsys, args, says):
    from facegan import cli

    pic, bogus = tmp_path / "pic.png", tmp_path / "bogus.png"
    Image.new("RGB", (40, 40)).save(pic)
    bogus.write_text("hello")
    technique, checkpoint = "stargan", ["--checkpoint", str(stargan_ckpt)]
    if "DCGAN" in args:
        technique, checkpoint = "dcgan", ["--checkpoint", str(ckpt)]
    picture = str(bogus) if "NOT_A_PICTURE" in args else str(pic)
    args = [str(tmp_path / a) if a == "x.png" else a for a in args if a not in ("DCGAN", "NOT_A_PICTURE")]
    assert cli.main(["edit", technique, picture, *checkpoint, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("facegan: error:") and len(err.strip().splitlines()) == 1 and says in err, err
    assert not (tmp_path / "x.png").exists()
