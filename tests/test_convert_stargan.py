"""yunjey/stargan checkpoints -> facegan: exact outputs against the official networks, the CLI, clear refusals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from facegan import cli, hub
from facegan.convert import stargan as conv
from facegan.hub import CheckpointError
from facegan.labels import BINARY, CATEGORICAL

ROOT = Path(__file__).resolve().parent.parent
CONV, C_DIM, REPEAT, S, D_REPEAT = 8, 5, 6, 32, 4  # REPEAT: the official 6 residual blocks (main.9 .. main.14)
CELEBA = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"


# ----------------------------------------------------------------------------- the official networks
# The official model.py, layer for layer and with its attribute names (so the state_dict keys are the
# official ones), at any width.


class ResidualBlock(nn.Module):
    """Residual Block with instance normalization."""

    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim_in, dim_out, kernel_size=3, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(dim_out, affine=True, track_running_stats=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(dim_out, dim_out, kernel_size=3, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(dim_out, affine=True, track_running_stats=True))

    def forward(self, x):
        return x + self.main(x)


class Generator(nn.Module):
    """Generator network."""

    def __init__(self, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__()
        layers = []
        layers.append(nn.Conv2d(3 + c_dim, conv_dim, kernel_size=7, stride=1, padding=3, bias=False))
        layers.append(nn.InstanceNorm2d(conv_dim, affine=True, track_running_stats=True))
        layers.append(nn.ReLU(inplace=True))

        # Down-sampling layers.
        curr_dim = conv_dim
        for _ in range(2):
            layers.append(nn.Conv2d(curr_dim, curr_dim * 2, kernel_size=4, stride=2, padding=1, bias=False))
            layers.append(nn.InstanceNorm2d(curr_dim * 2, affine=True, track_running_stats=True))
            layers.append(nn.ReLU(inplace=True))
            curr_dim = curr_dim * 2

        # Bottleneck layers.
        for _ in range(repeat_num):
            layers.append(ResidualBlock(dim_in=curr_dim, dim_out=curr_dim))

        # Up-sampling layers.
        for _ in range(2):
            layers.append(nn.ConvTranspose2d(curr_dim, curr_dim // 2, kernel_size=4, stride=2, padding=1, bias=False))
            layers.append(nn.InstanceNorm2d(curr_dim // 2, affine=True, track_running_stats=True))
            layers.append(nn.ReLU(inplace=True))
            curr_dim = curr_dim // 2

        layers.append(nn.Conv2d(curr_dim, 3, kernel_size=7, stride=1, padding=3, bias=False))
        layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):
        # Replicate spatially and concatenate domain information.
        c = c.view(c.size(0), c.size(1), 1, 1)
        c = c.repeat(1, 1, x.size(2), x.size(3))
        x = torch.cat([x, c], dim=1)
        return self.main(x)


class Discriminator(nn.Module):
    """Discriminator network with PatchGAN."""

    def __init__(self, image_size=128, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__()
        layers = []
        layers.append(nn.Conv2d(3, conv_dim, kernel_size=4, stride=2, padding=1))
        layers.append(nn.LeakyReLU(0.01))

        curr_dim = conv_dim
        for _ in range(1, repeat_num):
            layers.append(nn.Conv2d(curr_dim, curr_dim * 2, kernel_size=4, stride=2, padding=1))
            layers.append(nn.LeakyReLU(0.01))
            curr_dim = curr_dim * 2

        kernel_size = int(image_size / np.power(2, repeat_num))
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(curr_dim, 1, kernel_size=3, stride=1, padding=1, bias=False)
        self.conv2 = nn.Conv2d(curr_dim, c_dim, kernel_size=kernel_size, bias=False)

    def forward(self, x):
        h = self.main(x)
        out_src = self.conv1(h)
        out_cls = self.conv2(h)
        return out_src, out_cls.view(out_cls.size(0), out_cls.size(1))


def randomised(net: nn.Module, seed: int) -> nn.Module:
    """Random weights everywhere, the norms' affine weights and running statistics included."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(int(torch.randint(1, 10_000, (), generator=g)))
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(("running_mean", "bias")) or t.dim() == 1:
                t.copy_(torch.randn(t.shape, generator=g) * 0.2 + (1.0 if name.endswith("weight") else 0.0))
            else:
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) / fan_in ** 0.5)
    return net


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """An official G and D with random weights, saved as solver.py saves them (<step>-G.ckpt, <step>-D.ckpt),
    and a G file of PyTorch < 0.4.1 (no num_batches_tracked)."""
    folder = tmp_path_factory.mktemp("official")
    G = randomised(Generator(CONV, C_DIM, REPEAT), 1)
    D = randomised(Discriminator(S, CONV, C_DIM, D_REPEAT), 2)
    torch.save(G.state_dict(), folder / "1000-G.ckpt")
    torch.save(D.state_dict(), folder / "1000-D.ckpt")
    old = {k: v for k, v in G.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(old, folder / "old-G.ckpt")
    return G, D, folder


def inputs(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, S, S, generator=g) * 2 - 1
    c = (torch.rand(n, C_DIM, generator=g) > 0.5).float()  # CelebA-style attribute vectors
    return x, c


def official_test_output(G: nn.Module, x, c) -> torch.Tensor:
    """What the official test script computes: G as built (train mode, never eval()), under no_grad."""
    import copy

    G = copy.deepcopy(G).train()  # train mode updates the copy's running statistics, as the official test does
    with torch.no_grad():
        return G(x, c)


# ----------------------------------------------------------------------------- exact conversion


def test_converted_g_and_d_give_the_official_outputs(official):
    G, D, folder = official
    model = conv.convert(folder / "1000-G.ckpt", C_DIM, folder / "1000-D.ckpt", labels=CELEBA.split(","))
    c = model.config
    assert (c.image_size, c.g_conv_dim, c.g_repeat_num, c.d_conv_dim, c.d_repeat_num) == (S, CONV, REPEAT, CONV,
                                                                                            D_REPEAT)
    (_, group, _), = c.labels.groups()
    assert group.kind == BINARY and group.values == tuple(CELEBA.split(",")) and c.labels.dim == C_DIM
    x, labels = inputs()
    torch.testing.assert_close(model.edit(x, labels), official_test_output(G, x, labels), rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        src, cls = model.discriminator(x)
        ref_src, ref_cls = D(x)
    torch.testing.assert_close(src, ref_src, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(cls, ref_cls, rtol=1e-4, atol=1e-5)
    # the running statistics came along (they are not used for edits, as in the official test)
    torch.testing.assert_close(model.generator.state_dict()["main.1.running_var"], G.state_dict()["main.1.running_var"])
    # each picture is edited by its own statistics: alone or in a batch, the same
    torch.testing.assert_close(model.edit(x[:1], labels[:1]), model.edit(x, labels)[:1], rtol=1e-4, atol=1e-5)


def test_a_file_without_num_batches_tracked_converts(official):
    G, _, folder = official
    with pytest.warns(conv.UntrainedDiscriminatorWarning, match="--d-ckpt"):
        model = conv.convert(folder / "old-G.ckpt", C_DIM, image_size=S)
    assert int(model.generator.state_dict()["main.1.num_batches_tracked"]) == 0
    assert model.config.d_repeat_num == D_REPEAT  # the official geometry: a 2x2 map
    (_, group, _), = model.config.labels.groups()
    assert group.values == tuple(f"attr{i}" for i in range(C_DIM))
    x, labels = inputs(2, seed=1)
    torch.testing.assert_close(model.edit(x, labels), official_test_output(G, x, labels), rtol=1e-4, atol=1e-5)
    assert conv.convert(folder / "old-G.ckpt", C_DIM).config.image_size == 128  # the official default, G-only


def test_categorical_labels_for_rafd():
    spec = conv.label_spec(3, ["happy", "sad", "angry"], categorical=True)
    (_, group, _), = spec.groups()
    assert group.kind == CATEGORICAL and group.name == "domain" and spec.dim == 3


# ----------------------------------------------------------------------------- the CLI


def facegan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "facegan", *args], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_cli_round_trip(official, tmp_path, capsys):
    G, _, folder = official
    out = tmp_path / "ckpt"
    assert cli.main(["convert", "stargan", str(folder / "1000-G.ckpt"), "--c-dim", str(C_DIM), "--out", str(out),
                     "--d-ckpt", str(folder / "1000-D.ckpt"), "--labels", CELEBA]) == 0
    printed = capsys.readouterr()
    assert str(out) in printed.out and "binary attributes: Black_Hair" in printed.out and "D converted" in printed.out
    assert "warning" not in printed.err
    config = json.loads((out / "config.json").read_text())
    assert config["technique"] == "stargan" and config["converted_from"]["source"] == "yunjey/stargan"
    assert config["converted_from"]["G_sha256"] == hub.sha256_of(folder / "1000-G.ckpt")
    assert "yunjey/stargan" in (out / "README.md").read_text()
    model = hub.load_folder(out)
    x, labels = inputs(2, seed=2)
    torch.testing.assert_close(model.edit(x, labels), official_test_output(G, x, labels), rtol=1e-4, atol=1e-5)

    # ... and the converted checkpoint edits a picture from the command line
    pic = tmp_path / "face.png"
    Image.fromarray(((x[0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()).save(pic)
    r = facegan("edit", "stargan", str(pic), "--checkpoint", str(out), "--set", "attributes=+Male,-Young",
                "--crop", "none", "--size", str(S), "--out", str(tmp_path / "edited.png"))
    assert r.returncode == 0, r.stderr
    assert "read as attributes:" in r.stderr
    seen = torch.from_numpy(np.asarray(Image.open(pic), np.float32)).permute(2, 0, 1)[None] / 127.5 - 1  # 8-bit input
    read = model.classify(seen)
    target = read.clone()
    target[0, 3], target[0, 4] = 1.0, 0.0  # Male on, Young off, the rest as D reads the picture
    want = official_test_output(G, seen, target)[0]
    with Image.open(tmp_path / "edited.png") as im:
        assert im.size == (S, S)
        got = torch.from_numpy(np.asarray(im.convert("RGB"), np.float32)).permute(2, 0, 1) / 127.5 - 1
    assert (got - want).abs().max() <= 1.01 / 127.5  # the official image, rounded to 8 bits


def test_cli_warns_without_d_and_writes_fp16(official, tmp_path):
    _, _, folder = official
    r = facegan("convert", "stargan", str(folder / "old-G.ckpt"), "--c-dim", str(C_DIM), "--image-size", "64",
                "--out", str(tmp_path / "g"), "--fp16")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("facegan: warning: no D checkpoint given") and len(r.stderr.splitlines()) == 1
    assert "stargan 64px" in r.stdout and "D untrained" in r.stdout and "fp16" in r.stdout
    assert hub.load_folder(tmp_path / "g").config.d_repeat_num == 5


# ----------------------------------------------------------------------------- refusals


@pytest.fixture(scope="module")
def bad_files(official, tmp_path_factory):
    G, _, folder = official
    bad = tmp_path_factory.mktemp("bad")
    torch.save(G, bad / "whole-G.ckpt")  # a pickled module
    torch.save(torch.zeros(3), bad / "tensor.ckpt")
    (bad / "text.ckpt").write_text("not a checkpoint")
    state = G.state_dict()
    torch.save({k: v for k, v in state.items() if k != "main.10.main.3.weight"}, bad / "missing-G.ckpt")
    torch.save({**state, "main.99.weight": torch.zeros(1)}, bad / "extra-G.ckpt")
    torch.save({**state, "main.21.weight": torch.zeros(3, CONV, 3, 3)}, bad / "shape-G.ckpt")
    torch.save({**state, "main.4.weight": torch.full_like(state["main.4.weight"], float("nan"))}, bad / "nan-G.ckpt")
    torch.save({"G": state}, bad / "nested-G.ckpt")
    torch.save(Discriminator(S, CONV, C_DIM + 1, D_REPEAT).state_dict(), bad / "other-D.ckpt")
    torch.save(Discriminator(2 * S, CONV, C_DIM, D_REPEAT).state_dict(), bad / "big-D.ckpt")
    return folder, bad


@pytest.mark.parametrize(("g", "args", "says"), [
    ("bad/whole-G.ckpt", [], r"pickles Python objects .*refuses to unpickle"),
    ("bad/tensor.ckpt", [], r"holds a Tensor, not a state_dict"),
    ("bad/text.ckpt", [], r"not a readable PyTorch checkpoint"),
    ("bad/no-such-G.ckpt", [], r"no such file"),
    ("bad/missing-G.ckpt", [], r"lacks tensors of the official StarGAN Generator .*main\.10\.main\.3\.weight"),
    ("bad/extra-G.ckpt", [], r"has tensors the official StarGAN Generator .* does not: main\.99\.weight"),
    ("bad/shape-G.ckpt", [], r"tensor shapes do not fit .*main\.21\.weight \(3, 8, 3, 3\) \(expected \(3, 8, 7, 7\)\)"),
    ("bad/nan-G.ckpt", [], r"NaN/inf values in main\.4\.weight"),
    ("bad/nested-G.ckpt", [], r"not a state_dict: entries that are not named tensors: 'G'"),
    ("ok", ["--c-dim", "7"], r"reads 8 channels, 3 \+ c_dim with c_dim = 5, not --c-dim 7"),
    ("ok", ["--labels", "a,b"], r"--labels names 2 labels \(a, b\), but c_dim is 5"),
    ("ok", ["--labels", "a,b,c,d,a"], r"names a value twice"),
    ("ok", ["--d-ckpt", "bad/other-D.ckpt"], r"conv2\.weight \(the classifier\) gives 6 logits, not --c-dim 5"),
    ("ok", ["--d-ckpt", "bad/big-D.ckpt", "--image-size", "32"], r"a D for 64x64 images .* not 32"),
    ("ok", ["--d-ckpt", "ok-D"], None),
])
def test_refusals_are_one_clear_line(bad_files, tmp_path, capsys, g, args, says):
    folder, bad = bad_files

    def path(p: str) -> str:
        return str(folder / "1000-G.ckpt") if p == "ok" else str(folder / "1000-D.ckpt") if p == "ok-D" \
            else str(bad / p.removeprefix("bad/"))

    args = [path(a) if a.startswith(("bad/", "ok")) else a for a in args]
    if "--c-dim" not in args:
        args += ["--c-dim", str(C_DIM)]
    code = cli.main(["convert", "stargan", path(g), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    if says is None:
        assert code == 0, err
        return
    assert code == 2 and err.startswith("facegan: error:") and len(err.strip().splitlines()) == 1, err
    assert re.search(says, err), err
    assert not (tmp_path / "out").exists()


def test_the_converter_raises_checkpoint_errors(bad_files):
    _, bad = bad_files
    with pytest.raises(CheckpointError, match="pickles Python objects"):
        conv.read_state_dict(bad / "whole-G.ckpt", "G")
