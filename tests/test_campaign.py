"""benchmarks/campaign.py, the end of a training session: which figures of the bundled model it reuses,
and what a replacement writes into the bundled folder (card rows, config summary, manifest)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch
from conftest import ROOT

from facegan import hub
from facegan.models import dcgan

sys.path.insert(0, str(ROOT / "benchmarks"))
import campaign  # noqa: E402

ROW = {"fid": 120.1, "kid": 0.125, "anime_fd": 28.03, "precision": 0.55, "recall": 0.48, "faces_found": 0.97,
       "n": 10000, "n_real": 10000, "psi": 1.0, "full_real": False}


def tiny_folder(path, seed: int):
    torch.manual_seed(seed)
    return hub.save_pretrained(dcgan.Model(dcgan.Config(ngf=8, ndf=8)).eval(), path)


def test_the_kept_figures_are_reused_only_for_the_same_protocol(tmp_path):
    folder = tiny_folder(tmp_path / "b", 0)
    config = hub.read_config(folder)
    config[hub.SUMMARY_KEY] = {"quality": ROW}
    (folder / hub.CONFIG_NAME).write_text(json.dumps(config))
    assert campaign.kept_row(folder, 10_000) == ROW
    assert campaign.kept_row(folder, 5_000) is None  # other real faces
    assert campaign.kept_row(folder, None) is None  # the whole real set: not what the row was measured against
    config[hub.SUMMARY_KEY] = {"quality": {**ROW, "n": 1000}}  # a quick check is never the protocol's row
    (folder / hub.CONFIG_NAME).write_text(json.dumps(config))
    assert campaign.kept_row(folder, 10_000) is None


def test_a_replacement_updates_the_card_the_summary_and_the_manifest(tmp_path, monkeypatch):
    """With the bundled DCGAN's own card: its images-seen, CPU-hours and 'this model' rows carry the new
    figures (the CPU-hours row keeps what it says of the number), a session row is appended, config.json's
    summary keeps the new row for the next session, and the manifest the new weights' sha256."""
    bundled = tiny_folder(tmp_path / "checkpoints" / "dcgan-anime-64", 0)
    shutil.copy(ROOT / "checkpoints" / "dcgan-anime-64" / hub.CARD_NAME, bundled / hub.CARD_NAME)
    candidate = tiny_folder(tmp_path / "run" / "candidate", 1)
    manifest = tmp_path / "checkpoints" / "manifest.json"
    manifest.write_text(json.dumps({"dcgan": {"sha256": "0" * 64, "bundled": "dcgan-anime-64"}}))
    monkeypatch.setattr(hub, "MANIFEST", manifest)
    new = {**ROW, "fid": 99.5, "anime_fd": 20.25, "recall": 0.51}
    campaign.replace(candidate, bundled, {"images_seen": 700_000, "cpu_hours": 4.567}, new, ROW, "session 2: test")

    card = (bundled / hub.CARD_NAME).read_text()
    assert "| images seen | **700,000** |" in card
    assert "| CPU-hours | 4.57 in all (session 1's" in card
    assert "| **this model** | 700,000 | **99.5** | 0.125 | **20.25** | 0.55 | 0.51 | 97% |" in card
    assert card.rstrip().endswith("| session 2: test | 700,000 | 4.57 | 120.1 -> **99.5** | 28.03 -> **20.25** "
                                  "| 0.55 / 0.51 | 97% |")
    summary = hub.read_config(bundled)[hub.SUMMARY_KEY]
    assert summary["quality"] == new and summary["images_seen"] == 700_000 and summary["cpu_hours"] == 4.57
    assert "psi" not in summary["figures"]  # DCGAN has no truncation
    assert json.loads(manifest.read_text())["dcgan"]["sha256"] == hub.sha256_of(candidate / hub.WEIGHTS_NAME)
    assert hub.sha256_of(bundled / hub.WEIGHTS_NAME) == hub.sha256_of(candidate / hub.WEIGHTS_NAME)


def test_a_ugatit_replacement_writes_its_test_set_figures(tmp_path, monkeypatch):
    """U-GAT-IT is judged on the test pictures (KID both ways and the anime-FD must all fall), and its
    replacement writes those figures into the bundled card's rows and config.json, like the faces' ones."""
    from facegan.models import ugatit

    old = {"kid_a2b": 33.03, "kid_b2a": 19.55, "anime_fd": 30.9, "layout_a2b": 0.659, "n": 100}
    new = {"kid_a2b": 28.5, "kid_b2a": 18.25, "anime_fd": 27.125, "layout_a2b": 0.671, "n": 100}
    judge = campaign.PROTOCOLS["ugatit"]
    assert judge.better(new, old) and not judge.better(old, new)
    assert not judge.better({**new, "kid_b2a": 19.6}, old)  # one direction worse: not bundled
    assert not judge.better({**new, "anime_fd": 31.0}, old)  # Inception KID alone is not enough

    folders = []
    for seed, where in ((0, tmp_path / "checkpoints" / "ugatit-selfie2anime-128"), (1, tmp_path / "run" / "candidate")):
        torch.manual_seed(seed)
        cfg = ugatit.Config(image_size=32, ch=2, n_res=1, discriminators=False)
        folders.append(hub.save_pretrained(ugatit.Model(cfg).eval(), where))
    bundled, candidate = folders
    shutil.copy(ROOT / "checkpoints" / "ugatit-selfie2anime-128" / hub.CARD_NAME, bundled / hub.CARD_NAME)
    manifest = tmp_path / "checkpoints" / "manifest.json"
    manifest.write_text(json.dumps({"ugatit": {"sha256": "0" * 64, "bundled": "ugatit-selfie2anime-128"}}))
    monkeypatch.setattr(hub, "MANIFEST", manifest)
    config = hub.read_config(bundled)
    config[hub.SUMMARY_KEY] = {"quality": old}
    (bundled / hub.CONFIG_NAME).write_text(json.dumps(config))
    assert campaign.kept_row(bundled, 10_000) == old
    campaign.replace(candidate, bundled, {"images_seen": 8_396, "cpu_hours": 4.004}, new, old, "session 2: test")

    card = (bundled / hub.CARD_NAME).read_text()
    assert "| images seen | **8,396** |" in card and "| CPU-hours | 4.00 in all (session 1's" in card
    assert "| **this model** | 8,396 | **28.50** | **18.25** | **27.12** | 0.671 |" in card
    assert card.rstrip().endswith("| session 2: test | 8,396 | 4.00 | 33.03 -> **28.50** | 19.55 -> **18.25** | "
                                  "30.90 -> **27.12** | 0.671 |")
    summary = hub.read_config(bundled)[hub.SUMMARY_KEY]
    assert summary["quality"] == new and "KID\u00d7100 28.5 selfie \u2192 anime, 18.2 anime" in summary["figures"]
    assert json.loads(manifest.read_text())["ugatit"]["sha256"] == hub.sha256_of(candidate / hub.WEIGHTS_NAME)


@pytest.mark.parametrize("technique", ["dcgan", "acgan", "stylegan", "stargan", "ugatit"])
def test_every_technique_has_card_pictures_drawn_by_facegan_commands(technique, tmp_path):
    from facegan.cli import build_parser

    for name, argv in campaign.card_pictures.commands(technique, tmp_path):
        args = build_parser().parse_args(argv)  # a command the CLI takes as it is
        assert args.out == str(tmp_path / name) or argv[-1] == str(tmp_path / name)
