"""The CLI's limits: every number flag bounded (facegan.checks, the app's limits), NaN and Inf
refused, hostile JSON and codes a short message, pictures read with images.open_picture (pixel
cap, damaged files). Each refusal is one line naming what is wrong, exits non-zero, writes nothing.

The argparse refusals run ``cli.main`` in this process (they fail before any model is loaded);
the picture ones run ``python -m facegan`` as a user does, with the bundled checkpoints.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegan import checks, cli, hub

ROOT = Path(__file__).resolve().parent.parent
A, B = "cbbfc4c798a26ba1babeaeaf53865766", "82763953b2740fef4d321dde7af002f7"


def facegan(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "facegan", *args], check=False, capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=120)
    return r, time.perf_counter() - start


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    """``facegan ARGV`` in this process: (exit status, stderr)."""
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    return rc, capsys.readouterr().err


def assert_one_line_refusal(rc: int, err: str, says: str) -> None:
    """Non-zero, no traceback, one error line (argparse puts its usage lines before it) saying ``says``."""
    assert rc != 0, err
    assert "Traceback" not in err, err
    errors = [line for line in err.strip().splitlines() if "error:" in line]
    assert len(errors) == 1 and says in errors[0], err
    assert len(errors[0]) < 300, errors[0]
    usage = err.strip().splitlines()[:-1]
    assert all(line.startswith(("usage:", " ")) or "Using the bundled" in line
               for line in usage), err


def bundled(technique: str) -> str:
    return str(hub.MANIFEST.parent / hub.read_manifest(hub.MANIFEST)[technique]["bundled"])


# (subcommand and arguments, what the one line must say). OUT is the file that must not appear.
GEN, RANK = ["generate", "dcgan", "--out", "OUT"], ["rank", "dcgan", "--out", "OUT"]
MORPH = ["morph", "dcgan", "--code", A, "--code", B, "--out", "OUT"]
TRAIN = ["train", "dcgan", "--data", "NOWHERE", "--out", "OUT"]
BAD_NUMBERS = [
    (GEN + ["--count", "0"], "argument --count: count must be between 1 and 256"),
    (GEN + ["--count", "257"], "argument --count: count must be between 1 and 256"),
    (GEN + ["--count", "1.5"], "argument --count: count must be a whole number"),
    (GEN + ["--count", "ten"], "argument --count: count must be a whole number"),
    (GEN + ["--columns", "0"], "argument --columns: columns must be between 1 and 64"),
    (GEN + ["--seed", "-1"], "argument --seed: seed must be between 0 and"),
    (GEN + ["--seed", str(2**64)], "argument --seed: seed must be between 0 and 9223372036854775807"),
    (GEN + ["--seed", "9" * 5000], "argument --seed: seed must be a whole number between 0 and"),
    (GEN + ["--good", A, "--bad", B, "--strength", "nan"], "argument --strength: strength must be a finite number"),
    (GEN + ["--good", A, "--bad", B, "--strength", "inf"], "argument --strength: strength must be a finite number"),
    (GEN + ["--good", A, "--bad", B, "--strength=-1e308"], "argument --strength: strength must be between -10"),
    (RANK + ["--count", "0"], "argument --count: count must be between 1 and 4096"),
    (RANK + ["--count", "4097"], "argument --count: count must be between 1 and 4096"),
    (RANK + ["--top", "0"], "argument --top: top must be between 1 and 4096"),
    (RANK + ["--seed", "-3"], "argument --seed: seed must be between 0 and"),
    (MORPH + ["--frames", "1"], "argument --frames: frames must be between 2 and 120"),
    (MORPH + ["--frames", "100000"], "argument --frames: frames must be between 2 and 120"),
    (MORPH + ["--fps", "0"], "argument --fps: fps must be between 1 and 60"),
    (MORPH + ["--size", "100000"], "argument --size: size must be between 16 and 1024"),
    (["evaluate", "dcgan", "--data", "NOWHERE", "--n", "1"], "argument --n: n must be between 2 and 50000"),
    (["evaluate", "dcgan", "--data", "NOWHERE", "--seed", "-1"], "argument --seed: seed must be between 0"),
    (["translate", "ugatit", "PIC", "--out", "OUT", "--face", "-1"], "argument --face: face must be between 0 and 99"),
    (["translate", "ugatit", "PIC", "--out", "OUT", "--size", "0"], "argument --size: size must be between 16 and 1024"),
    (["edit", "stargan", "PIC", "--group", "hair", "--out", "OUT", "--face", "100"], "argument --face: face must be"),
    (["edit", "stargan", "PIC", "--group", "hair", "--out", "OUT", "--size", "5000"], "argument --size: size must be"),
    (TRAIN + ["--steps", "0"], "argument --steps: steps must be between 1 and 10000000"),
    (TRAIN + ["--batch-size", "0"], "argument --batch-size: batch-size must be between 1 and 4096"),
    (TRAIN + ["--limit", "-1"], "argument --limit: limit must be between 0 and 10000000"),
    (TRAIN + ["--seed", str(2**64)], "argument --seed: seed must be between 0 and"),
    (TRAIN + ["--log-every", "0"], "argument --log-every: log-every must be between 1 and"),
    (TRAIN + ["--sample-every", "-5"], "argument --sample-every: sample-every must be between 1 and"),
    (TRAIN + ["--checkpoint-every", "0"], "argument --checkpoint-every: checkpoint-every must be between 1 and"),
    (TRAIN + ["--keep-last", "0"], "argument --keep-last: keep-last must be between 1 and 1000"),
    (TRAIN + ["--model", "[" * 100_000], "argument --model: the model config is 100,000 characters long"),
    (TRAIN + ["--model", "[" * 10_000], "argument --model: the model config is nested more than 16 levels deep"),
    (TRAIN + ["--model", '{"ngf": '], "argument --model: the model config is not"),
    (TRAIN + ["--model", "[1, 2]"], "argument --model: the model config must be a JSON object"),
    (["convert", "dcgan", "--from", "pytorch-examples", "--netg", "G.pth", "--out", "OUT", "--nz", "0"],
     "argument --nz: nz must be between 1 and 4096"),
    (["convert", "ugatit", "x.pt", "--out", "OUT", "--size", "4"], "argument --size: size must be between 8 and 1024"),
    (["convert", "stargan", "G.ckpt", "--c-dim", "0", "--out", "OUT"], "argument --c-dim: c-dim must be between 1"),
    (["convert", "stargan", "G.ckpt", "--c-dim", "5", "--out", "OUT", "--image-size", "99999"],
     "argument --image-size: image-size must be between 8 and 1024"),
]


@pytest.mark.parametrize(("argv", "says"), BAD_NUMBERS, ids=[" ".join(a)[:60] for a, _ in BAD_NUMBERS])
def test_bad_numbers_are_one_line_refusals(tmp_path, capsys, argv, says):
    pic = tmp_path / "pic.png"
    Image.new("RGB", (64, 64)).save(pic)
    out = tmp_path / "out" / "x.png"
    subs = {"OUT": str(out), "PIC": str(pic), "NOWHERE": str(tmp_path / "nowhere")}
    argv = [subs.get(a, a) for a in argv]
    rc, err = run_main(argv, capsys)
    assert rc == 2
    assert_one_line_refusal(rc, err, says)
    assert not out.exists() and not (tmp_path / "out").exists()


def test_good_numbers_at_the_edges_parse():
    p = cli.build_parser()
    a = p.parse_args(["generate", "dcgan", "--out", "x.png", "--count", "256", "--columns", "64",
                      "--seed", str(checks.MAX_SEED), "--strength", "-10"])
    assert (a.count, a.columns, a.seed, a.strength) == (256, 64, checks.MAX_SEED, -10.0)
    a = p.parse_args(["train", "dcgan", "--out", "r", "--limit", "0", "--steps", "1", "--batch-size", "4096",
                      "--model", '{"ngf": 8}'])
    assert (a.limit, a.steps, a.batch_size, a.model) == (0, 1, 4096, {"ngf": 8})  # --limit 0: all, as TrainConfig


def test_long_codes_are_not_echoed_back(tmp_path, capsys):
    dcgan = bundled("dcgan")
    out = tmp_path / "x.png"
    for flags, says in ((["--code", "ab" * 50_000], "a face code is 32 hex digits"),
                        (["--code", " ".join([A] * 1000)], "--code gives 1,000 codes: at most 256"),
                        (["--good", "0" * 100_000, "--bad", B], "a face code is 32 hex digits")):
        rc, err = run_main(["generate", "dcgan", "--checkpoint", dcgan, *flags, "--out", str(out)], capsys)
        assert rc == 2
        assert_one_line_refusal(rc, err, says)
        assert not out.exists()
    rc, err = run_main(["morph", "dcgan", "--checkpoint", dcgan, *["--code", A] * 33, "--out",
                        str(tmp_path / "m.gif")], capsys)
    assert_one_line_refusal(rc, err, "--code gives 33 codes: at most 32")


def test_a_real_process_refuses_with_exit_2_and_one_line(tmp_path):
    r, _ = facegan("train", "dcgan", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--batch-size", "0")
    assert r.returncode == 2 and r.stdout == ""
    assert_one_line_refusal(r.returncode, r.stderr, "argument --batch-size: batch-size must be between 1 and 4096")
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- pictures


def jpeg_bytes() -> bytes:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256]
    arr = np.stack([xx, yy, (xx + yy) // 2], -1).astype(np.uint8) + rng.integers(0, 30, (256, 256, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A 20000 x 20000 1-bit PNG: 400 megapixels in ~50 KB (about 1 s to write)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path)
    assert path.stat().st_size < 200_000
    return path


def test_translate_refuses_a_bomb_and_a_truncated_jpeg(bomb, tmp_path):
    out = tmp_path / "out.png"
    r, seconds = facegan("translate", "ugatit", str(bomb), "--out", str(out))
    assert r.returncode == 2 and seconds < 10, (seconds, r.stderr)
    assert_one_line_refusal(r.returncode, r.stderr, f"{bomb} declares more pixels than any picture")
    assert not out.exists()

    cut = tmp_path / "cut.jpg"
    data = jpeg_bytes()
    cut.write_bytes(data[: len(data) // 2])
    r, _ = facegan("translate", "ugatit", str(cut), "--out", str(out))
    assert_one_line_refusal(r.returncode, r.stderr, f"{cut} is damaged or truncated and cannot be read")
    assert not out.exists()


def test_edit_refuses_a_bomb_and_a_bit_flipped_jpeg(bomb, tmp_path):
    out = tmp_path / "grid.png"
    r, seconds = facegan("edit", "stargan", str(bomb), "--group", "hair", "--out", str(out))
    assert r.returncode == 2 and seconds < 10, (seconds, r.stderr)
    assert_one_line_refusal(r.returncode, r.stderr, "declares more pixels than any picture")
    assert not out.exists()

    flipped = tmp_path / "flipped.jpg"
    data = bytearray(jpeg_bytes())
    sos = data.index(b"\xff\xda")
    data[sos + 7] ^= 0x20  # the scan's first component now names a Huffman table that is not there
    flipped.write_bytes(bytes(data))
    r, _ = facegan("edit", "stargan", str(flipped), "--group", "hair", "--out", str(out))
    assert_one_line_refusal(r.returncode, r.stderr, "is damaged or truncated and cannot be read")
    assert not out.exists()


def test_translate_reads_16_bit_greyscale_as_a_gradient_not_white(tmp_path):
    from facegan.images import open_picture
    from facegan.translator import Translator

    grey16 = tmp_path / "grey16.png"
    ramp = np.linspace(0, 65535, 128)
    Image.fromarray((np.add.outer(ramp, ramp) / 2).astype(np.uint16)).save(grey16)
    with Image.open(grey16) as im:
        assert im.mode in ("I;16", "I")  # a true 16-bit file: PIL's convert("RGB") would clip it white
    out = tmp_path / "out.png"
    r, _ = facegan("translate", "ugatit", str(grey16), "--crop", "none", "--size", "128", "--out", str(out))
    assert r.returncode == 0, r.stderr

    read = open_picture(grey16)
    assert np.asarray(read).std() > 40  # the ramp, not a white square
    tr = Translator(hub.load_folder(bundled("ugatit")), dtype="float32")  # the CLI computes in float32
    want = tr.translate(read, "a2b", "none", display=128).output
    with Image.open(grey16) as im:  # what the CLI used to translate: PIL clips 16-bit values at 255
        clipped = im.convert("RGB")
    assert np.asarray(clipped).mean() > 254
    white = tr.translate(clipped, "a2b", "none", display=128).output
    with Image.open(out) as got:
        got = np.asarray(got.convert("RGB"), np.int16)
    assert np.abs(got - np.asarray(want, np.int16)).max() <= 1
    assert np.abs(got - np.asarray(white, np.int16)).mean() > 20
