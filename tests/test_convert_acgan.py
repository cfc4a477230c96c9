"""gitlimlab/ACGAN-PyTorch checkpoints -> facegan: exact outputs against its networks (32 and 128 px),
the CLI, clear refusals, and the "paper" backbone training in facegan's Trainer."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from facegan import cli, hub, images, latent, models
from facegan.convert import acgan as conv
from facegan.hub import CheckpointError
from facegan.models import acgan

K, NOISE = 10, 110  # gitlimlab's --num_classes and nz (fc1 reads the 110-vector)


# ----------------------------------------------------------------------------- gitlimlab's networks
# network.py, layer for layer and with its attribute names (so the state_dict keys are its own);
# forward() is its single-GPU branch. Its nn.Softmax() has no dim: on (N, K) that is dim 1.


class NetG(nn.Module):  # _netG: ImageNet, 128 px
    def __init__(self, nz=NOISE):
        super().__init__()
        self.nz = nz
        self.fc1 = nn.Linear(110, 768)
        self.tconv2 = nn.Sequential(nn.ConvTranspose2d(768, 384, 5, 2, 0, bias=False), nn.BatchNorm2d(384), nn.ReLU(True))
        self.tconv3 = nn.Sequential(nn.ConvTranspose2d(384, 256, 5, 2, 0, bias=False), nn.BatchNorm2d(256), nn.ReLU(True))
        self.tconv4 = nn.Sequential(nn.ConvTranspose2d(256, 192, 5, 2, 0, bias=False), nn.BatchNorm2d(192), nn.ReLU(True))
        self.tconv5 = nn.Sequential(nn.ConvTranspose2d(192, 64, 5, 2, 0, bias=False), nn.BatchNorm2d(64), nn.ReLU(True))
        self.tconv6 = nn.Sequential(nn.ConvTranspose2d(64, 3, 8, 2, 0, bias=False), nn.Tanh())

    def forward(self, input):
        input = input.view(-1, self.nz)
        fc1 = self.fc1(input).view(-1, 768, 1, 1)
        return self.tconv6(self.tconv5(self.tconv4(self.tconv3(self.tconv2(fc1)))))


class NetGCIFAR10(nn.Module):  # _netG_CIFAR10: 32 px
    def __init__(self, nz=NOISE):
        super().__init__()
        self.nz = nz
        self.fc1 = nn.Linear(110, 384)
        self.tconv2 = nn.Sequential(nn.ConvTranspose2d(384, 192, 4, 1, 0, bias=False), nn.BatchNorm2d(192), nn.ReLU(True))
        self.tconv3 = nn.Sequential(nn.ConvTranspose2d(192, 96, 4, 2, 1, bias=False), nn.BatchNorm2d(96), nn.ReLU(True))
        self.tconv4 = nn.Sequential(nn.ConvTranspose2d(96, 48, 4, 2, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(True))
        self.tconv5 = nn.Sequential(nn.ConvTranspose2d(48, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        input = input.view(-1, self.nz)
        fc1 = self.fc1(input).view(-1, 384, 1, 1)
        return self.tconv5(self.tconv4(self.tconv3(self.tconv2(fc1))))


def _block(cin, cout, stride, pad, bn=True):
    layers = [nn.Conv2d(cin, cout, 3, stride, pad, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True), nn.Dropout(0.5, inplace=False))


class NetD(nn.Module):  # _netD (pad 0, 13x13 map at 128 px) and _netD_CIFAR10 (pad 1, 4x4 at 32 px)
    def __init__(self, num_classes=K, cifar=False):
        super().__init__()
        p = 1 if cifar else 0  # the stride-1 convs' padding
        self.side = 4 if cifar else 13
        self.conv1 = _block(3, 16, 2, 1, bn=False)
        self.conv2 = _block(16, 32, 1, p)
        self.conv3 = _block(32, 64, 2, 1)
        self.conv4 = _block(64, 128, 1, p)
        self.conv5 = _block(128, 256, 2, 1)
        self.conv6 = _block(256, 512, 1, p)
        self.fc_dis = nn.Linear(self.side * self.side * 512, 1)
        self.fc_aux = nn.Linear(self.side * self.side * 512, num_classes)
        self.softmax = nn.Softmax(dim=1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, input):
        conv6 = self.conv6(self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(input))))))
        flat6 = conv6.view(-1, self.side * self.side * 512)
        classes = self.softmax(self.fc_aux(flat6))
        realfake = self.sigmoid(self.fc_dis(flat6)).view(-1, 1).squeeze(1)
        return realfake, classes


def randomised(net: nn.Module, seed: int) -> nn.Module:
    """Random weights everywhere, BN's affine weights and running statistics included; eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(int(torch.randint(1, 10_000, (), generator=g)))
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() == 1:
                t.copy_(torch.randn(t.shape, generator=g) * 0.2 + (1.0 if name.endswith(".1.weight") else 0.0))
            else:
                t.copy_(torch.randn(t.shape, generator=g) / t[0].numel() ** 0.5)
    return net.eval()


