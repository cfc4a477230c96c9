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


@pytest.mark.parametrize("technique", ["dcgan", "acgan", "stylegan", "stargan", "ugatit"])
def test_every_technique_has_card_pictures_drawn_by_facegan_commands(technique, tmp_path):
    from facegan.cli import build_parser

    for name, argv in campaign.card_pictures.commands(technique, tmp_path):
        args = build_parser().parse_args(argv)  # a command the CLI takes as it is
        assert args.out == str(tmp_path / name) or argv[-1] == str(tmp_path / name)
