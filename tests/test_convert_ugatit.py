"""znxlwm/UGATIT-pytorch checkpoints -> facegan: exact outputs (light and full), the CLI, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from torch import nn

from facegan import cli, hub
from facegan.convert import ugatit as conv
from facegan.hub import CheckpointError

CH, N_RES, S = 4, 2, 96  # S: the smallest image the 7-layer global D takes
F = nn.functional


# ----------------------------------------------------------------------------- the official networks
# The official networks.py, layer for layer and with its attribute names (so the state_dict keys
# are the official ones), written out here at any width. Its arithmetic is kept as it is: the CAM
# weights are list(fc.parameters())[0] (weight_orig under spectral norm), variances are torch.var's
# unbiased ones over H, W (IN) and C, H, W (LN), rho / gamma / beta are expanded to the batch.


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, ngf=64, n_blocks=6, img_size=256, light=False):
        assert n_blocks >= 0
        super().__init__()
        self.input_nc, self.output_nc, self.ngf = input_nc, output_nc, ngf
        self.n_blocks, self.img_size, self.light = n_blocks, img_size, light

        DownBlock = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, stride=1, padding=0, bias=False),
                     nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):  # down-sampling
            mult = 2 ** i
            DownBlock += [nn.ReflectionPad2d(1),
                          nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=0, bias=False),
                          nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
        mult = 2 ** n_downsampling
        DownBlock += [ResnetBlock(ngf * mult, use_bias=False) for _ in range(n_blocks)]  # bottleneck

        # class activation map
        self.gap_fc = nn.Linear(ngf * mult, 1, bias=False)
        self.gmp_fc = nn.Linear(ngf * mult, 1, bias=False)
        self.conv1x1 = nn.Conv2d(ngf * mult * 2, ngf * mult, kernel_size=1, stride=1, bias=True)
        self.relu = nn.ReLU(True)

        # gamma, beta MLP: on the pooled features (light) or the whole map (full)
        fc_in = ngf * mult if light else img_size // mult * img_size // mult * ngf * mult
        FC = [nn.Linear(fc_in, ngf * mult, bias=False), nn.ReLU(True),
              nn.Linear(ngf * mult, ngf * mult, bias=False), nn.ReLU(True)]
        self.gamma = nn.Linear(ngf * mult, ngf * mult, bias=False)
        self.beta = nn.Linear(ngf * mult, ngf * mult, bias=False)

        for i in range(n_blocks):  # up-sampling bottleneck
            setattr(self, "UpBlock1_" + str(i + 1), ResnetAdaILNBlock(ngf * mult, use_bias=False))

        UpBlock2 = []
        for i in range(n_downsampling):  # up-sampling
            mult = 2 ** (n_downsampling - i)
            UpBlock2 += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                         nn.Conv2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=1, padding=0, bias=False),
                         ILN(int(ngf * mult / 2)), nn.ReLU(True)]
        UpBlock2 += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, stride=1, padding=0, bias=False),
                     nn.Tanh()]

        self.DownBlock = nn.Sequential(*DownBlock)
        self.FC = nn.Sequential(*FC)
        self.UpBlock2 = nn.Sequential(*UpBlock2)

    def forward(self, input):
        x = self.DownBlock(input)

        gap = F.adaptive_avg_pool2d(x, 1)
        gap_logit = self.gap_fc(gap.view(x.shape[0], -1))
        gap_weight = list(self.gap_fc.parameters())[0]  # noqa: RUF015 (the official arithmetic)
        gap = x * gap_weight.unsqueeze(2).unsqueeze(3)

        gmp = F.adaptive_max_pool2d(x, 1)
        gmp_logit = self.gmp_fc(gmp.view(x.shape[0], -1))
        gmp_weight = list(self.gmp_fc.parameters())[0]  # noqa: RUF015
        gmp = x * gmp_weight.unsqueeze(2).unsqueeze(3)

        cam_logit = torch.cat([gap_logit, gmp_logit], 1)
        x = self.relu(self.conv1x1(torch.cat([gap, gmp], 1)))
        heatmap = torch.sum(x, dim=1, keepdim=True)

        if self.light:
            x_ = F.adaptive_avg_pool2d(x, 1)
            x_ = self.FC(x_.view(x_.shape[0], -1))
        else:
            x_ = self.FC(x.view(x.shape[0], -1))
        gamma, beta = self.gamma(x_), self.beta(x_)

        for i in range(self.n_blocks):
            x = getattr(self, "UpBlock1_" + str(i + 1))(x, gamma, beta)
        return self.UpBlock2(x), cam_logit, heatmap


class ResnetBlock(nn.Module):
    def __init__(self, dim, use_bias):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=use_bias),
            nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=use_bias),
            nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetAdaILNBlock(nn.Module):
    def __init__(self, dim, use_bias):
        super().__init__()
        self.pad1 = nn.ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=use_bias)
        self.norm1 = adaILN(dim)
        self.relu1 = nn.ReLU(True)
        self.pad2 = nn.ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=use_bias)
        self.norm2 = adaILN(dim)

    def forward(self, x, gamma, beta):
        out = self.relu1(self.norm1(self.conv1(self.pad1(x)), gamma, beta))
        out = self.norm2(self.conv2(self.pad2(out)), gamma, beta)
        return out + x


def _layer_instance_norm(input, rho, eps):
    """rho * IN + (1 - rho) * LN with torch.var's unbiased variances, as adaILN and ILN compute it."""
    in_mean, in_var = torch.mean(input, dim=[2, 3], keepdim=True), torch.var(input, dim=[2, 3], keepdim=True)
    out_in = (input - in_mean) / torch.sqrt(in_var + eps)
    ln_mean, ln_var = torch.mean(input, dim=[1, 2, 3], keepdim=True), torch.var(input, dim=[1, 2, 3], keepdim=True)
    out_ln = (input - ln_mean) / torch.sqrt(ln_var + eps)
    n = input.shape[0]
    return rho.expand(n, -1, -1, -1) * out_in + (1 - rho.expand(n, -1, -1, -1)) * out_ln


