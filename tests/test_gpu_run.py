"""benchmarks/gpu_run.py (issue #13), the prepared GPU run: ``run --cpu --tiny`` end to end as CI runs it
(every technique timed beside its reference, trained, stopped at its cap or finished, exported), what
it leaves in $OUT (within the device tool's limits), ``install`` of what came back, and ``prepare``'s
data subset."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
from conftest import ROOT

from facegan import hub
from facegan.data import data_root

SCRIPT = ROOT / "benchmarks" / "gpu_run.py"
MiB = 2**20


def script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python benchmarks/gpu_run.py ARGS`` from the repository root."""
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): hub.sha256_of(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny run, as a user runs it: (the finished process, $OUT, results.json, checkpoints/ before, after)."""
    tmp = tmp_path_factory.mktemp("gpu-run")
    before = snapshot(ROOT / "checkpoints")
    env = {**os.environ, "OUT": str(tmp / "out"), "OMP_NUM_THREADS": "1"}
    r = script("run", "--cpu", "--tiny", "--work", tmp / "work", env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return r, tmp / "out", json.loads((tmp / "out" / "results.json").read_text()), before, snapshot(ROOT / "checkpoints")


def test_every_technique_is_timed_beside_its_reference_and_the_table_is_printed(tiny):
    r, _, results, _, _ = tiny
    assert results["errors"] == [], results["errors"]
    rows = {row["technique"]: row for row in results["speed"]}
    assert set(rows) == {"dcgan", "stargan", "ugatit", "stylegan", "acgan"}
    for t, row in rows.items():
        assert row["facegan"]["images_per_s"] > 0, t
        if t != "stylegan":  # held against StyleGAN2-ADA's published figure
            assert row["reference"]["images_per_s"] > 0, t
    table = r.stdout[r.stdout.index("## Speed, side by side"):]
    for t in rows:
        assert f"| {t} |" in table
    assert "| met? |" in table and "(tiny: not the target's setting)" in table
    assert set(results["bundled_rates"]) == {"stargan", "ugatit"}  # they size the runs whose lr decays


def test_every_bundled_model_is_trained_and_exported_as_it_was(tiny):
    _, _, results, _, _ = tiny
    manifest = hub.read_manifest()
    runs = {x["folder"]: x for x in results["training"]}
    assert set(runs) == {e["bundled"] for e in manifest.values()}
    for folder, x in runs.items():
        assert x["steps"] > 0 and x["checkpoint"] and "export" in x, folder
        assert x["bundled_images"] > x["images"], folder  # tiny: never "better" than the bundled one
    # no lr decay: until the cap, stopped by SIGTERM with a checkpoint; decaying: their planned steps
    assert {f for f, x in runs.items() if x["state"] == "stopped"} == {"stylegan-anime-64", "dcgan-anime-64",
                                                                      "acgan-hair-64"}
    assert all(x["steps"] == x["steps_planned"] for x in runs.values() if x["state"] == "finished")
    command = runs["ugatit-selfie2anime-128"]["command"]
    shipped = json.loads((ROOT / "checkpoints" / "ugatit-selfie2anime-128" / "config.json").read_text())
    assert shipped["discriminators"] is False and json.loads(command[command.index("--model") + 1])["discriminators"]
    assert runs["dcgan-anime-64"]["export"]["flags"] == ["--fp16"]
    assert runs["stargan-anime-64"]["export"]["flags"] == ["--int8"]


def test_out_holds_what_the_device_tool_returns_and_the_exports_load(tiny, tmp_path):
    _, out, results, _, _ = tiny
    files = [p for p in out.rglob("*") if not p.is_dir()]
    names = {p.name for p in files}
    assert len(files) <= 8 and {"results.json", "table.md", "log.txt", "runs.tar"} <= names
    for p in files:
        assert p.is_file() and p.stat().st_size <= 16 * MiB and re.fullmatch(r"[A-Za-z0-9._-]+", p.name)
        assert p.parent == out
    assert "## Training" in (out / "table.md").read_text()
    for tar in sorted(out.glob("checkpoints-*.tar")):
        with tarfile.open(tar) as t:
            t.extractall(tmp_path, filter="data")
    for x in results["training"]:
        folder = tmp_path / x["folder"]
        model = hub.load_folder(folder)
        assert hub.sha256_of(folder / hub.WEIGHTS_NAME) == x["export"]["sha256"]
        card = (folder / hub.CARD_NAME).read_text()
        assert card.startswith("---\nlibrary_name: facegan") and "## GPU run" in card
        if x["technique"] == "ugatit":
            assert not model.config.discriminators  # --generators-only, as the bundled one
    pictures = {"dcgan-anime-64": "samples.png", "acgan-hair-64": "classes.png", "stargan-anime-64": "examples.jpg",
                "stargan-anime-fer-64": "examples.jpg", "ugatit-selfie2anime-128": "examples.png",
                "stylegan-anime-64": "morph.gif"}
    for folder, picture in pictures.items():
        assert (tmp_path / folder / picture).is_file(), (folder, picture)
    assert (tmp_path / "stylegan-anime-64" / "directions.safetensors").is_file()
    with tarfile.open(out / "runs.tar") as t:
        assert "dcgan-anime-64/status.json" in t.getnames()


def test_the_tiny_run_leaves_checkpoints_alone(tiny):
    _, _, _, before, after = tiny
    assert before == after


def test_install_puts_what_came_back_into_checkpoints(tiny, tmp_path):
    _, out, results, _, _ = tiny
    copy = tmp_path / "checkpoints"
    shutil.copytree(ROOT / "checkpoints", copy)

    def install(*args: str) -> str:
        r = script("install", out, "--checkpoints", copy, *args)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    assert "keep the bundled one" in install()  # tiny runs saw fewer images than the bundled models
    assert snapshot(copy) == snapshot(ROOT / "checkpoints")
    install("--only", "dcgan-anime-64", "stylegan-anime-64")
    manifest = hub.read_manifest(copy / "manifest.json")
    runs = {x["folder"]: x for x in results["training"]}
    assert manifest["dcgan"]["sha256"] == runs["dcgan-anime-64"]["export"]["sha256"]
    assert manifest["stylegan"]["sha256"] == runs["stylegan-anime-64"]["export"]["sha256"]
    assert manifest["stargan"] == hub.read_manifest()["stargan"]
    assert not (copy / "dcgan-anime-64" / "training_state.pt").exists()
    assert hub.load_folder(copy / "stylegan-anime-64").config.image_size == 16


@pytest.mark.skipif(not (data_root() / "anime-faces-64" / "tags.csv").is_file(),
                    reason=f"prepare copies a subset of the real data sets: none at {data_root()}")
def test_prepare_copies_a_seeded_subset_in_the_data_sets_layout(tmp_path):
    dest = tmp_path / "gpu-data"
    r = script("prepare", "--dest", dest, "--anime", 20, "--selfie", 3, "--selfie-test", 1, "--fer-per-class", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "travels: tracked" in r.stdout and "carry: []" in r.stdout  # outside the repository: nothing to carry
    info = json.loads((dest / "manifest.json").read_text())
    assert info["counts"]["anime-faces-64"] == 20 == len(list((dest / "anime-faces-64" / "images").iterdir()))
    rows = (dest / "anime-faces-64" / "tags.csv").read_text().splitlines()
    assert len(rows) == 20 and all((dest / "anime-faces-64" / "images" / f"{row.split(',')[0]}.jpg").is_file()
                                   for row in rows)
    assert len(list((dest / "selfie2anime" / "128" / "trainB").iterdir())) == 3
    assert {d.name for d in (dest / "fer2013-48" / "train").iterdir()} == {
        "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("not ours")
    r = script("prepare", "--dest", tmp_path / "other", "--anime", 1)
    assert r.returncode != 0 and "holds other files" in r.stderr
