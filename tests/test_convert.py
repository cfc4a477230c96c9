"""pytorch/examples dcgan/main.py checkpoints -> facegan: exact outputs, the CLI, clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from facegan import cli, hub, latent
from facegan.convert import pytorch_examples_dcgan as conv
from facegan.explorer import Explorer
from facegan.hub import CheckpointError
from facegan.images import save_grid

ROOT = Path(__file__).resolve().parent.parent
NZ, NGF, NDF, NC = 100, 8, 8, 3


# The reference networks, layer for layer as pytorch/examples dcgan/main.py builds them
# (there nz, ngf, ndf and nc are module globals; here they are arguments).
class Generator(nn.Module):
    def __init__(self, ngpu=1, nz=NZ, ngf=NGF, nc=NC):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
            # state size. (nc) x 64 x 64
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            return nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ngpu=1, ndf=NDF, nc=NC):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def randomise(net: nn.Module, seed: int) -> nn.Module:
    """Weights and BatchNorm statistics far from their defaults, so a wrong mapping shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0]
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 1.5 / fan_in ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.3 * torch.randn(n, generator=g))
                m.bias.copy_(0.3 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.5 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g) * 2)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    return net.eval()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(netG, netD, netG path, netD path): randomised reference nets saved as dcgan/main.py does."""
    folder = tmp_path_factory.mktemp("reference")
    netG, netD = randomise(Generator(), 1), randomise(Discriminator(), 2)
    g_path, d_path = folder / "netG_epoch_24.pth", folder / "netD_epoch_24.pth"
    torch.save(netG.state_dict(), g_path)
    torch.save(netD.state_dict(), d_path)
    return netG, netD, g_path, d_path


@pytest.fixture(scope="module")
def converted(reference):
    return conv.convert(reference[2], reference[3])


def test_generator_reproduces_the_reference(reference, converted):
    netG = reference[0]
    c = converted.config
    assert (c.nz, c.ngf, c.ndf, c.image_size, c.prior) == (NZ, NGF, NDF, 64, "normal")
    assert not converted.training
    z = torch.randn(6, NZ, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = netG(z.view(6, NZ, 1, 1))
    got = converted.generate(z)
    assert want.std() > 0.2  # a picture, not a constant (the test could fail)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    for name in conv.ZERO_BIASES:
        assert converted.state_dict()[name].eq(0).all()
    # the BN counters came along too
    assert converted.generator.net[1].num_batches_tracked == netG.main[1].num_batches_tracked


def test_score_is_the_reference_discriminator(reference, converted):
    netG, netD = reference[0], reference[1]
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        images = torch.cat([netG(torch.randn(4, NZ, 1, 1, generator=g)), torch.rand(4, 3, 64, 64, generator=g) * 2 - 1])
        want = netD(images)
    got = converted.score(images)
    assert got.shape == want.shape == (8,)
    assert want.std() > 0.01
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_without_netd_the_discriminator_is_fresh_and_says_so(reference):
    with pytest.warns(conv.UntrainedDiscriminatorWarning, match="mean nothing"):
        model = conv.convert(reference[2])
    assert model.config.ndf == NGF  # the reference's default ndf = ngf
    z = torch.randn(2, NZ, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(model.generate(z), reference[0](z.view(2, NZ, 1, 1)), rtol=0, atol=1e-6)
    with pytest.warns(conv.UntrainedDiscriminatorWarning):
        again = conv.convert(reference[2], ndf=4)
    assert again.config.ndf == 4
    assert "**none**" in conv.model_card(model, reference[2])


def facegan_cli(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "facegan", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_cli_convert_then_generate(reference, converted, tmp_path):
    netG, _, g_path, d_path = reference
    out = tmp_path / "converted"
    proc = facegan_cli("convert", "dcgan", "--from", "pytorch-examples", "--netg", g_path, "--netd", d_path,
                       "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout and proc.stderr == ""
    card = (out / hub.CARD_NAME).read_text()
    assert "pytorch/examples" in card and "netG_epoch_24.pth" in card and "netD_epoch_24.pth" in card
    config = hub.read_config(out)
    assert config["prior"] == "normal" and config["converted_from"]["netG_sha256"] == hub.sha256_of(g_path)

    loaded = hub.load_folder(out)
    for k, v in converted.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert loaded.config == converted.config

    png = tmp_path / "x.png"
    gen = facegan_cli("generate", "dcgan", "--checkpoint", out, "--seed", 0, "--count", 4, "--out", png,
                      "--print-codes")
    assert gen.returncode == 0, gen.stderr
    codes = gen.stdout.split()[1:]
    assert codes == latent.random_codes(4, NZ, 0) and all(len(c) == 2 * NZ for c in codes)
    # the grid is the reference netG's faces for the codes' N(0, 1) latents
    z = torch.stack([latent.code_to_z(c, NZ, "normal") for c in codes])
    with torch.no_grad():
        want = save_grid(netG(z.view(4, NZ, 1, 1)), tmp_path / "want.png")
    with Image.open(png) as a, Image.open(want) as b:
        assert a.size == b.size and a.tobytes() == b.tobytes()


def cli_error(capsys, *args) -> str:
    assert cli.main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facegan: error: "), err
    return err[0]


def test_a_pickled_module_is_refused(reference, tmp_path, capsys):
    whole = tmp_path / "netG_whole.pth"
    torch.save(reference[0], whole)  # the whole module: unpickling it would run code
    with pytest.raises(CheckpointError, match=r"pickles Python objects .*torch\.save\(net\.state_dict\(\)"):
        conv.convert(whole)
    line = cli_error(capsys, "convert", "dcgan", "--from", "pytorch-examples", "--netg", whole,
                     "--out", tmp_path / "out")
    assert "Generator" in line and "state_dict" in line
    assert not (tmp_path / "out").exists()


def _modified(state: dict, tmp_path: Path, name: str, drop=(), add=None) -> Path:
    state = {k: v for k, v in state.items() if not k.startswith(tuple(drop))}
    state.update(add or {})
    path = tmp_path / name
    torch.save(state, path)
    return path


def test_wrong_layer_counts_and_shapes_are_refused(reference, tmp_path):
    g_state, d_state = reference[0].state_dict(), reference[1].state_dict()
    short = _modified(g_state, tmp_path, "short.pth", drop=["main.12."])
    with pytest.raises(CheckpointError, match=r"4 conv layers, a 32x32 generator.*64x64"):
        conv.convert(short)
    # a 128-px variant: one more upsampling layer after main.12
    extra = {"main.13.weight": torch.ones(NC), "main.15.weight": torch.zeros(NC, NC, 4, 4)}
    big = _modified(g_state, tmp_path, "big.pth", add=extra)
    with pytest.raises(CheckpointError, match=r"6 conv layers, a 128x128 generator"):
        conv.convert(big)
    stray = _modified(g_state, tmp_path, "stray.pth", add={"main.1.extra": torch.zeros(3)})
    with pytest.raises(CheckpointError, match=r"tensors the pytorch/examples DCGAN does not: main\.1\.extra"):
        conv.convert(stray)
    no_bn = _modified(g_state, tmp_path, "no_bn.pth", drop=["main.4.running_var"])
    with pytest.raises(CheckpointError, match=r"lacks tensors .*main\.4\.running_var"):
        conv.convert(no_bn)
    d_short = _modified(d_state, tmp_path, "d_short.pth", drop=["main.11."])
    with pytest.raises(CheckpointError, match=r"netD .* 4 conv layers"):
        conv.convert(reference[2], d_short)
    # a netD of another width than asked for; a netG whose BN does not fit its convs
    with pytest.raises(CheckpointError, match=r"ndf=8, not the ndf=16"):
        conv.convert(reference[2], reference[3], ndf=16)
    bad_bn = _modified(g_state, tmp_path, "bad_bn.pth", add={"main.4.weight": torch.ones(5)})
    with pytest.raises(CheckpointError, match=r"main\.4\.weight \(5,\) \(expected \(32,\)\)"):
        conv.convert(bad_bn)


def test_other_image_sizes_channels_and_files_are_refused(tmp_path):
    grey = tmp_path / "grey.pth"
    torch.save(Generator(nc=1).state_dict(), grey)
    with pytest.raises(CheckpointError, match="1-channel images.*nc=3"):
        conv.convert(grey)
    state = Generator().state_dict()
    state["main.0.weight"] = torch.zeros(NZ, NGF * 8, 8, 8)  # 8x8 first maps: a 128-px generator
    wide = _modified(state, tmp_path, "wide.pth")
    with pytest.raises(CheckpointError, match="128x128 images; facegan's DCGAN is 64x64"):
        conv.convert(wide)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match="not a readable PyTorch state_dict"):
        conv.convert(junk)
    nested = tmp_path / "nested.pth"
    torch.save({"netG": Generator().state_dict(), "epoch": 3}, nested)
    with pytest.raises(CheckpointError, match="not a state_dict"):
        conv.convert(nested)
    with pytest.raises(CheckpointError, match="no such file"):
        conv.convert(tmp_path / "missing.pth")


def test_explorer_follows_the_normal_prior(converted):
    ex = Explorer(converted, dtype="float32")
    assert ex.prior == "normal"
    codes = latent.random_codes(3, NZ, seed=5)
    z = ex.z(codes)
    torch.testing.assert_close(z, torch.stack([latent.code_to_z(c, NZ, "normal") for c in codes]))
    assert [ex.code(v) for v in z] == codes
    # steering does not clamp to [-1, 1] under a normal prior: it moves towards the tail bytes
    moved = ex.steer(codes[:1], codes[1:2], codes[2:], strength=40.0)
    assert latent.code_to_z(moved[0], NZ, "normal").abs().max() > 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranked = ex.rank(codes)
    assert sorted(ranked.codes) == sorted(codes)