class adaILN(nn.Module):  # the official name
    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.Tensor(1, num_features, 1, 1))
        self.rho.data.fill_(0.9)

    def forward(self, input, gamma, beta):
        out = _layer_instance_norm(input, self.rho, self.eps)
        return out * gamma.unsqueeze(2).unsqueeze(3) + beta.unsqueeze(2).unsqueeze(3)


class ILN(nn.Module):
    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.Tensor(1, num_features, 1, 1))
        self.gamma = nn.Parameter(torch.Tensor(1, num_features, 1, 1))
        self.beta = nn.Parameter(torch.Tensor(1, num_features, 1, 1))
        self.rho.data.fill_(0.0)
        self.gamma.data.fill_(1.0)
        self.beta.data.fill_(0.0)

    def forward(self, input):
        out = _layer_instance_norm(input, self.rho, self.eps)
        n = input.shape[0]
        return out * self.gamma.expand(n, -1, -1, -1) + self.beta.expand(n, -1, -1, -1)


class Discriminator(nn.Module):
    def __init__(self, input_nc=3, ndf=64, n_layers=5):
        super().__init__()
        sn = nn.utils.spectral_norm
        model = [nn.ReflectionPad2d(1), sn(nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=0, bias=True)),
                 nn.LeakyReLU(0.2, True)]
        for i in range(1, n_layers - 2):
            mult = 2 ** (i - 1)
            model += [nn.ReflectionPad2d(1),
                      sn(nn.Conv2d(ndf * mult, ndf * mult * 2, kernel_size=4, stride=2, padding=0, bias=True)),
                      nn.LeakyReLU(0.2, True)]
        mult = 2 ** (n_layers - 2 - 1)
        model += [nn.ReflectionPad2d(1),
                  sn(nn.Conv2d(ndf * mult, ndf * mult * 2, kernel_size=4, stride=1, padding=0, bias=True)),
                  nn.LeakyReLU(0.2, True)]

        mult = 2 ** (n_layers - 2)  # class activation map
        self.gap_fc = sn(nn.Linear(ndf * mult, 1, bias=False))
        self.gmp_fc = sn(nn.Linear(ndf * mult, 1, bias=False))
        self.conv1x1 = nn.Conv2d(ndf * mult * 2, ndf * mult, kernel_size=1, stride=1, bias=True)
        self.leaky_relu = nn.LeakyReLU(0.2, True)

        self.pad = nn.ReflectionPad2d(1)
        self.conv = sn(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=0, bias=False))
        self.model = nn.Sequential(*model)

    def forward(self, input):
        x = self.model(input)

        gap = F.adaptive_avg_pool2d(x, 1)
        gap_logit = self.gap_fc(gap.view(x.shape[0], -1))
        gap_weight = list(self.gap_fc.parameters())[0]  # noqa: RUF015 (the official arithmetic)
        gap = x * gap_weight.unsqueeze(2).unsqueeze(3)

        gmp = F.adaptive_max_pool2d(x, 1)
        gmp_logit = self.gmp_fc(gmp.view(x.shape[0], -1))
        gmp_weight = list(self.gmp_fc.parameters())[0]  # noqa: RUF015
        gmp = x * gmp_weight.unsqueeze(2).unsqueeze(3)

        cam_logit = torch.cat([gap_logit, gmp_logit], 1)
        x = self.leaky_relu(self.conv1x1(torch.cat([gap, gmp], 1)))
        heatmap = torch.sum(x, dim=1, keepdim=True)
        return self.conv(self.pad(x)), cam_logit, heatmap


