"""What a user may send, checked in one place for the app, the CLI and the Python API.

Every number, JSON text and echoed value that comes from outside goes through these
functions, so a bad value gets the same one-line message everywhere, naming the field,
and a hostile one (NaN, 10^100, a megabyte of text, 100,000 nested brackets) costs
nothing. The limits are the app's and the CLI's alike.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """A value a user sent that cannot be used; the message names the field and says why."""


# -- limits (the app and the CLI share them) -----------------------------------------
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit seed
MAX_FACES = 256  # faces in one grid or gallery
MAX_RANK = 4096  # faces scored in one ranking
MAX_COLUMNS = 64
MAX_MORPH_FACES = 32
MAX_FRAMES = 120  # frames per face in a morph
MAX_FPS = 60
MAX_DISPLAY = 1024  # the side of a picture written for viewing
MAX_FACE_INDEX = 99
MAX_STRENGTH = 10.0  # |strength| of an offset vector
MAX_STEPS = 10_000_000
MAX_BATCH = 4096
MAX_EVERY = 10_000_000  # --log-every, --sample-every, --checkpoint-every
MAX_KEEP = 1000
MAX_JSON_CHARS = 20_000  # a model config or target labels: a few hundred characters in practice
MAX_JSON_DEPTH = 16
QUOTE_CHARS = 40  # what of a user's text a message repeats
MAX_IMAGES = 10_000_000  # --limit: images of a data set used for training (0 = all)
MAX_SAMPLES = 1_000_000  # facegan sample: streamed to disk, so bounded by the disk, not memory
MAX_EVAL_IMAGES = 50_000  # images of each kind in an FID / KID evaluation (the usual FID uses 50k)
MAX_WIDTH = 4096  # a converted checkpoint's nz, ngf, ndf
MAX_LABELS = 1024  # a converted StarGAN's c_dim
MAX_IMAGE_SIZE = 1024  # a converted model's image size
# the StyleGAN studio (facegan.studio)
MAX_PSI = 2.0  # |psi|, the truncation: 0 is the average face, 1 none, beyond 1 exaggerated
MAX_MIX_SIDE = 16  # row or column faces of one style-mixing grid
MAX_VARIATIONS = 64  # faces of one variations grid
MAX_VARIATION_STEPS = 32  # "+seed:index:step" parts of one face code (a walk of picked variations)
MAX_STEP = 2.0  # a variation's step, in units of one face's distance from the average
MAX_SIDE_BY_SIDE = 8  # faces walking side by side in one interpolation
MAX_ANIMATION_FRAMES = 600  # frames of one interpolation
MAX_ANIMATION_FACES = 1200  # faces drawn for one interpolation (frames x side by side)
MAX_EDIT_STRENGTH = 20.0  # |strength| of an edit along a SeFa direction (a unit vector in W)
MAX_STRIP_STEPS = 21  # faces of one edit strip, from -strength to +strength
MAX_PROJECT_STEPS = 1000  # optimisation steps of one projection of a picture into W (the paper: 1000)


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to a short prefix: messages (and logs) never repeat a megabyte back."""
    text = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


def whole(value: Any, name: str, lo: int, hi: int) -> int:
    """``value`` (an int, an integral float or a decimal string) as an int in [lo, hi], else InputError."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a whole number, got {quote(value)}")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            raise InputError(f"{name} must be a whole number between {lo} and {hi}, got {quote(value)}")
        try:
            value = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise InputError(f"{name} must be a whole number, got {quote(value)}") from None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise InputError(f"{name} must be a whole number, got {quote(value)}")
        value = int(value)
    if not isinstance(value, int):
        raise InputError(f"{name} must be a whole number, got {quote(value)}")
    if not lo <= value <= hi:
        raise InputError(f"{name} must be between {lo} and {hi}, got {quote(value)}")
    return value


def real(value: Any, name: str, lo: float, hi: float) -> float:
    """``value`` as a finite float in [lo, hi], else InputError (NaN and Inf are refused)."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{name} must be a number, got {quote(value)}")
    if isinstance(value, str) and len(value.strip()) > 40:
        raise InputError(f"{name} must be a number between {lo} and {hi}, got {quote(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a number, got {quote(value)}") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be a finite number, got {quote(value)}")
    if not lo <= number <= hi:
        raise InputError(f"{name} must be between {lo} and {hi}, got {quote(value)}")
    return number


