"""The checks every technique's ``Config`` runs when it is built (``__post_init__``).

A model config comes from the CLI's ``--model`` JSON, the Training tab, a checkpoint's
config.json or Python code; checking it in the dataclass means all of them refuse a bad
value up front, in one line naming the field (``facegan.checks.InputError``), instead of
a training job that dies half a minute later.

``check_fields`` checks each field's type from its annotation (the modules use ``from
__future__ import annotations``, so the annotations are the strings 'int', 'float', ...)
and the bounds the Config gives it; rules that tie fields together (StarGAN's image size
and D's depth) stay in the Config, raised with ``refuse``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from facegan.checks import InputError, quote

MAX_WIDTH = 1024  # base channel widths (ngf, ndf, ch, g_conv_dim, d_conv_dim) and latent sizes
MAX_SIZE = 1024  # image sides
MAX_WEIGHT = 1e6  # loss weights and lambdas
LR = (0.0, 1.0, "(]")  # a learning rate: 0 < lr <= 1
BETA = (0.0, 1.0, "[)")  # an Adam beta: 0 <= beta < 1
WEIGHT = (0.0, MAX_WEIGHT)  # a loss weight: 0 (off) to 1e6
MAX_NAME = 40  # domain names and other short labels


def refuse(name: str, requirement: str, value: Any) -> InputError:
    """The one message shape: ``model config: <name> must be <requirement>, got <value>``."""
    return InputError(f"model config: {name} must be {requirement}, got {quote(value)}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _interval(lo: float, hi: float, ends: str) -> str:
    if ends == "(]":
        return f"greater than {_num(lo)} and at most {_num(hi)}"
    if ends == "[)":
        return f"at least {_num(lo)} and less than {_num(hi)}"
    return f"between {_num(lo)} and {_num(hi)}"


def _whole(name: str, value: Any, lo: int, hi: int) -> int:
    need = f"a whole number between {lo} and {hi}"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # 64.0 from JSON
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise refuse(name, need, value)
    if not lo <= value <= hi:
        raise refuse(name, need, value)
    return int(value)


def _real(name: str, value: Any, lo: float, hi: float, ends: str = "[]") -> float:
    need = f"a number {_interval(lo, hi, ends)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise refuse(name, need, value)
    try:
        number = float(value)
    except OverflowError:  # an int of 400 digits
        raise refuse(name, need, value) from None
    if not math.isfinite(number):
        raise refuse(name, f"a finite number {_interval(lo, hi, ends)}", value)
    above = lo < number if ends[0] == "(" else lo <= number
    below = number < hi if ends[1] == ")" else number <= hi
    if not (above and below):
        raise refuse(name, need, value)
    return number


def check_fields(cfg, ints: dict | None = None, floats: dict | None = None, choices: dict | None = None,
                 texts: dict | None = None) -> None:
    """Check (and normalise in place) every field of the dataclass ``cfg`` by its annotation.

    ``ints``: name -> (lo, hi), inclusive; an integral float (64.0) is stored as an int.
    ``floats``: name -> (lo, hi) or (lo, hi, ends), ends "[]" (default), "(]" or "[)"; ints are
    stored as floats, NaN and Inf refused. ``choices``: name -> allowed strings. ``texts``:
    name -> most characters of a non-empty string. bool fields must be bool. A field annotated
    otherwise (StarGAN's ``labels``) is the Config's own business. An int, float or str field
    without a rule is a programming error (TypeError): every field gets bounds. A field
    annotated ``int | None`` (or float / str) is checked as int: its None ("take it from the
    preset", StyleGAN's) is for the Config to fill before the check.
    """
    ints, floats, choices, texts = ints or {}, floats or {}, choices or {}, texts or {}
    for f in dataclasses.fields(cfg):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        kind = kind.removesuffix(" | None")
        name, value = f.name, getattr(cfg, f.name)
        if kind in ("int", "float", "str") and name not in {**ints, **floats, **choices, **texts}:
            raise TypeError(f"{type(cfg).__name__}.{name} has no rule in check_fields")
        if kind == "int":
            setattr(cfg, name, _whole(name, value, *ints[name]))
        elif kind == "float":
            setattr(cfg, name, _real(name, value, *floats[name]))
        elif kind == "bool":
            if not isinstance(value, bool):
                raise refuse(name, "true or false", value)
        elif kind == "str":
            if name in choices:
                if not isinstance(value, str) or value not in choices[name]:
                    raise refuse(name, f"one of {', '.join(choices[name])}", value)
            elif not isinstance(value, str) or not value.strip() or len(value) > texts[name]:
                raise refuse(name, f"a non-empty name of at most {texts[name]} characters", value)
