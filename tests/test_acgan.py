"""AC-GAN: class conditioning that works, both backbones and heads saved and resumed exactly,
classes read from the real data sets, and the Trainer's NaN guard."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_train import _assert_tree_equal

from facegan import hub, models
from facegan.checks import InputError
from facegan.labels import LabelError
from facegan.models import acgan
from facegan.train import TrainConfig, Trainer, TrainingDiverged, latest_checkpoint

TINY = {"nz": 8, "ngf": 8, "ndf": 8}
COLOURS = {"red": (220, 30, 30), "blue": (30, 40, 220)}


def tiny_train(**kw) -> TrainConfig:
    base = {"steps": 4, "batch_size": 4, "device": "cpu", "n_samples": 4, "log_every": 1, "sample_every": 0,
            "checkpoint_every": 0, "seed": 0}
    return TrainConfig(**{**base, **kw})


@pytest.fixture
def colour_folders(tmp_path):
    """A class-folder set ``train/red/*.png``, ``train/blue/*.png``: squares of the colour on grey noise."""
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        (tmp_path / "colours" / "train" / name).mkdir(parents=True)
        for i in range(12):
            arr = rng.integers(90, 140, (64, 64, 3))
            x, y, s = *rng.integers(0, 24, 2), rng.integers(28, 40)
            arr[y:y + s, x:x + s] = np.array(rgb) + rng.integers(-20, 20, (s, s, 3))
            Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(tmp_path / "colours" / "train" / name / f"{i}.png")
    return tmp_path / "colours"


def colour_config(folder, **kw) -> acgan.Config:
    given = {**TINY, **kw}
    return acgan.Config(**{**models.read_from_data("acgan", str(folder), given), **given})


def test_the_classes_come_from_the_folders(colour_folders):
    cfg = colour_config(colour_folders)
    assert cfg.group == "expression" and cfg.classes == ["blue", "red"]
    data = acgan.load_data(colour_folders, cfg)
    assert len(data) == 24 and data.labels.shape == (24, 2) and data.labels.sum(1).eq(1).all()


def test_the_class_conditioning_is_real(colour_folders, tmp_path):
    """A tiny model trained 100 steps (2 s) paints the asked-for colour: the mean red of its
    "red" faces is above that of its "blue" ones, and the other way round for blue."""
    cfg = colour_config(colour_folders, lr=1e-3)
    Trainer("acgan", str(colour_folders), tmp_path / "run", cfg, tiny_train(steps=100, batch_size=8, ema_decay=0.9)).run()
    model = hub.load_folder(latest_checkpoint(tmp_path / "run"))
    z = model.sample_latent(32, generator=torch.Generator().manual_seed(0))
    red, blue = model.generate(z, "red"), model.generate(z, "blue")
    assert red[:, 0].mean() > blue[:, 0].mean() + 0.1, (red.mean((0, 2, 3)), blue.mean((0, 2, 3)))
    assert blue[:, 2].mean() > red[:, 2].mean() + 0.1, (red.mean((0, 2, 3)), blue.mean((0, 2, 3)))
    assert model.classify(red).argmax(1).float().mean() > 0.5  # D reads them as "red" (index 1) too
    grid = Image.open(tmp_path / "run" / "samples" / "latest.png")  # a row per class
    assert grid.size[1] < grid.size[0] * 2


VARIANTS = [(b, h) for b in acgan.BACKBONES for h in acgan.HEADS]


@pytest.mark.parametrize(("backbone", "head"), VARIANTS)
def test_save_and_load_round_trip_is_exact(backbone, head, tmp_path):
    torch.manual_seed(0)
    model = acgan.Model(acgan.Config(**TINY, backbone=backbone, head=head, group="eyes")).eval()
    folder = hub.save_pretrained(model, tmp_path / "m")
    assert json.loads((folder / "config.json").read_text())["classes"] == list(acgan.ANIME_EYES)
    loaded = hub.load_folder(folder)
    assert loaded.config == model.config and models.technique_of(loaded) == "acgan"
    _assert_tree_equal(model.state_dict(), loaded.state_dict())
    z = model.sample_latent(3, generator=torch.Generator().manual_seed(1))
    a, b = model.generate(z, [0, 4, 9]), loaded.generate(z, [0, 4, 9])
    assert a.shape == (3, 3, 64, 64) and torch.equal(a, b) and a.abs().max() <= 1
    assert torch.equal(model.classify(a), loaded.classify(a)) and model.classify(a).shape == (3, 10)


@pytest.mark.parametrize(("backbone", "head"), [("dcgan", "ac"), ("resnet", "both")])
def test_resume_is_exact(colour_folders, tmp_path, backbone, head):
    """4 steps straight == 2 steps, checkpoint, a new Trainer(resume=True), 2 more: bit for bit."""
    cfg = colour_config(colour_folders, backbone=backbone, head=head)
    straight = Trainer("acgan", str(colour_folders), tmp_path / "a", cfg, tiny_train(steps=4))
    straight.run()
    Trainer("acgan", str(colour_folders), tmp_path / "b", cfg, tiny_train(steps=2)).run()
    torch.manual_seed(999)  # the checkpoint, not the process, must carry the RNG
    resumed = Trainer("acgan", None, tmp_path / "b", cfg=TrainConfig(steps=4), resume=True)
    assert resumed.step == 2 and resumed.model_config == cfg
    resumed.run()
    _assert_tree_equal(straight.model.state_dict(), resumed.model.state_dict(), "model")
    _assert_tree_equal(straight.ema.module.state_dict(), resumed.ema.module.state_dict(), "ema")
    _assert_tree_equal(straight.step_fn.state_dict(), resumed.step_fn.state_dict(), "optimisers")
    a = (tmp_path / "a" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    b = (tmp_path / "b" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    assert a == b


def test_absurd_learning_rate_is_caught(colour_folders, tmp_path):
    absurd = colour_config(colour_folders)
    absurd.lr = 1e30  # past Config's check (lr <= 1), set afterwards: this tests the NaN guard
    with pytest.raises(TrainingDiverged, match=r"NaN/inf .*Last good checkpoint: none"):
        Trainer("acgan", str(colour_folders), tmp_path / "run", absurd, tiny_train(steps=6)).run()
    assert latest_checkpoint(tmp_path / "run") is None


def test_the_preview_has_a_row_per_class_and_one_z_per_column():
    model = acgan.Model(acgan.Config(**TINY)).eval()
    inputs = model.preview_inputs(None, 64, torch.Generator().manual_seed(0))
    images, ncol = model.preview(inputs)
    assert ncol == 5 and images.shape == (12 * 5, 3, 64, 64)  # 12 hair colours x 64 // 12 latents
    grid = model.grid(inputs[0][:2], ["red", "blue"])
    assert grid.shape == (2, 2, 3, 64, 64)
    assert torch.equal(grid[0, 1], model.generate(inputs[0][1:2], "red")[0])
    many = acgan.Model(acgan.Config(**TINY, group="hair+eyes", classes=[f"c{i}" for i in range(119)]))
    _, y = many.preview_inputs(None, 64, torch.Generator().manual_seed(0))
    assert len(y) == acgan.PREVIEW_ROWS and y[0] == 0 and y[-1] == 118


def test_an_unknown_class_names_the_known_ones():
    model = acgan.Model(acgan.Config(**TINY))
    with pytest.raises(LabelError, match="'grey' is not one of the 12 hair values: aqua, black"):
        model.generate(model.sample_latent(1), "grey")
    with pytest.raises(LabelError, match="0..11"):
        model.generate(model.sample_latent(1), torch.tensor([12]))


@pytest.mark.parametrize(("bad", "field"), [({"backbone": "vgg"}, "backbone"), ({"head": "none"}, "head"),
                                            ({"top_k": -1}, "top_k"), ({"classes": "red"}, "classes"),
                                            ({"classes": ["red"]}, "classes"), ({"classes": ["a", "a"]}, "classes"),
                                            ({"group": "hair+eyes"}, "classes"),
                                            ({"top_k": 3, "classes": ["a", "b", "c", "d"]}, "classes")])
def test_bad_configs_are_refused_naming_the_field(bad, field):
    with pytest.raises(InputError, match=f"^model config: {field} must be "):
        acgan.Config(**bad)


def test_a_config_without_classes_knows_the_anime_sets():
    assert acgan.Config().classes == list(acgan.ANIME_HAIR) and acgan.Config(group="eyes").classes == list(acgan.ANIME_EYES)
    cfg = acgan.Config()
    assert acgan.Config(**dataclasses.asdict(cfg)) == cfg


def test_classes_from_the_real_anime_set(shared_data):
    anime = shared_data / "anime-faces-64"
    if not anime.is_dir():
        pytest.skip("anime-faces-64 not found")
    read = lambda **given: models.read_from_data("acgan", str(anime), given)
    assert read(group="hair")["classes"] == list(acgan.ANIME_HAIR)
    assert read()["group"] == "hair" and len(read()["classes"]) == 12
    assert read(group="eyes")["classes"] == list(acgan.ANIME_EYES)
    pairs = read(group="hair+eyes")["classes"]
    assert 100 < len(pairs) <= 120 and "blonde hair blue eyes" in pairs
    top = read(group="hair+eyes", top_k=10)["classes"]
    assert len(top) == 10 and set(top) <= set(pairs)
    assert len(read(group="hair", top_k=10)["classes"]) == 10
    assert models.read_from_data("acgan", str(anime), {"classes": ["a", "b"]}) == {}  # given: not read
    with pytest.raises(Exception, match="its class groups are hair, eyes, hair\\+eyes"):
        read(group="expression")
    cfg = acgan.Config(**TINY, **read(group="eyes", top_k=3), top_k=3)
    data = acgan.load_data(anime, cfg, limit=300)
    assert data.labels.shape[1] == 3 and 0 < len(data) < 300
    assert data.spec.datasets[0].groups[0].values == tuple(cfg.classes)


def test_classes_from_the_fer_folders(shared_data):
    fer = shared_data / "fer2013-48"
    if not fer.is_dir():
        pytest.skip("fer2013-48 not found")
    found = models.read_from_data("acgan", str(fer), {})
    assert found == {"group": "expression", "classes": ["angry", "disgust", "fear", "happy", "neutral", "sad",
                                                         "surprise"]}
    with pytest.raises(Exception, match="needs a tags.csv"):
        models.read_from_data("acgan", str(fer), {"group": "hair"})


def test_diffaugment_moves_cuts_and_passes_gradients(colour_folders, tmp_path):
    torch.manual_seed(0)
    x = torch.zeros(16, 3, 64, 64)
    x[:, :, 28:36, 28:36] = 1  # a white square in the middle of grey
    x.requires_grad_(True)
    y = acgan.diff_augment(x)
    assert y.shape == x.shape and not torch.equal(y, x)
    bright = (y.detach().mean(1) > y.detach().mean((1, 2, 3))[:, None, None] + 0.3).float()
    centres = (bright * torch.arange(64.0)[None, None, :]).sum((1, 2)) / bright.sum((1, 2)).clamp(min=1)
    assert centres.std() > 1  # the square moved by different amounts
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    cfg = colour_config(colour_folders, diffaugment=True, head="both")
    Trainer("acgan", str(colour_folders), tmp_path / "run", cfg, tiny_train(steps=2)).run()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["model_config"]["diffaugment"] is True


def test_cli_generate_a_row_per_class(tmp_path, capsys):
    """`facegan generate acgan --classes blue,red --count 3`: a row per class in that order, the
    same latent down each column; an unknown class is one line naming the known ones."""
    from PIL import Image

    from facegan import cli, latent
    from facegan.images import grid

    torch.manual_seed(0)
    model = acgan.Model(acgan.Config(**TINY, classes=["red", "green", "blue"])).eval()
    folder = hub.save_pretrained(model, tmp_path / "ckpt")
    out = tmp_path / "grid.png"
    assert cli.main(["generate", "acgan", "--checkpoint", str(folder), "--classes", "blue,red", "--count", "3",
                     "--seed", "5", "--out", str(out), "--print-codes"]) == 0
    codes = capsys.readouterr().out.split()[1:]
    assert len(codes) == 3
    z = torch.stack([latent.code_to_z(c, model.latent_dim, model.config.prior) for c in codes])
    want = grid(hub.load_folder(folder).grid(z, ["blue", "red"]).flatten(0, 1), 3)
    with Image.open(out) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), want)

    assert cli.main(["generate", "acgan", "--checkpoint", str(folder), "--classes", "purple", "--out",
                     str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "purple" in err[0] and "red, green, blue" in err[0]
    assert not (tmp_path / "x.png").exists()
    assert cli.main(["generate", "dcgan", "--classes", "red", "--out", str(tmp_path / "y.png")]) == 2
    assert "--classes is for a class-conditional model" in capsys.readouterr().err


def test_d_class_loss_on_real_faces_only_changes_d_step():
    """d_cls_fake=False leaves the fakes' class term out of D's loss: the same step from the same
    weights moves D differently (and G's class term stays)."""
    from facegan.models.acgan import TrainStep

    def one_step(flag: bool):
        torch.manual_seed(0)
        cfg = acgan.Config(**TINY, classes=["red", "blue"], d_cls_fake=flag)
        model = acgan.Model(cfg)
        step = TrainStep(model, cfg)
        real = torch.rand(4, 3, 64, 64) * 2 - 1
        y = torch.nn.functional.one_hot(torch.tensor([0, 1, 0, 1]), 2).float()
        torch.manual_seed(1)
        losses = step((real, y), lambda: torch.autocast("cpu", enabled=False))
        return model, losses

    paper, lp = one_step(True)
    real_only, lr = one_step(False)
    assert acgan.Config().d_cls_fake is True  # the paper's by default
    assert float(lp["loss_g_cls"]) > 0 and float(lr["loss_g_cls"]) > 0
    d_paper = torch.cat([p.flatten() for p in paper.discriminator.parameters()])
    d_real = torch.cat([p.flatten() for p in real_only.discriminator.parameters()])
    assert not torch.equal(d_paper, d_real)
