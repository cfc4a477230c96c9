"""facegan.checks (numbers, JSON and echoed text from users) and images.open_picture (a user's picture)."""

from __future__ import annotations

import argparse
import io
import math
import time

import numpy as np
import pytest
from PIL import Image

from facegan import checks
from facegan.checks import InputError, json_object, quote, real, whole
from facegan.images import MAX_PIXELS, MAX_SIDE, open_picture

# ----------------------------------------------------------------------------- whole / real


@pytest.mark.parametrize(("value", "want"), [(3, 3), ("12", 12), (" 7 ", 7), ("+5", 5), (3.0, 3), ("3.0", 3),
                                             ("1e2", 100), (0, 0), (10, 10)])
def test_whole_takes_integral_values(value, want):
    assert whole(value, "n", 0, 100) == want and isinstance(whole(value, "n", 0, 100), int)


@pytest.mark.parametrize(("value", "says"), [
    (True, "n must be a whole number"), (None, "n must be a whole number"), (1.5, "n must be a whole number"),
    ("1.5", "n must be a whole number"), (math.nan, "n must be a whole number"), ("inf", "n must be a whole number"),
    ("1e400", "n must be a whole number"), ("abc", "n must be a whole number"), ([3], "n must be a whole number"),
    (-1, "n must be between 0 and 100, got -1"), (101, "n must be between 0 and 100, got 101"),
    ("9" * 5000, "n must be a whole number between 0 and 100"), (2**64, "n must be between 0 and 100"),
])
def test_whole_refuses_with_a_short_message(value, says):
    with pytest.raises(InputError) as e:
        whole(value, "n", 0, 100)
    assert says in str(e.value) and len(str(e.value)) < 120


def test_real_takes_finite_numbers_in_range():
    assert real("0.5", "x", -1, 1) == 0.5 and real(-1, "x", -1, 1) == -1.0 and real(" 1 ", "x", -1, 1) == 1.0


@pytest.mark.parametrize(("value", "says"), [
    ("nan", "finite"), (math.inf, "finite"), ("-inf", "finite"), ("1e309", "finite"), (True, "must be a number"),
    (None, "must be a number"), ("abc", "must be a number"), ([1], "must be a number"), (1.01, "between -1 and 1"),
    ("1" * 100, "between -1 and 1"), (10**400, "must be a number"),
])
def test_real_refuses_nan_inf_and_out_of_range(value, says):
    with pytest.raises(InputError, match="x must be") as e:
        real(value, "x", -1, 1)
    assert says in str(e.value) and len(str(e.value)) < 120


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)  # the CLI's main() prints a ValueError as one line


# ----------------------------------------------------------------------------- json_object, text, quote


def test_json_object_parses_objects_and_empty_text():
    assert json_object('{"ngf": 32}', "cfg") == {"ngf": 32}
    assert json_object({"a": [1, 2]}, "cfg") == {"a": [1, 2]}
    assert json_object("", "cfg") == {} and json_object(None, "cfg") == {} and json_object("  ", "cfg") == {}
    # brackets inside strings are not nesting
    assert json_object('{"a": "' + "[" * 100 + '"}', "cfg") == {"a": "[" * 100}


@pytest.mark.parametrize(("value", "says"), [
    ("[" * 100_000, "cfg is 100,000 characters long: at most 20,000"),
    ("[" * 10_000, "cfg is nested more than 16 levels deep"),
    ('{"a": ' * 17 + "1" + "}" * 17, "nested more than 16 levels"),
    ('{"ngf": ', "give an object such as"),
    ("[1, 2]", "cfg must be a JSON object such as"),
    ("3", "cfg must be a JSON object"),
    (42, "cfg must be text, got int"),
])
def test_json_object_refuses_with_one_line(value, says):
    with pytest.raises(InputError) as e:
        json_object(value, "cfg")
    assert says in str(e.value) and "\n" not in str(e.value) and len(str(e.value)) < 200


def test_text_bounds_length():
    assert checks.text(None, "t", 5) == "" and checks.text("abc", "t", 5) == "abc"
    with pytest.raises(InputError, match="t is 6 characters long: at most 5"):
        checks.text("abcdef", "t", 5)


