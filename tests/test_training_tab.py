"""The Training tab's own logic: the loss table the plot draws, the line under the form, the phases
shown before step 0, and what a visitor reads when training is off."""

from __future__ import annotations

import json

import pytest
from apps import training
from facegan import data
from facegan.models import dcgan
from facegan.train import TrainConfig, Trainer, write_json


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEGAN_RUNS", str(tmp_path / "runs"))
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


def test_the_loss_table_is_numeric_from_the_first_update(runs):
    """An empty table (the job just started) and a log with a value as text still give numbers:
    object columns would make the plot's y axis categories."""
    run = runs / "r"
    run.mkdir()
    empty = training.loss_table(run)
    assert str(empty["step"].dtype) == "int64" and str(empty["value"].dtype) == "float64"
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss_d": 1.5, "loss_g": "0.25"}) + "\n"
                                       + json.dumps({"step": 2, "loss_d": "nan?", "loss_g": 0.5}) + "\n")
    table = training.loss_table(run)
    assert str(table["value"].dtype) == "float64" and str(table["step"].dtype) == "int64"
    assert sorted(zip(table["step"], table["loss"], table["value"])) == [
        (1, "loss_d", 1.5), (1, "loss_g", 0.25), (2, "loss_g", 0.5)]


def test_the_form_notice_says_what_start_will_do(runs):
    assert "new dcgan run in `runs/fresh`" in training.form_notice("dcgan", "fresh", False)
    assert "no run `runs/fresh` to resume" in training.form_notice("dcgan", "fresh", True)
    (runs / "old").mkdir()
    write_json(runs / "old" / "run.json", {"technique": "stylegan"})
    assert "already holds a run" in training.form_notice("dcgan", "old", False)
    assert "is a stylegan run, not dcgan" in training.form_notice("dcgan", "old", True)  # follows the technique
    assert "from step 0" in training.form_notice("stylegan", "old", True)
    (runs / "old" / "checkpoints" / "step-000200").mkdir(parents=True)
    (runs / "old" / "checkpoints" / "step-000200" / "training_state.pt").write_bytes(b"")
    assert "from its checkpoint `step-000200`" in training.form_notice("stylegan", "old", True)
    assert "letters, digits" in training.form_notice("dcgan", "../x", False)
    assert training.existing_runs() == ["old"]


def test_a_fresh_run_name_is_never_a_folder_that_exists(runs):
    """Within one second the clock gives the same name: a started job's folder is then skipped."""
    name = training.new_out("dcgan")
    assert name.startswith("dcgan-") and not (runs / name).exists()
    (runs / name).mkdir()
    again = training.new_out("dcgan")
    assert again != name and not (runs / again).exists()


def test_the_phases_before_step_zero_are_shown(face_folder, tmp_path):
    """A job's folder exists before it starts (the app makes it): each phase is written there."""
    out = tmp_path / "job"
    out.mkdir()
    seen = []
    original = Trainer.write_phase

    def spy(self, phase):  # records what status.json said at each phase
        original(self, phase)
        seen.append(json.loads((out / "status.json").read_text()))

    Trainer.write_phase = spy
    try:
        trainer = Trainer("dcgan", data.load_folder(face_folder, 64), out, dcgan.Config(ngf=8, ndf=8),
                          TrainConfig(steps=1, batch_size=4, device="cpu", n_samples=4, sample_every=0,
                                      checkpoint_every=0))
        trainer.run()
    finally:
        Trainer.write_phase = original
    assert [s["phase"].split(" (")[0] for s in seen] == ["reading the data set", "building the model", "the first step"]
    assert all(s["state"] == "starting" for s in seen)
    shown = training.describe({**seen[1], "run": "job"})
    assert shown.startswith("**starting** · building the model")
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert training.describe({"state": "starting"}).startswith("**starting** · starting Python")


def test_a_new_cli_run_writes_nothing_before_its_data_is_read(tmp_path):
    with pytest.raises(Exception):
        Trainer("dcgan", tmp_path / "no-such-folder", tmp_path / "out", dcgan.Config(ngf=8, ndf=8),
                TrainConfig(steps=1, batch_size=4, device="cpu"))
    assert not (tmp_path / "out").exists()


def test_training_off_says_what_to_do():
    assert "`python apps/main.py --training on`" in training.OFF_MESSAGE
    assert "machine you own" in training.OFF_MESSAGE