# ----------------------------------------------------------------------------- fixtures


def randomise(net: nn.Module, seed: int) -> nn.Module:
    """Every weight far from its default (rho in (0, 1), ILN gamma / beta too), spectral norm's u
    and v from a few power iterations; then eval mode, so a wrong mapping shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("rho"):
                p.copy_(0.1 + 0.8 * torch.rand(p.shape, generator=g))
            elif name.endswith("gamma") and p.dim() == 4:  # ILN's (the generator's gamma is a Linear)
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith(("beta", "bias")) and p.dim() in (1, 4):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * 1.5 / fan_in ** 0.5)
        if any(name.endswith("weight_u") for name, _ in net.named_buffers()):
            net.train()
            x = torch.rand(1, 3, S, S, generator=g) * 2 - 1
            for _ in range(3):
                net(x)  # power iterations: weight_u, weight_v
    return net.eval()


def official_nets(light: bool, seed: int = 0) -> dict[str, nn.Module]:
    """The six networks as UGATIT.build_model() makes them (ngf = ndf = ch), randomised."""
    nets = {"genA2B": ResnetGenerator(3, 3, CH, N_RES, S, light), "genB2A": ResnetGenerator(3, 3, CH, N_RES, S, light),
            "disGA": Discriminator(3, CH, 7), "disGB": Discriminator(3, CH, 7),
            "disLA": Discriminator(3, CH, 5), "disLB": Discriminator(3, CH, 5)}
    return {name: randomise(net, seed + i) for i, (name, net) in enumerate(nets.items())}


def save_official(nets: dict[str, nn.Module], path: Path, names=None) -> Path:
    """The file UGATIT.save() writes: {'genA2B': state_dict, ..., 'disLB': state_dict}."""
    torch.save({name: nets[name].state_dict() for name in (names or nets)}, path)
    return path


@pytest.fixture(scope="module", params=[True, False], ids=["light", "full"])
def official(request, tmp_path_factory):
    """(light, the official networks, their selfie2anime_params_0100000.pt)."""
    light = request.param
    nets = official_nets(light)
    path = save_official(nets, tmp_path_factory.mktemp("official") / "selfie2anime_params_0100000.pt")
    return light, nets, path


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, S, S, generator=g) * 2 - 1


def assert_same_outputs(got, want, atol=1e-5):
    assert len(got) == len(want) == 3
    for a, b in zip(got, want):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=atol)


# ----------------------------------------------------------------------------- exact conversion


def test_conversion_reproduces_the_official_networks(official, inputs):
    light, nets, path = official
    model = conv.convert(path, size=None if not light else S)
    c = model.config
    assert (c.ch, c.n_res, c.light, c.image_size, c.discriminators) == (CH, N_RES, light, S, True)
    assert c.load_margin == 30 and (c.lr, c.weight_decay, c.cam_weight) == (1e-4, 1e-4, 1000.0)
    assert not model.training
    with torch.no_grad():
        for direction, name in (("a2b", "genA2B"), ("b2a", "genB2A")):
            want = nets[name](inputs)
            assert want[0].std() > 0.1 and want[2].std() > 0  # a picture and a map, not constants
            assert_same_outputs(model.generator[direction](inputs), want)
            out, attention = model.translate(inputs, direction)
            torch.testing.assert_close(out, want[0], rtol=1e-5, atol=1e-5)
            assert attention.shape == (2, 1, S, S)
        for short, name in (("ga", "disGA"), ("gb", "disGB"), ("la", "disLA"), ("lb", "disLB")):
            assert_same_outputs(model.discriminator[short](inputs), nets[name](inputs))
    # the two directions really are different networks (a swapped mapping would show above)
    assert not torch.allclose(nets["genA2B"](inputs)[0], nets["genB2A"](inputs)[0])


def test_light_size_defaults_to_256_and_the_full_size_is_read_from_the_weights(official):
    light, _, path = official
    if light:
        model = conv.convert(path)
        assert model.config.image_size == conv.DEFAULT_SIZE == 256
        assert conv.convert(path, size=128, generators_only=True).config.image_size == 128
        with pytest.raises(ValueError, match="multiple of 4"):
            conv.convert(path, size=98)
        with pytest.raises(ValueError, match="too small for the discriminators"):
            conv.convert(path, size=64)
        assert conv.convert(path, size=64, generators_only=True).config.image_size == 64
    else:
        assert conv.convert(path, size=S).config.image_size == S
        with pytest.raises(CheckpointError, match=r"full \(not light\) U-GAT-IT trained at 96x96.*24x24.*not at 256"):
            conv.convert(path, size=256)


def test_generator_only_checkpoints(official, inputs, tmp_path):
    _, nets, path = official
    gens = save_official(nets, tmp_path / "gens.pt", ["genA2B", "genB2A"])
    for model in (conv.convert(gens, size=S), conv.convert(path, size=S, generators_only=True)):
        assert model.config.discriminators is False and not hasattr(model, "discriminator")
        assert all(k.startswith("generator.") for k in model.state_dict())
        with torch.no_grad():
            assert_same_outputs(model.generator["b2a"](inputs), nets["genB2A"](inputs))
    assert "**not included**" in conv.model_card(model, gens)


def test_old_spectral_norm_files_without_weight_v(inputs, tmp_path):
    """PyTorch's spectral norm before version 1 saved the normalised weight and no weight_v."""
    nets = official_nets(light=True, seed=5)
    state = {name: net.state_dict() for name, net in nets.items()}
    for name in ("disLA", "disLB"):  # (the global D's last conv makes torch's pinverse slow)
        modules = dict(nets[name].named_modules())
        for key in [k for k in state[name] if k.endswith(".weight_v")]:
            prefix = key.removesuffix(".weight_v")
            del state[name][key]
            state[name][prefix + ".weight"] = modules[prefix].weight.detach().clone()  # W_orig / sigma
    path = tmp_path / "old_sn.pt"
    torch.save(state, path)
    model = conv.convert(path, size=S)
    with torch.no_grad():
        for short, name in (("la", "disLA"), ("lb", "disLB")):
            assert_same_outputs(model.discriminator[short](inputs), nets[name](inputs), atol=1e-4)


