"""`facegan generate stylegan`, `facegan interpolate stylegan` and `facegan edit stylegan`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli_limits import assert_one_line_refusal, run_main

from facegan import hub
from facegan.models import stylegan
from facegan.studio import Studio

ROOT = Path(__file__).resolve().parent.parent
TINY = {"image_size": 16, "z_dim": 8, "w_dim": 8, "channel_base": 64, "channel_max": 8, "mbstd_group": 2}


def facegan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "facegan", *args], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return hub.save_pretrained(stylegan.Model(stylegan.Config(**TINY)), tmp_path_factory.mktemp("sg") / "tiny")


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def test_generate_one_face_with_psi_like_the_library(ckpt, tmp_path):
    r = facegan("generate", "stylegan", "--checkpoint", str(ckpt), "--seed", "3", "--psi", "0.7", "--out",
                str(tmp_path / "face.png"), "--print-codes")
    assert r.returncode == 0, r.stderr
    st = Studio(hub.load_folder(ckpt), dtype="float32")
    want = st.face(3, psi=0.7)
    assert r.stdout.split() == [str(tmp_path / "face.png"), want.code]
    assert (pixels(tmp_path / "face.png") == np.asarray(want.picture, np.int16)).all()
    # a variation's code, random noise and a cutoff
    code = st.variations(3, 2, 0.3, 1)[1].code
    r = facegan("generate", "stylegan", "--checkpoint", str(ckpt), "--code", code, "--psi", "0.5", "--cutoff", "2",
                "--noise", "random", "--noise-seed", "4", "--out", str(tmp_path / "v.png"))
    assert r.returncode == 0, r.stderr
    want = st.face(code, psi=0.5, cutoff=2, noise="random", noise_seed=4)
    assert (pixels(tmp_path / "v.png") == np.asarray(want.picture, np.int16)).all()
    r = facegan("generate", "stylegan", "--checkpoint", str(ckpt), "--seed", "0", "--count", "6", "--columns", "3",
                "--psi", "0", "--out", str(tmp_path / "grid.png"))
    assert r.returncode == 0, r.stderr
    grid = pixels(tmp_path / "grid.png")
    assert grid.shape == (2 * 18 + 2, 3 * 18 + 2, 3)
    assert (grid[2:18, 2:18] == grid[20:36, 38:54]).all()  # psi 0: one face, the average


def test_interpolate_writes_gif_and_mp4(ckpt, tmp_path):
    r = facegan("interpolate", "stylegan", "--checkpoint", str(ckpt), "--seeds", "1,2,3", "--frames", "4", "--size",
                "32", "--out", str(tmp_path / "morph.gif"), str(tmp_path / "morph.mp4"))
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "morph.gif") as im:
        assert im.n_frames == 2 * 4 + 1 and im.size == (32, 32)  # no --loop: it ends on the last face
    assert (tmp_path / "morph.mp4").stat().st_size > 0
    r = facegan("interpolate", "stylegan", "--checkpoint", str(ckpt), "--seeds", "1,2,3,4,5,6", "--side-by-side", "3",
                "--frames", "3", "--loop", "--mode", "slerp-z", "--size", "16", "--out", str(tmp_path / "three.gif"))
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "three.gif") as im:
        assert im.n_frames == 2 * 3 and im.size == (3 * 16, 16)
    st = Studio(hub.load_folder(ckpt), dtype="float32")
    frames = st.interpolation_frames([1, 2, 3, 4, 5, 6], 3, "slerp-z", True, 3, 16)
    with Image.open(tmp_path / "three.gif") as im:
        first = np.asarray(im.convert("RGB"), np.int16)
    assert np.abs(first - frames[0]).mean() < 6  # the same frame, through the GIF's 256-colour palette


def test_edit_along_a_direction_and_its_strip_like_the_library(ckpt, tmp_path):
    st = Studio(hub.load_folder(ckpt), dtype="float32")
    r = facegan("edit", "stylegan", "--checkpoint", str(ckpt), "--seed", "3", "--direction", "1", "--layers", "coarse",
                "--strength", "4", "--psi", "0.7", "--out", str(tmp_path / "edited.png"))
    assert r.returncode == 0, r.stderr
    want = st.edit(3, 1, "coarse", 4, psi=0.7)
    assert r.stdout.strip().startswith("direction 1 of 8 of styles 0-3 (eigenvalue ")
    assert r.stdout.strip().endswith(f"strength +4: {tmp_path / 'edited.png'}")
    assert (pixels(tmp_path / "edited.png") == np.asarray(want.picture, np.int16)).all()
    assert not (pixels(tmp_path / "edited.png") == np.asarray(st.face(3, psi=0.7).picture, np.int16)).all()
    code = st.code(5)  # a code, the middle styles, the strip (the defaults: direction 0, strength 3)
    r = facegan("edit", "stylegan", "--checkpoint", str(ckpt), "--code", code, "--layers", "4-5", "--strip", "5",
                "--out", str(tmp_path / "strip.png"))
    assert r.returncode == 0, r.stderr
    strip = st.edit_strip(code, 0, "middle", 3, 5)
    assert strip.strengths == [-3, -1.5, 0, 1.5, 3]
    assert (pixels(tmp_path / "strip.png") == np.asarray(strip.figure(128), np.int16)).all()
    r = facegan("edit", "stylegan", "--checkpoint", str(ckpt), "--seed", "5", "--strength", "0", "--out",
                str(tmp_path / "same.png"))
    assert r.returncode == 0, r.stderr
    assert (pixels(tmp_path / "same.png") == np.asarray(st.face(5).picture, np.int16)).all()  # strength 0: the face


@pytest.fixture(scope="module")
def labelled_ckpt(ckpt, tmp_path_factory) -> Path:
    """The tiny StyleGAN in a folder that ships labelled directions (tests/test_directions.py's tint reader)."""
    import shutil

    from test_directions import LinearReader

    from facegan import directions

    folder = tmp_path_factory.mktemp("sg-labelled") / "tiny"
    shutil.copytree(ckpt, folder)
    directions.labelled(hub.load_folder(folder), LinearReader(), n=200).save(folder)
    return folder


def test_edit_along_a_labelled_direction_by_name(ckpt, labelled_ckpt, tmp_path, capsys):
    from facegan import directions

    st = Studio(hub.load_folder(labelled_ckpt), dtype="float32", labelled=directions.shipped(labelled_ckpt))
    r = facegan("edit", "stylegan", "--checkpoint", str(labelled_ckpt), "--seed", "3", "--direction", "hair: blue",
                "--strength", "4", "--out", str(tmp_path / "blue.png"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("labelled direction 'hair: blue' (boundary accuracy ") and "in styles 0-5," in r.stdout
    want = st.edit(3, "hair: blue", None, 4)  # all styles: a labelled direction's default
    assert (pixels(tmp_path / "blue.png") == np.asarray(want.picture, np.int16)).all()
    out = tmp_path / "out" / "x.png"
    rc, err = run_main(["edit", "stylegan", "--checkpoint", str(labelled_ckpt), "--seed", "3", "--direction",
                        "hair: teal", "--out", str(out)], capsys)
    assert_one_line_refusal(rc, err, "no direction 'hair: teal': SeFa's are numbers (0: the strongest); the labelled "
                                     "ones are hair: blue, red, other; eyes: dark, light")
    rc, err = run_main(["edit", "stylegan", "--checkpoint", str(ckpt), "--seed", "3", "--direction", "hair: blue",
                        "--out", str(out)], capsys)
    assert_one_line_refusal(rc, err, "this checkpoint has no labelled directions (Studio.compute_labelled")
    assert not out.parent.exists()


@pytest.mark.parametrize(("argv", "says"), [
    (["interpolate", "stylegan", "--seeds", "1", "--out", "OUT.gif"], "faces: 2 to 32 faces"),
    (["interpolate", "stylegan", "--seeds", "1,x", "--out", "OUT.gif"], "16 hex digits"),
    (["interpolate", "stylegan", "--seeds", "1,2,3", "--side-by-side", "2", "--out", "OUT.gif"], "faces: 4 to 32"),
    (["interpolate", "stylegan", "--seeds", "1,2", "--out", "OUT.png"], "written as .gif or .mp4"),
    (["interpolate", "stylegan", "--seeds", "1,2", "--frames", "1", "--out", "OUT.gif"], "argument --frames"),
    (["interpolate", "stylegan", "--seeds", "1,2", "--side-by-side", "9", "--out", "OUT.gif"],
     "argument --side-by-side: side-by-side must be between 1 and 8"),
    (["interpolate", "stylegan", "--seeds", "1,2", "--mode", "cubic", "--out", "OUT.gif"], "argument --mode"),
    (["generate", "stylegan", "--seed", "1", "--psi", "nan", "--out", "OUT.png"], "argument --psi: psi must be a finite"),
    (["generate", "stylegan", "--seed", "1", "--psi", "3", "--out", "OUT.png"], "argument --psi: psi must be between"),
    (["generate", "stylegan", "--seed", "1", "--cutoff", "7", "--out", "OUT.png"],
     "cutoff (truncated styles) must be between 0 and 6"),
    (["generate", "stylegan", "--seed", "1", "--noise", "loud", "--out", "OUT.png"], "argument --noise"),
    (["generate", "stylegan", "--code", "00" * 8 + "+1:2", "--out", "OUT.png"], "+<seed>:<index>:<step>"),
    (["edit", "stylegan", "--seed", "1", "--direction", "8", "--out", "OUT.png"],
     "direction (styles 0-3 have 8) must be between 0 and 7, got 8"),
    (["edit", "stylegan", "--seed", "1", "--layers", "fine", "--out", "OUT.png"], "has no fine styles"),
    (["edit", "stylegan", "--seed", "1", "--layers", "0-9", "--out", "OUT.png"], "style indices 0 to 5"),
    (["edit", "stylegan", "--seed", "1", "--strength", "21", "--out", "OUT.png"],
     "argument --strength: strength must be between -20.0 and 20.0"),
    (["edit", "stylegan", "--seed", "1", "--strength", "nan", "--out", "OUT.png"], "strength must be a finite"),
    (["edit", "stylegan", "--seed", "1", "--strip", "1", "--out", "OUT.png"], "argument --strip: strip must be"),
    (["edit", "stylegan", "--seed", "1", "--code", "00" * 8, "--out", "OUT.png"], "as --seed or --code, not both"),
    (["edit", "stylegan", "--code", "xyz", "--out", "OUT.png"], "16 hex digits"),
    (["edit", "stylegan", "OUT.jpg", "--seed", "1", "--out", "OUT.png"], "not a picture (that is stargan's)"),
    (["edit", "stylegan", "--set", "hair=blue", "--out", "OUT.png"], "not --set (that is stargan's)"),
    (["edit", "stargan", "OUT.jpg", "--direction", "1", "--out", "OUT.png"], "--direction is for edit stylegan"),
    (["edit", "stargan", "OUT.jpg", "--psi", "0.5", "--out", "OUT.png"], "--psi is for edit stylegan, not stargan"),
    (["edit", "stargan", "--group", "hair", "--out", "OUT.png"], "edit stargan needs a picture"),
])
def test_errors_are_one_line(ckpt, tmp_path, capsys, argv, says):
    argv = [a.replace("OUT", str(tmp_path / "out" / "x")) for a in argv] + ["--checkpoint", str(ckpt)]
    rc, err = run_main(argv, capsys)
    assert rc == 2
    assert_one_line_refusal(rc, err, says)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("argv", "says"), [
    (["generate", "stylegan", "--seed", "3"], "no default stylegan checkpoint is bundled yet: give --checkpoint"),
    (["interpolate", "stylegan", "--seeds", "1,2"], "no default stylegan checkpoint"),
    (["generate", "dcgan", "--psi", "0.5"], "--psi is for stylegan, not dcgan"),
    (["interpolate", "dcgan", "--seeds", "1,2"], "interpolate is for stylegan, not dcgan (for dcgan: facegan morph)"),
])
def test_without_a_checkpoint_or_for_another_technique(tmp_path, capsys, argv, says):
    if "stylegan" in hub.read_manifest(hub.MANIFEST) and "stylegan" in argv:
        pytest.skip("a default StyleGAN checkpoint is bundled: test_the_bundled_default_draws")
    out = tmp_path / "out" / ("x.gif" if argv[0] == "interpolate" else "x.png")
    rc, err = run_main([*argv, "--out", str(out)], capsys)
    assert_one_line_refusal(rc, err, says)
    assert rc == 2 and not out.exists()


def test_the_bundled_default_draws(tmp_path, capsys):
    if "stylegan" not in hub.read_manifest(hub.MANIFEST):
        pytest.skip("no StyleGAN checkpoint is bundled: test_without_a_checkpoint_or_for_another_technique")
    rc, _ = run_main(["generate", "stylegan", "--seed", "3", "--psi", "0.7", "--out", str(tmp_path / "face.png")], capsys)
    assert rc == 0
    with Image.open(tmp_path / "face.png") as im:
        assert im.size == (64, 64)
