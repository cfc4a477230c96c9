"""A sixth technique without changing facegan: a package with one module (Config, G, D, Model,
TrainStep and its ``TECHNIQUE``) and an entry point. It trains from the CLI and as a Training-tab job,
exports, loads and draws as the built-in ones do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from conftest import ROOT
from PIL import Image

from facegan import hub, models, pipelines

TOY = textwrap.dedent('''
    """A toy GAN: linear G and D on 16 px pictures."""
    from dataclasses import dataclass

    import torch
    import torch.nn.functional as F
    from torch import nn

    from facegan.models import Technique


    @dataclass
    class Config:
        nz: int = 8
        image_size: int = 16
        lr: float = 1e-3
        prior: str = "normal"


    class Model(nn.Module):
        def __init__(self, cfg: Config):
            super().__init__()
            self.config, side = cfg, cfg.image_size
            self.generator = nn.Sequential(nn.Linear(cfg.nz, 3 * side * side), nn.Tanh(), nn.Unflatten(1, (3, side, side)))
            self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(3 * side * side, 1))

        @property
        def latent_dim(self) -> int:
            return self.config.nz

        def sample_latent(self, n, generator=None):
            return torch.randn(n, self.config.nz, generator=generator)

        def generate(self, z):
            return self.generator(z)

        def preview_inputs(self, data, n, generator):
            return self.sample_latent(n, generator)

        def preview(self, z):
            return self.generate(z), 4


    class TrainStep:
        def __init__(self, model: Model, cfg: Config):
            self.model = model
            self.opt_g = torch.optim.Adam(model.generator.parameters(), cfg.lr)
            self.opt_d = torch.optim.Adam(model.discriminator.parameters(), cfg.lr)

        def __call__(self, batch, autocast):
            real = batch[0]  # (images in [-1, 1], labels or None): what Technique.batches gives
            z = self.model.sample_latent(len(real)).to(real.device)
            fake = self.model.generate(z)
            d = self.model.discriminator
            loss_d = F.softplus(d(fake.detach())).mean() + F.softplus(-d(real)).mean()
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
            loss_g = F.softplus(-d(fake)).mean()
            self.opt_g.zero_grad()
            loss_g.backward()
            self.opt_g.step()
            return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

        def state_dict(self):
            return {"g": self.opt_g.state_dict(), "d": self.opt_d.state_dict()}

        def load_state_dict(self, state):
            self.opt_g.load_state_dict(state["g"])
            self.opt_d.load_state_dict(state["d"])


    TECHNIQUE = Technique("toy", Config, Model, TrainStep, default_data="toyfaces", batch_size=4)
''')


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy technique as an installed package would be: its module and an entry point on sys.path
    (and on PYTHONPATH, for the processes the CLI and the Training tab start); a data root with its
    data set."""
    site = tmp_path / "site"
    (site / "facegan_toy-0.1.dist-info").mkdir(parents=True)
    (site / "facegan_toy.py").write_text(TOY)
    (site / "facegan_toy-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: facegan-toy\nVersion: 0.1\n")
    (site / "facegan_toy-0.1.dist-info" / "entry_points.txt").write_text("[facegan.techniques]\ntoy = facegan_toy\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(ROOT)]))
    monkeypatch.setattr(models, "TECHNIQUES", dict(models.TECHNIQUES))  # restored after the test
    models.discover()
    faces = tmp_path / "data" / "toyfaces"
    faces.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(faces / f"{i}.png")
    monkeypatch.setenv("FACEGAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("FACEGAN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield faces
    sys.modules.pop("facegan_toy", None)


def facegan(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facegan", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_a_sixth_technique_is_one_module_and_an_entry_point(toy, tmp_path):
    assert "toy" in models.TECHNIQUES and models.spec("toy").batch_size == 4

    # the CLI trains it (its batch is the technique's), exports it and draws with it
    done = facegan("train", "toy", "--data", str(toy), "--out", str(tmp_path / "run"), "--steps", "2", "--quiet",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "batch 4" in done.stderr
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["technique"] == "toy" and run_json["train_config"]["batch_size"] == 4
    ckpt = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1]
    done = facegan("export", str(ckpt), "--out", str(tmp_path / "exported"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    model = hub.load_folder(tmp_path / "exported")
    assert models.technique_of(model) == "toy" and isinstance(model.discriminator, torch.nn.Module)  # D kept
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    assert model.generate(z).shape == (2, 3, 16, 16)
    pipe = pipelines.pipeline_for("toy").from_pretrained(tmp_path / "exported", dtype="float32")  # its pipeline
    code = pipe.random_codes(1, 0)[0]
    assert pipe.face(code).size == (16, 16) and len(code) == 2 * 8
    done = facegan("generate", "toy", "--checkpoint", str(tmp_path / "exported"), "--count", "4",
                   "--out", str(tmp_path / "faces.png"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "faces.png").size[0] > 16

    # the Training tab offers it, with its defaults, and runs it as a job that draws its sample grid
    from apps import training
    from facegan import jobs

    assert json.loads(training.default_model_config("toy")) == {"nz": 8, "image_size": 16, "lr": 0.001,
                                                                 "prior": "normal"}
    assert training.default_data("toy") == "toyfaces"
    name = training.start("toy", "toyfaces", 3, models.spec("toy").batch_size, "toy-job", False)
    folder = jobs.runs_dir() / name
    deadline = time.time() + 120
    while time.time() < deadline and (json.loads((folder / "status.json").read_text()).get("state")
                                      if (folder / "status.json").is_file() else None) not in ("finished", "failed"):
        time.sleep(0.5)
    status = json.loads((folder / "status.json").read_text())
    assert status["state"] == "finished", (folder / "train.log").read_text()
    assert status["step"] == 3 and (folder / "samples" / "latest.png").is_file()
    assert hub.load_folder(status["checkpoint"]).config.nz == 8
