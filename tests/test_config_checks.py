"""Every technique's Config refuses a bad field when it is built, in one line naming the field."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facegan import hub, models
from facegan.checks import InputError
from facegan.models import dcgan

ROOT = Path(__file__).resolve().parent.parent
NAN, INF = math.nan, math.inf
TECHNIQUES = list(models.TECHNIQUES)

# The issue's values: each is tried on every technique that has the field.
ISSUE = [{"nz": -1}, {"image_size": 7}, {"lr": "fast"}, {"ngf": 0}, {"prior": "cauchy"}]

# (technique, the field the message must name, overrides)
BAD = [
    ("dcgan", "ndf", {"ndf": 0}),
    ("dcgan", "ngf", {"ngf": 1025}),
    ("dcgan", "nz", {"nz": "16"}),
    ("dcgan", "nz", {"nz": 16.5}),
    ("dcgan", "nz", {"nz": True}),
    ("dcgan", "lr", {"lr": NAN}),
    ("dcgan", "lr", {"lr": 0}),
    ("dcgan", "beta1", {"beta1": INF}),
    ("dcgan", "beta2", {"beta2": 1.0}),
    ("dcgan", "feature_matching", {"feature_matching": -1}),
    ("dcgan", "image_size", {"image_size": 128}),
    ("dcgan", "prior", {"prior": None}),
    ("ugatit", "ch", {"ch": 0}),
    ("ugatit", "ch", {"ch": "64"}),
    ("ugatit", "ch", {"ch": True}),
    ("ugatit", "n_res", {"n_res": -1}),
    ("ugatit", "lr", {"lr": "fast"}),
    ("ugatit", "lr", {"lr": NAN}),
    ("ugatit", "cam_weight", {"cam_weight": INF}),
    ("ugatit", "cycle_weight", {"cycle_weight": -1}),
    ("ugatit", "weight_decay", {"weight_decay": 1}),
    ("ugatit", "image_size", {"image_size": 130}),
    ("ugatit", "image_size", {"image_size": 64}),  # too small for the discriminators
    ("ugatit", "image_size", {"image_size": 28, "discriminators": False}),
    ("ugatit", "faces_a", {"faces_a": "cat"}),
    ("ugatit", "faces_b", {"faces_b": 1}),
    ("ugatit", "domain_a", {"domain_a": ""}),
    ("ugatit", "domain_b", {"domain_b": "x" * 41}),
    ("ugatit", "load_margin", {"load_margin": -1}),
    ("ugatit", "load_margin", {"load_margin": 129}),
    ("ugatit", "light", {"light": "yes"}),
    ("ugatit", "discriminators", {"discriminators": 1}),
    ("stargan", "g_conv_dim", {"g_conv_dim": 0}),
    ("stargan", "d_conv_dim", {"d_conv_dim": "wide"}),
    ("stargan", "g_repeat_num", {"g_repeat_num": True}),
    ("stargan", "d_repeat_num", {"d_repeat_num": 0}),
    ("stargan", "n_critic", {"n_critic": 0}),
    ("stargan", "g_lr", {"g_lr": NAN}),
    ("stargan", "d_lr", {"d_lr": "fast"}),
    ("stargan", "lambda_rec", {"lambda_rec": INF}),
    ("stargan", "lambda_gp", {"lambda_gp": -1}),
    ("stargan", "image_size", {"image_size": 40, "d_repeat_num": 4}),  # 40 / 16 is not whole
    ("stargan", "image_size", {"image_size": 66}),
    ("stargan", "decay", {"decay": "no"}),
]

GOOD = [
    ("dcgan", {"ngf": 8, "ndf": 8}),
    ("dcgan", {"nz": 100, "prior": "normal", "feature_matching": 0}),
    ("ugatit", {"ch": 4, "n_res": 1, "image_size": 96}),
    ("ugatit", {"image_size": 32, "discriminators": False, "light": False}),
    ("ugatit", {"domain_a": "photo", "domain_b": "sketch", "faces_b": "photo", "load_margin": 30}),
    ("stargan", {"image_size": 32, "g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1, "d_repeat_num": 4}),
    ("stargan", {"image_size": 128, "d_repeat_num": 6, "n_critic": 1, "lambda_cls": 0}),
]


def config(technique: str):
    return models.get(technique).Config


def numeric_fields(technique: str, kind: str) -> list[str]:
    return [f.name for f in dataclasses.fields(config(technique)) if f.type == kind]


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_every_default_config_is_valid(technique):
    cfg = config(technique)()
    assert cfg == config(technique)(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})
    models.get(technique).Model(cfg)  # and builds


@pytest.mark.parametrize(("technique", "bad"), [(t, bad) for t in TECHNIQUES for bad in ISSUE
                                                if next(iter(bad)) in {f.name for f in dataclasses.fields(config(t))}])
def test_the_issues_values_are_refused_naming_the_field(technique, bad):
    (name, _), = bad.items()
    with pytest.raises(InputError, match=f"^model config: {name} must be ") as e:
        config(technique)(**bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("technique", "name", "bad"), BAD, ids=[f"{t}-{n}-{b[n]!r}" for t, n, b in BAD])
def test_bad_values_are_refused_naming_the_field(technique, name, bad):
    with pytest.raises(InputError, match=f"^model config: {name} must be ") as e:
        config(technique)(**bad)
    assert isinstance(e.value, ValueError)  # hub.load_folder and the apps catch ValueError


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_every_number_field_refuses_nan_inf_text_and_bools(technique):
    Config = config(technique)
    for name in numeric_fields(technique, "float"):
        for bad in (NAN, INF, -INF, "0.1", None, True, 10**400):
            with pytest.raises(InputError, match=f"^model config: {name} must be "):
                Config(**{name: bad})
    for name in numeric_fields(technique, "int"):
        for bad in (True, False, "8", None, 8.5, NAN, INF, -1):
            with pytest.raises(InputError, match=f"^model config: {name} must be "):
                Config(**{name: bad})


@pytest.mark.parametrize(("technique", "good"), GOOD)
def test_valid_overrides_are_accepted(technique, good):
    cfg = config(technique)(**good)
    assert all(getattr(cfg, k) == v for k, v in good.items())


def test_json_numbers_are_normalised_to_the_field_types():
    cfg = dcgan.Config(ngf=32.0, lr=1, feature_matching=0)
    assert cfg.ngf == 32 and type(cfg.ngf) is int
    assert cfg.lr == 1.0 and type(cfg.lr) is float and type(cfg.feature_matching) is float


def test_long_values_are_cut_in_the_message():
    with pytest.raises(InputError) as e:
        dcgan.Config(prior="x" * 100_000)
    assert len(str(e.value)) < 200


def test_a_checkpoint_with_a_bad_config_is_a_checkpoint_error(tmp_path):
    folder = hub.save_pretrained(dcgan.Model(dcgan.Config(ngf=8, ndf=8)), tmp_path / "tiny")
    raw = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**raw, "lr": "fast"}))
    with pytest.raises(hub.CheckpointError, match="lr must be a number"):
        hub.load_folder(folder)


def test_the_cli_refuses_a_bad_model_config_at_once(face_folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "facegan", "train", "dcgan", "--data", str(face_folder),
                           "--out", str(out), "--steps", "1", "--model", '{"nz": -1}'],
                          check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facegan: error: ") and "nz" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