def text(value: Any, name: str, max_chars: int) -> str:
    """A text field: None is empty; anything but a string, or longer than ``max_chars``, is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise InputError(f"{name} is {len(value):,} characters long: at most {max_chars:,}")
    if "\x00" in value:
        raise InputError(f"{name} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{name} is not valid text (a lone surrogate)") from None
    return value


def _depth(text: str) -> int:
    """The deepest nesting of [ and { outside JSON strings (a cheap scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def yes_no(value, name: str) -> bool:
    """A checkbox's value from an API caller: true or false (not "yes", 1.5 or a list)."""
    if isinstance(value, bool):
        return value
    raise InputError(f"{name} is true or false, not {quote(value)}")


class _RepeatedKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json's object hook: {"hair": "blue", "hair": "red"} is refused (json.loads keeps the last)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def json_object(value: Any, name: str, example: str = '{"ngf": 32}', max_chars: int = MAX_JSON_CHARS) -> dict:
    """A JSON object from a user (a model config, target labels): size and nesting bounded
    before parsing, so 100,000 nested brackets are a message, not a RecursionError."""
    if isinstance(value, dict):
        value = json.dumps(value)
    raw = text(value, name, max_chars).strip()
    if not raw:
        return {}
    if _depth(raw) > MAX_JSON_DEPTH:
        raise InputError(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep: give a flat JSON object "
                         f"such as {example}")
    try:
        parsed = json.loads(raw, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as e:
        raise InputError(f"{name} gives {quote(e.key)} twice: give each once, such as {example}") from None
    except (ValueError, RecursionError) as e:
        raise InputError(f"{name} is not JSON ({str(e)[:80]}): give an object such as {example}") from None
    if not isinstance(parsed, dict):
        raise InputError(f"{name} must be a JSON object such as {example}, not {type(parsed).__name__}")
    return parsed


DEVICES = "auto, cpu, cuda or cuda:N (the N-th GPU)"


def device(value, name: str = "device") -> str:
    """A device a run can ask for: auto, cpu, cuda, cuda:N."""
    text = str(value).strip().lower()
    if text in ("auto", "cpu", "cuda") or (text.startswith("cuda:") and text[5:].isdigit() and len(text) <= 9):
        return text
    raise InputError(f"{name} is {DEVICES}, not {quote(value)}")


PICTURE_FILES = (".png", ".jpg", ".jpeg", ".webp")  # what a picture --out may be written as
ANIMATION_FILES = (".gif", ".mp4")


def out_file(value, name: str, kinds: tuple[str, ...]) -> str:
    """A file to write: not empty, not a folder, named with one of ``kinds`` (so that the writer is
    known before any work; PIL's "unknown file extension" said neither)."""
    text = str(value).strip()
    example = f"face{kinds[0]}" if kinds == PICTURE_FILES else f"morph{kinds[0]}"
    if not text:
        raise InputError(f"{name} is empty: give a file name such as {example}")
    if Path(text).is_dir():
        raise InputError(f"{name} {quote(text)} is a folder: give a file name in it, such as {Path(text) / example}")
    if Path(text).suffix.lower() not in kinds:
        raise InputError(f"{name} {quote(text)}: written as {', '.join(kinds[:-1])} or {kinds[-1]} (e.g. {example})")
    return text


# -- argparse: the same checks as flag types -----------------------------------------


def as_flag(check, name: str, *args):
    """An argparse ``type=`` that applies ``check(value, name, *args)``: ``--count 0`` is one line,
    not a traceback."""

    def parse(value: str):
        try:
            return check(value, name, *args)
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = name  # argparse names the type in "invalid <name> value"
    return parse


def arg_whole(name: str, lo: int, hi: int):
    return as_flag(whole, name, lo, hi)


def arg_real(name: str, lo: float, hi: float):
    return as_flag(real, name, lo, hi)


def arg_device(name: str):
    return as_flag(device, name)


def arg_picture_file(name: str):
    return as_flag(out_file, name, PICTURE_FILES)


def arg_json(name: str, example: str = '{"ngf": 32}'):
    return as_flag(json_object, name, example)