# ----------------------------------------------------------------------------- the CLI


def cli_ok(capsys, *args) -> str:
    assert cli.main([str(a) for a in args]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    return out.out


def cli_error(capsys, *args) -> str:
    assert cli.main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facegan: error: "), err
    return err[0]


def test_cli_writes_a_loadable_checkpoint_folder(official, inputs, tmp_path, capsys):
    light, nets, path = official
    out = tmp_path / "converted"
    line = cli_ok(capsys, "convert", "ugatit", path, "--out", out, *(["--size", S] if light else []))
    assert str(out) in line and ("light" if light else "full") in line and "discriminators" in line
    config = hub.read_config(out)
    assert config["technique"] == "ugatit" and config["light"] is light and config["image_size"] == S
    assert config["converted_from"]["sha256"] == hub.sha256_of(path)
    card = (out / hub.CARD_NAME).read_text()
    assert "znxlwm/UGATIT-pytorch" in card and "selfie2anime_params_0100000.pt" in card
    loaded = hub.load_folder(out)
    with torch.no_grad():
        assert_same_outputs(loaded.generator["a2b"](inputs), nets["genA2B"](inputs))
        assert_same_outputs(loaded.discriminator["la"](inputs), nets["disLA"](inputs))

    # generator-only, float16: half the size, still the official translation (to fp16 precision)
    small = tmp_path / "small"
    line = cli_ok(capsys, "convert", "ugatit", path, "--out", small, "--size", S, "--generators-only", "--fp16")
    assert "generators only" in line and "fp16" in line
    with safe_open(small / hub.WEIGHTS_NAME, "pt") as f:
        names = list(f.keys())
        assert {f.get_slice(k).get_dtype() for k in names} == {"F16"}
    assert names and not [k for k in names if k.startswith("discriminator.")]
    loaded = hub.load_folder(small)
    assert loaded.config.discriminators is False
    with torch.no_grad():
        torch.testing.assert_close(loaded.generator["b2a"](inputs)[0], nets["genB2A"](inputs)[0], rtol=0, atol=0.05)


def test_cli_refusals_are_one_line(official, tmp_path, capsys):
    light, _, path = official
    line = cli_error(capsys, "convert", "ugatit", tmp_path / "nope.pt", "--out", tmp_path / "out")
    assert "no such file" in line
    if not light:
        line = cli_error(capsys, "convert", "ugatit", path, "--out", tmp_path / "out", "--size", 128)
        assert "trained at 96x96" in line
    assert not (tmp_path / "out").exists()


def test_the_dcgan_converter_is_still_where_it_was():
    args = cli.build_parser().parse_args(["convert", "dcgan", "--from", "pytorch-examples", "--netg", "g.pth",
                                          "--out", "x"])
    assert args.func is cli.convert._convert_dcgan and args.source == "pytorch-examples" and args.netd is None
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["convert", "dcgan", "--from", "ugatit", "--netg", "g.pth", "--out", "x"])