def test_quote_is_short():
    assert quote("abc") == "'abc'" and quote(12) == "12"
    long = quote("x" * 1_000_000)
    assert long.startswith("'xxx") and long.endswith("…") and len(long) == checks.QUOTE_CHARS + 1
    assert len(quote(list(range(100_000)))) == checks.QUOTE_CHARS + 1
    assert len(quote(b"\0" * 10_000)) == checks.QUOTE_CHARS + 1


def test_arg_types_make_argparse_errors():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=checks.arg_whole("count", 1, 4))
    p.add_argument("--strength", type=checks.arg_real("strength", -1, 1))
    p.add_argument("--model", type=checks.arg_json("model"))
    a = p.parse_args(["--count", "4", "--strength", "-0.5", "--model", '{"a": 1}'])
    assert (a.count, a.strength, a.model) == (4, -0.5, {"a": 1})
    for argv in (["--count", "5"], ["--strength", "nan"], ["--model", "[" * 1000]):
        with pytest.raises(SystemExit):
            p.parse_args(argv)


# ----------------------------------------------------------------------------- open_picture


def save(tmp_path, im: Image.Image, name: str, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 256).astype(np.uint16)[None].repeat(8, 0)
    path = save(tmp_path, Image.fromarray(ramp), "g16.png")
    with Image.open(path) as im:
        assert im.mode in ("I;16", "I") and np.asarray(im.convert("RGB")).mean() > 254  # what PIL alone does
    out = np.asarray(open_picture(path))
    assert out.shape == (8, 256, 3) and out.min() == 0 and out.max() == 255
    assert abs(out.mean() - 127.5) < 1 and np.all(np.diff(out[0, :, 0].astype(int)) >= 0)


def test_other_modes_become_rgb(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert open_picture(save(tmp_path, rgba, "clear.png")).getpixel((0, 0)) == (255, 255, 255)  # on white
    pal = Image.new("RGB", (10, 10), (0, 128, 0)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert open_picture(save(tmp_path, pal, "p.png")).getpixel((3, 3)) == (0, 128, 0)
    grey = open_picture(save(tmp_path, Image.new("L", (5, 7), 90), "l.jpg"))
    assert grey.mode == "RGB" and grey.size == (5, 7)


def test_pixel_cap_from_the_header_before_decoding(tmp_path):
    side = int(MAX_PIXELS**0.5) + 10
    path = save(tmp_path, Image.new("L", (side, side)), "big.png")
    start = time.perf_counter()
    with pytest.raises(InputError, match=f"big.png is {side}x{side} pixels: at most 16 megapixels"):
        open_picture(path)
    assert time.perf_counter() - start < 0.5


def test_decompression_bombs_are_a_message(tmp_path, monkeypatch):
    path = save(tmp_path, Image.new("1", (200, 200)), "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL's own refusal: more than twice this
    with pytest.raises(InputError, match="bomb.png declares more pixels than any picture"):
        open_picture(path)


def test_big_jpegs_are_decoded_reduced(tmp_path):
    path = save(tmp_path, Image.new("RGB", (4400, 4000), (10, 200, 30)), "photo.jpg", quality=50)
    out = open_picture(path)
    assert max(out.size) == MAX_SIDE and out.size == (MAX_SIDE, round(4000 * MAX_SIDE / 4400))


def test_damaged_files_are_a_message_naming_the_file_not_its_folder(tmp_path):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.png").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    png = io.BytesIO()
    Image.new("RGB", (64, 64)).save(png, "PNG")
    (tmp_path / "cut.png").write_bytes(png.getvalue()[:60])
    for name, says in (("cut.jpg", "is damaged or truncated"), ("cut.png", ""), ("noise.png", "is not a picture"),
                       ("empty.png", "is not a picture"), ("text.png", "is not a picture this app can read")):
        with pytest.raises(InputError) as e:
            open_picture(tmp_path / name)
        msg = str(e.value)
        assert msg.startswith(name) and says in msg and str(tmp_path) not in msg, msg
    with pytest.raises(InputError, match="^upload.jpg is damaged"):
        open_picture(tmp_path / "cut.jpg", "upload.jpg")
    with pytest.raises(InputError, match="is not a picture"):
        open_picture(tmp_path / "missing.png")