class Thing:
    """Not a tensor: a pickle holding one must be refused without building it."""

    built = False

    def __init__(self):
        self.payload = "anything"

    def __setstate__(self, state):  # what unpickling a Thing would call
        Thing.built = True
        self.__dict__.update(state)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """gitlimlab G and D at 32 and 128 px with random weights, saved as main.py saves them; a 32 px G in
    the pre-1.6 file format without num_batches_tracked (gitlimlab's PyTorch 0.2/0.3 era); bad files."""
    folder = tmp_path_factory.mktemp("gitlimlab")
    nets = {32: (randomised(NetGCIFAR10(), 1), randomised(NetD(cifar=True), 2)),
            128: (randomised(NetG(), 3), randomised(NetD(), 4))}
    for size, (G, D) in nets.items():
        torch.save(G.state_dict(), folder / f"netG{size}_epoch_9.pth")
        torch.save(D.state_dict(), folder / f"netD{size}_epoch_9.pth")
    G32 = nets[32][0]
    old = {k: v for k, v in G32.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(old, folder / "old-netG.pth", _use_new_zipfile_serialization=False)
    state = G32.state_dict()
    bad = {
        "other.pth": {"main.0.weight": torch.zeros(3, 3, 4, 4), "main.1.weight": torch.zeros(3)},
        "object.pth": {**state, "extra": Thing()},
        "missing.pth": {k: v for k, v in state.items() if k != "tconv3.1.running_var"},
        "extra.pth": {**state, "tconv9.0.weight": torch.zeros(1)},
        "shape.pth": {**state, "tconv3.0.weight": torch.zeros(192, 96, 3, 3)},
        "nan.pth": {**state, "tconv2.1.weight": torch.full((192,), float("nan"))},
        "wide.pth": {**state, "fc1.weight": torch.zeros(512, 110)},
        "D11.pth": NetD(11, cifar=True).state_dict(),
    }
    for name, obj in bad.items():
        torch.save(obj, folder / name)
    torch.save(G32, folder / "whole.pth")  # a pickled module
    return nets, folder


def noise_and_labels(n: int, seed: int = 0):
    """gitlimlab's main.py noise: N(0, 1) of (n, 110), the first K entries overwritten by the class one-hot."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, K, n)
    noise = rng.normal(0, 1, (n, NOISE))
    onehot = np.zeros((n, K))
    onehot[np.arange(n), label] = 1
    noise[np.arange(n), :K] = onehot
    return torch.from_numpy(noise).float(), torch.from_numpy(label)


def assert_same_as_gitlimlab(model, G, D, n=3, seed=0):
    noise, y = noise_and_labels(n, seed)
    with torch.no_grad():
        want = G(noise)
        got = model.generate(noise[:, K:], y)  # facegan's z: the free entries
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        realfake, classes = D(want)
        logit, cls = model.discriminator.eval()(want)
    torch.testing.assert_close(torch.sigmoid(logit), realfake, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.softmax(cls, 1), classes, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model.classify(want), cls)


# ----------------------------------------------------------------------------- exact conversion


@pytest.mark.parametrize("size", [32, 128])
def test_converted_g_and_d_give_gitlimlabs_outputs(files, size):
    nets, folder = files
    G, D = nets[size]
    model = conv.convert(folder / f"netG{size}_epoch_9.pth", folder / f"netD{size}_epoch_9.pth")
    c = model.config
    assert (c.backbone, c.image_size, c.nz, c.prior, c.head) == ("paper", size, NOISE - K, "normal", "ac")
    assert c.classes == (list(conv.CIFAR10) if size == 32 else [f"class{i}" for i in range(K)])
    assert not model.training and model.latent_dim == 100
    assert_same_as_gitlimlab(model, G, D)
    nbt = "generator.tconv2.1.num_batches_tracked"
    assert model.state_dict()[nbt] == G.state_dict()["tconv2.1.num_batches_tracked"]
    assert set(model.state_dict()) == {f"generator.{k}" for k in G.state_dict()} | {f"discriminator.{k}"
                                                                                    for k in D.state_dict()}


def test_an_old_file_without_num_batches_tracked_converts(files):
    nets, folder = files
    G = nets[32][0]
    with pytest.warns(conv.UntrainedDiscriminatorWarning, match="--netd"):
        model = conv.convert(folder / "old-netG.pth", classes=[f"c{i}" for i in range(K)])
    assert model.classes == [f"c{i}" for i in range(K)]
    assert int(model.state_dict()["generator.tconv2.1.num_batches_tracked"]) == 0
    noise, y = noise_and_labels(4, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(model.generate(noise[:, K:], y), G(noise), rtol=1e-4, atol=1e-5)


def test_the_number_of_classes_without_netd():
    assert conv.class_names(10, 32) == list(conv.CIFAR10)
    assert conv.class_names(10, 128) == [f"class{i}" for i in range(10)]
    assert conv.class_names(3, 32, [" a", "b ", "c"]) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="names 2 classes .* but the model has 3"):
        conv.class_names(3, 32, ["a", "b"])


def test_the_converted_model_trains_on(files):
    """facegan's TrainStep takes the paper backbone as it is (a fine-tuning step moves G and D, losses finite)."""
    _, folder = files
    model = conv.convert(folder / "netG32_epoch_9.pth", folder / "netD32_epoch_9.pth").train()
    step = acgan.TrainStep(model, model.config)
    before = model.generator.tconv2[0].weight.detach().clone()
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    torch.manual_seed(0)
    losses = step((real, nn.functional.one_hot(torch.tensor([0, 3, 5, 9]), K).float()),
                  lambda: torch.autocast("cpu", enabled=False))
    assert all(torch.isfinite(v) for v in losses.values()), losses
    assert not torch.equal(before, model.generator.tconv2[0].weight)


@pytest.fixture
def class_folders(tmp_path):
    rng = np.random.default_rng(0)
    for name, rgb in {"red": (220, 30, 30), "blue": (30, 40, 220)}.items():
        (tmp_path / "set" / "train" / name).mkdir(parents=True)
        for i in range(6):
            arr = rng.integers(90, 140, (32, 32, 3))
            arr[8:24, 8:24] = rgb
            Image.fromarray(arr.astype(np.uint8)).save(tmp_path / "set" / "train" / name / f"{i}.png")
    return tmp_path / "set"


def test_the_trainer_trains_the_paper_backbone(class_folders, tmp_path):
    from facegan.train import TrainConfig, Trainer, latest_checkpoint

    given = {"backbone": "paper", "image_size": 32, "nz": 20, "prior": "normal"}
    cfg = acgan.Config(**{**models.read_from_data("acgan", str(class_folders), given), **given})
    train = TrainConfig(steps=2, batch_size=4, device="cpu", n_samples=4, log_every=1, sample_every=0,
                        checkpoint_every=0, seed=0)
    Trainer("acgan", str(class_folders), tmp_path / "run", cfg, train).run()
    model = hub.load_folder(latest_checkpoint(tmp_path / "run"))
    assert model.config.backbone == "paper" and model.generate(model.sample_latent(2), "red").shape == (2, 3, 32, 32)


@pytest.mark.parametrize(("given", "says"), [
    ({"image_size": 64}, r"image_size must be 32 or 128 for the paper backbone"),
    ({"image_size": 128, "head": "projection"}, r"head must be \"ac\" for the paper backbone"),
])
def test_the_paper_backbone_takes_its_sizes_and_head_only(given, says):
    from facegan.checks import InputError

    with pytest.raises(InputError, match=says):
        acgan.Config(backbone="paper", **given)
    with pytest.raises(InputError, match="image_size must be 64"):
        acgan.Config(image_size=32)  # the other backbones stay 64 px


# ----------------------------------------------------------------------------- the CLI


def test_cli_round_trip(files, tmp_path, capsys):
    nets, folder = files
    G, D = nets[32]
    g, d, out = folder / "netG32_epoch_9.pth", folder / "netD32_epoch_9.pth", tmp_path / "ckpt"
    assert cli.main(["convert", "acgan", str(g), "--netd", str(d), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert str(out) in printed.out and "paper backbone 32px, nz=100, prior normal" in printed.out
    assert "10 classes: airplane, automobile" in printed.out and "D converted" in printed.out
    assert "warning" not in printed.err
    config = json.loads((out / "config.json").read_text())
    assert config["technique"] == "acgan" and config["backbone"] == "paper"
    assert config["converted_from"]["source"] == conv.SOURCE
    assert config["converted_from"]["netG_sha256"] == hub.sha256_of(g)
    assert config["converted_from"]["netD_sha256"] == hub.sha256_of(d)
    assert conv.SOURCE in (out / "README.md").read_text()
    model = hub.load_folder(out)
    assert models.technique_of(model) == "acgan"
    assert_same_as_gitlimlab(model, G, D, n=2, seed=2)

    # ... and the converted checkpoint draws a class grid from the command line
    grid = tmp_path / "grid.png"
    assert cli.main(["generate", "acgan", "--checkpoint", str(out), "--classes", "cat,ship", "--count", "2",
                     "--seed", "1", "--out", str(grid), "--print-codes"]) == 0
    codes = capsys.readouterr().out.split()[1:]
    assert len(codes) == 2 and len(codes[0]) == 200  # 2 * nz hex digits
    z = torch.stack([latent.code_to_z(c, 100, "normal") for c in codes])
    noise = torch.cat([nn.functional.one_hot(torch.tensor([3, 3, 8, 8]), K).float(), z.repeat(2, 1)], 1)
    with torch.no_grad():
        want = G(noise)
    torch.testing.assert_close(model.grid(z, ["cat", "ship"]).flatten(0, 1), want, rtol=1e-4, atol=1e-5)
    with Image.open(grid) as im:  # gitlimlab's images, a row per class, rounded to 8 bits
        assert np.abs(np.asarray(im.convert("RGB"), np.int16) - images.grid(want, 2).astype(np.int16)).max() <= 1


def test_cli_without_netd_warns_and_writes_fp16(files, tmp_path, capsys):
    nets, folder = files
    out = tmp_path / "g"
    assert cli.main(["convert", "acgan", str(folder / "netG128_epoch_9.pth"), "--out", str(out),
                     "--classes", ",".join(f"n{i}" for i in range(K)), "--fp16"]) == 0
    printed = capsys.readouterr()
    assert printed.err.startswith("facegan: warning: no netD given") and len(printed.err.splitlines()) == 1
    assert "128px" in printed.out and "D untrained" in printed.out and "fp16" in printed.out
    model = hub.load_folder(out)
    assert model.classes == [f"n{i}" for i in range(K)] and model.config.nz == 100
    noise, y = noise_and_labels(2, seed=3)
    with torch.no_grad():  # float16 weights: close, not exact
        torch.testing.assert_close(model.generate(noise[:, K:], y), nets[128][0](noise), rtol=0, atol=2e-2)


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("g", "args", "says"), [
    ("other.pth", [], (r"netG .* lacks fc1\.weight: not a gitlimlab/ACGAN-PyTorch netG state_dict \(its keys are "
                       r"main\.0\.weight, main\.1\.weight\)")),
    ("netD32_epoch_9.pth", [], r"lacks fc1\.weight: .*a netD \(conv1, fc_dis, fc_aux\): pass it with --netd"),
    ("ok", ["--netd", "ok"], r"netD .* lacks fc_aux\.weight: .*a netG \(fc1, tconv2, \.\.\.\): pass it as NETG"),
    ("object.pth", [], r"pickles Python objects \(.*Thing\), not just tensors"),
    ("whole.pth", [], r"pickles Python objects .*refuses to unpickle"),
    ("no-such.pth", [], r"no such file"),
    ("missing.pth", [], r"lacks tensors of gitlimlab/ACGAN-PyTorch's _netG_CIFAR10 .*tconv3\.1\.running_var"),
    ("extra.pth", [], r"has tensors gitlimlab/ACGAN-PyTorch's _netG_CIFAR10 .* does not: tconv9\.0\.weight"),
    ("shape.pth", [], r"tensor shapes do not fit .*tconv3\.0\.weight \(192, 96, 3, 3\) \(expected \(192, 96, 4, 4\)\)"),
    ("nan.pth", [], r"NaN/inf values in tconv2\.1\.weight"),
    ("wide.pth", [], r"fc1 makes 512 features; .*768 \(128 px\) and _netG_CIFAR10 384 \(32 px\)"),
    ("ok", ["--netd", "netD128_epoch_9.pth"], r"is a _netD for 128 px images, but netG .* _netG_CIFAR10 for 32 px"),
    ("ok", ["--netd", "D11.pth", "--num-classes", "10"], r"fc_aux gives 11 class scores, not the 10 classes asked"),
    ("ok", ["--netd", "ok-D", "--classes", "a,b"], r"fc_aux gives 10 class scores, not the 2 classes asked for"),
    ("ok", ["--classes", "a,b,c", "--num-classes", "4"], r"--classes names 3 classes, --num-classes says 4"),
    ("ok", ["--classes", "a,b,c,d,e,f,g,h,i,a"], r"classes must be different names"),
    ("ok", ["--netd", "ok-D"], None),
])
def test_refusals_are_one_clear_line(files, tmp_path, capsys, g, args, says):
    _, folder = files

    def path(p: str) -> str:
        return str(folder / {"ok": "netG32_epoch_9.pth", "ok-D": "netD32_epoch_9.pth"}.get(p, p))

    args = [path(a) if i and args[i - 1] == "--netd" else a for i, a in enumerate(args)]
    code = cli.main(["convert", "acgan", path(g), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    if says is None:
        assert code == 0, err
        return
    assert code == 2 and err.startswith("facegan: error:") and len(err.strip().splitlines()) == 1, err
    assert re.search(says, err), err
    assert not (tmp_path / "out").exists()


def test_the_converter_raises_checkpoint_errors(files):
    _, folder = files
    with pytest.raises(CheckpointError, match="lacks fc1.weight"):
        conv.convert(folder / "other.pth")
    with pytest.raises(CheckpointError, match=r"pickles Python objects"):
        conv.read_state_dict(folder / "object.pth", "netG")
    assert not Thing.built  # refused before anything of it was made
    with pytest.raises(CheckpointError, match="no such file"):
        conv.convert(folder / "netG32_epoch_9.pth", folder / "no-such-netD.pth")