# ----------------------------------------------------------------------------- refusals


def test_a_pickled_module_is_refused(tmp_path, capsys):
    nets = official_nets(light=True)
    whole = tmp_path / "whole.pt"
    torch.save({"genA2B": nets["genA2B"], "genB2A": nets["genB2A"]}, whole)  # modules: unpickling runs code
    with pytest.raises(CheckpointError, match=r"pickles Python objects .*ResnetGenerator.*state_dict"):
        conv.convert(whole)
    line = cli_error(capsys, "convert", "ugatit", whole, "--out", tmp_path / "out")
    assert "ResnetGenerator" in line and "UGATIT.save()" in line
    assert not (tmp_path / "out").exists()


def _saved(state: dict, tmp_path: Path, name: str) -> Path:
    torch.save(state, tmp_path / name)
    return tmp_path / name


def test_files_that_are_not_ugatit_checkpoints_are_refused(tmp_path):
    nets = official_nets(light=True)
    state = {name: net.state_dict() for name, net in nets.items()}
    with pytest.raises(CheckpointError, match="no such file"):
        conv.convert(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        conv.convert(junk)
    with pytest.raises(CheckpointError, match="holds a list, not the dict of state_dicts"):
        conv.convert(_saved([torch.zeros(3)], tmp_path, "list.pt"))
    with pytest.raises(CheckpointError, match=r"single state_dict \(gap_fc\.weight.*save both generators"):
        conv.convert(_saved(state["genA2B"], tmp_path, "one.pt"))
    no_b2a = {k: v for k, v in state.items() if k != "genB2A"}
    with pytest.raises(CheckpointError, match=r"lacks genB2A: .*has 'genA2B', 'disGA'"):
        conv.convert(_saved(no_b2a, tmp_path, "no_b2a.pt"))
    with pytest.raises(CheckpointError, match=r"lacks genA2B and genB2A"):
        conv.convert(_saved({"netG": state["genA2B"]}, tmp_path, "other.pt"))
    some_d = {k: v for k, v in state.items() if k not in ("disGB", "disLB")}
    with pytest.raises(CheckpointError, match=r"has disGA, disLA but not disGB, disLB: .*all four"):
        conv.convert(_saved(some_d, tmp_path, "some_d.pt"))
    assert conv.convert(_saved(some_d, tmp_path, "some_d.pt"), generators_only=True).config.discriminators is False
    nested = {**state, "genB2A": [1, 2]}
    with pytest.raises(CheckpointError, match="genB2A is a list, not a state_dict"):
        conv.convert(_saved(nested, tmp_path, "nested.pt"))
    grey = ResnetGenerator(1, 1, CH, N_RES, S, True).state_dict()
    with pytest.raises(CheckpointError, match="1-channel images.*RGB only"):
        conv.convert(_saved({"genA2B": grey, "genB2A": grey}, tmp_path, "grey.pt"))
    # extra entries (a fork's optimiser states) are left out, with a warning
    with pytest.warns(conv.IgnoredEntriesWarning, match="'G_optim'"):
        model = conv.convert(_saved({**state, "G_optim": {"lr": 1e-4}}, tmp_path, "extra.pt"), size=S)
    assert model.config.discriminators


def test_missing_unexpected_and_misshapen_tensors_are_named(tmp_path):
    nets = official_nets(light=False)
    state = {name: net.state_dict() for name, net in nets.items()}

    def variant(name, net, drop=(), add=None):
        s = {k: dict(v) for k, v in state.items()}
        s[net] = {k: v for k, v in s[net].items() if k not in drop} | (add or {})
        return _saved(s, tmp_path, name)

    with pytest.raises(CheckpointError, match=r"lacks tensors of the official .*: genB2A\.UpBlock2\.3\.rho$"):
        conv.convert(variant("no_rho.pt", "genB2A", drop=["UpBlock2.3.rho"]))
    with pytest.raises(CheckpointError, match=r"lacks tensors .*disLA\.conv\.weight_u"):
        conv.convert(variant("no_u.pt", "disLA", drop=["conv.weight_u"]))
    with pytest.raises(CheckpointError, match=r"tensors the official .* do not: genA2B\.extra\.weight"):
        conv.convert(variant("extra.pt", "genA2B", add={"extra.weight": torch.zeros(2)}))
    # networks of another width than genA2B's; a light genB2A beside a full genA2B
    wide = ResnetGenerator(3, 3, 2 * CH, N_RES, S, False).state_dict()
    with pytest.raises(CheckpointError, match=r"genB2A has ch=8, genA2B ch=4"):
        conv.convert(_saved({**state, "genB2A": wide}, tmp_path, "wide.pt"))
    with pytest.raises(CheckpointError, match=r"disGB has ch=8, genA2B ch=4"):
        conv.convert(_saved({**state, "disGB": Discriminator(3, 2 * CH, 7).state_dict()}, tmp_path, "d8.pt"))
    light = ResnetGenerator(3, 3, CH, N_RES, S, True).state_dict()
    with pytest.raises(CheckpointError, match=r"do not fit a U-GAT-IT with ch=4, n_res=2, full at 96x96 \(read from "
                                              r"genA2B\): genB2A\.FC\.0\.weight \(16, 16\) \(expected \(16, 9216\)\)$"):
        conv.convert(_saved({**state, "genB2A": light}, tmp_path, "mixed.pt"))
    # a generator with one residual block less than the other
    short = ResnetGenerator(3, 3, CH, N_RES - 1, S, False).state_dict()
    with pytest.raises(CheckpointError, match=r"lacks tensors .*genB2A\.DownBlock\.13\.conv_block\.1\.weight"):
        conv.convert(_saved({**state, "genB2A": short}, tmp_path, "short.pt"))
    # an FC that fits neither variant; NaN weights
    with pytest.raises(CheckpointError, match=r"FC\.0\.weight has 100 inputs, neither 4 \* ch = 16"):
        conv.convert(variant("fc.pt", "genA2B", add={"FC.0.weight": torch.zeros(16, 100)}))
    bad = state["genA2B"]["gamma.weight"].clone()
    bad[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match=r"NaN/inf values in genA2B\.gamma\.weight"):
        conv.convert(variant("nan.pt", "genA2B", add={"gamma.weight": bad}))
