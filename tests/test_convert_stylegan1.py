"""genforce's StyleGAN (v1) checkpoints -> facegan's StyleGAN with ``architecture="stylegan1"``: exact
outputs against a forward pass written here from genforce's models/stylegan_generator.py (and the
StyleGAN paper), the layouts genforce writes, the CLI, the Hub reference, a hub round trip, what
the model does with the studio, and one-line refusals."""

from __future__ import annotations

import json
import math
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
from test_hub import FakeHub, hf_cache, point_hf_at  # noqa: F401  (hf_cache: a fixture)

from facegan import cli, hub
from facegan.checks import InputError
from facegan.convert import stylegan as conv
from facegan.models import stylegan
from facegan.project import _noise_layers, project
from facegan.studio import Studio

SQRT2 = math.sqrt(2)
LR_MUL = 0.01  # genforce's mapping_lr_mul
FUSED_MIN_RES = 128  # genforce's _AUTO_FUSED_SCALE_MIN_RES (fused_scale="auto")


# ----------------------------------------------------------------------------- genforce's generator
# A functional forward pass over a state_dict in genforce's layout: StyleGANGenerator.forward with
# randomize_noise=False, lod 0 (MappingModule, TruncationModule, SynthesisModule, ConvBlock, ...).


def dense(x, sd, name):
    """DenseBlock: wscale sqrt(2) / sqrt(in) times lr_mul, bias times lr_mul, LeakyReLU(0.2)."""
    w, b = sd[f"{name}.weight"], sd[f"{name}.bias"]
    return F.leaky_relu(F.linear(x, w * (SQRT2 / math.sqrt(w.shape[1]) * LR_MUL), b * LR_MUL), 0.2)


def gf_mapping(sd, z):
    x = z / torch.sqrt(torch.mean(z**2, dim=1, keepdim=True) + 1e-8)  # PixelNormLayer
    i = 0
    while f"mapping.dense{i}.weight" in sd:
        x = dense(x, sd, f"mapping.dense{i}")
        i += 1
    return x


def gf_truncation(sd, w, num_layers, psi=None, layers=None):
    """TruncationModule: w (N, w_dim) repeated per layer (or wp as it is), then psi in the first ``layers``."""
    wp = w.view(-1, 1, w.shape[1]).repeat(1, num_layers, 1) if w.ndim == 2 else w
    if psi is not None and psi < 1 and layers:
        coefs = torch.ones(1, num_layers, 1)
        coefs[:, :layers] *= psi
        avg = sd["truncation.w_avg"].view(1, 1, -1)
        wp = avg + (wp - avg) * coefs
    return wp


def conv_block(sd, i, x, w, fused_min):
    """ConvBlock i: the const (layer 0), or [nearest up-sampling,] conv [fused: conv_transpose], blur;
    then noise, bias, lrelu, instance norm, style modulation."""
    name, res = f"synthesis.layer{i}", 2 ** (i // 2 + 2)
    up = i > 0 and i % 2 == 0
    if i == 0:
        x = sd[f"{name}.const"].repeat(w.shape[0], 1, 1, 1)
    else:
        weight = sd[f"{name}.weight"]
        weight = weight * (SQRT2 / math.sqrt(weight.shape[1] * 9))
        if up and res >= fused_min:
            weight = F.pad(weight, (1, 1, 1, 1, 0, 0, 0, 0), "constant", 0)
            weight = weight[:, :, 1:, 1:] + weight[:, :, :-1, 1:] + weight[:, :, 1:, :-1] + weight[:, :, :-1, :-1]
            x = F.conv_transpose2d(x, weight.permute(1, 0, 2, 3), stride=2, padding=1)
        else:
            if up:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.conv2d(x, weight, padding=1)
        if up:
            x = F.conv2d(x, sd[f"{name}.blur.kernel"], padding=1, groups=x.shape[1])
    x = x + sd[f"{name}.apply_noise.noise"] * sd[f"{name}.apply_noise.weight"].view(1, -1, 1, 1)
    x = F.leaky_relu(x + sd[f"{name}.bias"].view(1, -1, 1, 1), 0.2)
    x = x - torch.mean(x, dim=[2, 3], keepdim=True)
    x = x / torch.sqrt(torch.mean(x**2, dim=[2, 3], keepdim=True) + 1e-8)
    style = F.linear(w, sd[f"{name}.style.weight"] / math.sqrt(w.shape[1]), sd[f"{name}.style.bias"])
    s = style.view(-1, 2, x.shape[1], 1, 1)
    return x * (s[:, 0] + 1) + s[:, 1]


def genforce_generator(sd, z, psi=None, trunc_layers=None, z2=None, mix=None, fused_min=FUSED_MIN_RES):
    """G(z) with psi / trunc_layers; with z2, its styles from layer ``mix`` on (as genforce's training
    mixes), before the truncation."""
    num_layers = sum(1 for k in sd if k.endswith(".style.weight"))
    wp = gf_truncation(sd, gf_mapping(sd, z), num_layers)
    if z2 is not None:
        wp[:, mix:] = gf_truncation(sd, gf_mapping(sd, z2), num_layers)[:, mix:]
    wp = gf_truncation(sd, wp, num_layers, psi, trunc_layers)
    x = None
    for i in range(num_layers):
        x = conv_block(sd, i, x, wp[:, i], fused_min)
    w, b = sd[f"synthesis.output{num_layers // 2 - 1}.weight"], sd[f"synthesis.output{num_layers // 2 - 1}.bias"]
    return F.conv2d(x, w / math.sqrt(w.shape[1]), b)


def blur_kernel(channels: int) -> torch.Tensor:
    k = torch.tensor([1.0, 2.0, 1.0])
    k = torch.outer(k, k)
    return (k / k.sum())[None, None].repeat(channels, 1, 1, 1)


def genforce_state(z_dim: int, w_dim: int, n_map: int, chans: dict[int, int], seed: int) -> dict:
    """A random generator state_dict in genforce's StyleGANGenerator layout (its buffers included)."""
    g = torch.Generator().manual_seed(seed)

    def rn(*shape, scale=1.0, mean=0.0):
        return torch.randn(*shape, generator=g) * scale + mean

    sd = {}
    for i in range(n_map):  # DenseBlock stores randn / lr_mul
        sd[f"mapping.dense{i}.weight"] = rn(w_dim, z_dim if i == 0 else w_dim) / LR_MUL
        sd[f"mapping.dense{i}.bias"] = rn(w_dim, scale=0.5) / LR_MUL
    sd["truncation.w_avg"] = rn(w_dim, scale=0.5)
    sd["synthesis.lod"] = torch.zeros(())
    for k, res in enumerate(sorted(chans)):
        c = chans[res]
        for i in (2 * k, 2 * k + 1):
            name = f"synthesis.layer{i}"
            if i == 0:
                sd[f"{name}.const"] = rn(1, c, 4, 4)
            else:
                sd[f"{name}.weight"] = rn(c, chans[res // 2] if i == 2 * k else c, 3, 3)
            if i == 2 * k and k > 0:
                sd[f"{name}.blur.kernel"] = blur_kernel(c)
            sd[f"{name}.bias"] = rn(c, scale=0.2)
            sd[f"{name}.style.weight"] = rn(2 * c, w_dim)
            sd[f"{name}.style.bias"] = rn(2 * c, scale=0.2)
            sd[f"{name}.apply_noise.weight"] = rn(c, scale=0.5)
            sd[f"{name}.apply_noise.noise"] = rn(1, 1, res, res)
        sd[f"synthesis.output{k}.weight"] = rn(3, c, 1, 1)
        sd[f"synthesis.output{k}.bias"] = rn(3, scale=0.2)
    return sd


# 16 px (z 8, w 12, 3 mapping layers) and 128 px (fused up-sampling at 128); channels min(base // res, max)
NETS = {16: (8, 12, 3, {4: 16, 8: 16, 16: 8}), 128: (8, 8, 2, {4: 8, 8: 8, 16: 8, 32: 8, 64: 4, 128: 2})}
D_STATE = {"layer0.weight": torch.ones(4, 3, 1, 1), "layer0.bias": torch.zeros(4)}  # genforce's D: not read


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """genforce's converter output {generator, discriminator, generator_smooth} (16 px), a bare
    generator state_dict as huggan/stylegan_animeface512 ships it (128 px), a runner checkpoint."""
    folder = tmp_path_factory.mktemp("genforce")
    z, w, n_map, chans = NETS[16]
    smooth, trained = genforce_state(z, w, n_map, chans, 1), genforce_state(z, w, n_map, chans, 2)
    torch.save({"generator": trained, "discriminator": D_STATE, "generator_smooth": smooth}, folder / "converted.pth")
    big = genforce_state(*NETS[128], seed=3)
    torch.save(big, folder / "pytorch_model.bin")
    optim = {"state": {}, "param_groups": [{"lr": 0.001, "betas": (0.0, 0.99), "eps": 1e-8, "params": [0]}]}
    torch.save({"models": {"generator": trained, "discriminator": D_STATE,
                           "generator_smooth": {f"module.{k}": v for k, v in smooth.items()}},  # as from DDP
                "running_metadata": {"iter": 10, "seen_img": 80}, "optimizers": {"generator": optim}},
               folder / "checkpoint-iter10.pth")
    return folder, {16: smooth, 128: big}


def zs(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def assert_same_as_genforce(model, sd, n=3):
    """Plain, psi 0.7 (all layers, and the first 4), style mixing from layer 3, the fixed noise."""
    L, dim = model.num_ws, model.config.z_dim
    z1, z2 = zs(n, dim, 10), zs(n, dim, 11)

    def ours(ws):
        return model.generator.synthesis(ws, noise_mode="const")

    with torch.no_grad():
        want = genforce_generator(sd, z1)
        assert (ours(model.mapping(z1)) - want).abs().max() < 1e-4
        want_t = genforce_generator(sd, z1, psi=0.7, trunc_layers=L)
        assert (ours(model.mapping(z1, psi=0.7)) - want_t).abs().max() < 1e-4
        assert (model.generate(z1, psi=0.7) - want_t.clamp(-1, 1)).abs().max() < 1e-4  # the public call
        want_4 = genforce_generator(sd, z1, psi=0.7, trunc_layers=4)
        assert (ours(model.mapping(z1, psi=0.7, cutoff=4)) - want_4).abs().max() < 1e-4
        want_m = genforce_generator(sd, z1, z2=z2, mix=3)
        ws = model.mix(model.mapping(z1), model.mapping(z2), range(3, L))
        assert (ours(ws) - want_m).abs().max() < 1e-4
        want_mt = genforce_generator(sd, z1, psi=0.7, trunc_layers=L, z2=z2, mix=3)
        assert (ours(model.truncate(ws, 0.7)) - want_mt).abs().max() < 1e-4  # mixing, then truncation
        assert want.abs().max() > 0.1 and (want - want_m).abs().max() > 1e-2 and (want - want_t).abs().max() > 1e-2


# ----------------------------------------------------------------------------- exact conversion


def test_genforces_converter_output_converts_exactly_from_its_ema(files):
    folder, nets = files
    with pytest.warns(UserWarning, match="its discriminator is not converted") as caught:
        model = conv.convert(folder / "converted.pth")
    assert not any(issubclass(w.category, conv.UntrainedDiscriminatorWarning) for w in caught)
    c = model.config
    assert (c.architecture, c.discriminators, c.image_size, c.z_dim, c.w_dim, c.mapping_layers) == (
        "stylegan1", False, 16, 8, 12, 3)
    assert [stylegan.channels(c, r) for r in c.resolutions] == [16, 16, 8] and c.mapping_lr == LR_MUL
    assert model.discriminator is None and model.num_ws == 6 and not model.training
    assert torch.equal(model.w_avg, nets[16]["truncation.w_avg"])
    info = model.converted_from
    assert info["source"] == conv.GENFORCE and "generator_smooth" in info["format"] and not info["discriminator"]
    assert_same_as_genforce(model, nets[16])  # generator_smooth's outputs, not generator's


def test_a_bare_state_dict_at_128px_converts_exactly_with_fused_up_sampling(files):
    folder, nets = files
    sd = nets[128]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no D in the file: nothing to warn about
        model = conv.convert(folder / "pytorch_model.bin")
    syn = model.generator.synthesis
    assert model.config.image_size == 128 and model.num_ws == 12
    assert [syn.get_submodule(f"layer{i}").fused for i in range(12)] == [False] * 10 + [True, False]
    assert_same_as_genforce(model, sd, n=2)
    z = zs(2, 8, 12)
    with torch.no_grad():  # the fused layer's kernel flip matters: unfused, the images differ
        unfused = genforce_generator(sd, z, fused_min=10**9)
        assert (genforce_generator(sd, z) - unfused).abs().max() > 1e-2
        # no noise: genforce's with the noise strengths zeroed; relative, as without noise this random
        # net's instance norms amplify rounding (the reference's own float32 error is 2e-4 of 14 here)
        silent = {k: torch.zeros_like(v) if k.endswith("apply_noise.weight") else v for k, v in sd.items()}
        got, want = model.generator.synthesis(model.mapping(z), noise_mode="none"), genforce_generator(silent, z)
        assert (got - want).abs().max() < 1e-4 * want.abs().max()
        g = torch.Generator().manual_seed(0)
        fresh = model.generator.synthesis(model.mapping(z), noise_mode="random", noise_generator=g)
        assert fresh.shape == got.shape and (fresh - got).abs().max() > 1e-3


def test_a_runner_checkpoint_converts(files):
    folder, nets = files
    with pytest.warns(UserWarning, match="discriminator is not converted"):
        model = conv.convert(folder / "checkpoint-iter10.pth")
    assert_same_as_genforce(model, nets[16], n=2)


def test_the_fused_form_is_the_unfused_one_with_the_kernel_flipped():
    x, w = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3)
    wp = F.pad(w, (1, 1, 1, 1))
    fused = F.conv_transpose2d(x, (wp[:, :, 1:, 1:] + wp[:, :, :-1, 1:] + wp[:, :, 1:, :-1] + wp[:, :, :-1, :-1])
                               .transpose(0, 1), stride=2, padding=1)
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    assert (fused - F.conv2d(up, w.flip([2, 3]), padding=1)).abs().max() < 1e-4
    assert (fused - F.conv2d(up, w, padding=1)).abs().max() > 1e-2


# ----------------------------------------------------------------------------- the model as a user uses it


def test_the_converted_model_round_trips_through_the_hub_format_exactly(files, tmp_path):
    path = files[0] / "pytorch_model.bin"
    model = conv.convert(path)
    out = hub.save_pretrained(model, tmp_path / "ckpt", conv.model_card(model, path),
                              extra_config=conv.provenance(path, model))
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = hub.load_folder(out)
    assert loaded.config == model.config and loaded.config.architecture == "stylegan1"
    ours, theirs = model.state_dict(), loaded.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    z = zs(2, 8, 5)
    for kw in ({}, {"psi": 0.7}, {"psi": 0.5, "cutoff": 4}):
        assert torch.equal(model.generate(z, **kw), loaded.generate(z, **kw))
    assert loaded.extra_config["converted_from"]["discriminator"] == "not included (generator-only)"
    assert "StyleGAN (v1) converted from genforce/genforce" in (out / "README.md").read_text()


def test_the_studio_mixes_edits_and_projects_a_v1_model(files):
    model = conv.convert(files[0] / "pytorch_model.bin")
    st = Studio(model, dtype="float32")
    face = st.face(1, psi=0.7)
    assert face.picture.size == (128, 128)
    assert st.layers("coarse") == [0, 1, 2, 3] and st.layers("fine") == [8, 9, 10, 11]  # style i at 2^(i // 2 + 2) px
    mixing = st.mix("1,2", "3", layers="middle")
    assert mixing.layers == [4, 5, 6, 7] and mixing.pictures[1][0].size == (128, 128)
    found = st.sefa("coarse")
    assert 0 < len(found) <= model.config.w_dim and found.vectors.shape[1] == model.config.w_dim
    edited = st.edit(1, 0, "coarse", 3.0, psi=0.7)
    assert edited.picture.size == (128, 128)
    layers = _noise_layers(model.generator.synthesis)  # what projection optimises with optimise_noise
    assert [m.noise_const.shape for _, m in layers] == [(2 ** (i // 2 + 2),) * 2 for i in range(12)]
    found = project(model, face.picture, steps=3, crop="none", perceptual_weight=0.0, optimise_noise=True)
    assert found.code.startswith("w:") and len(found.noise) == 12 and found.picture.size == (128, 128)


def test_a_v1_model_is_generator_only(files):
    model = conv.convert(files[0] / "pytorch_model.bin")
    with pytest.raises(ValueError, match="generator-only"):
        stylegan.TrainStep(model, model.config)
    with pytest.raises(ValueError, match="generator-only"):
        model.score(torch.zeros(1, 3, 128, 128))
    with pytest.raises(InputError, match=r"^model config: discriminators must be false with architecture stylegan1"):
        stylegan.Config(architecture="stylegan1")
    with pytest.raises(InputError, match=r"^model config: architecture must be one of stylegan2, stylegan1"):
        stylegan.Config(architecture="stylegan3")


def test_cli_converts_a_genforce_file_and_draws_from_it(files, tmp_path, capsys):
    folder, nets = files
    src, out = folder / "converted.pth", tmp_path / "ckpt"
    assert cli.main(["convert", "stylegan", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert str(out) in printed.out and "stylegan v1 16px" in printed.out and conv.GENFORCE in printed.out
    assert "D not included (generator-only)" in printed.out
    assert printed.err.startswith("facegan: warning:") and "discriminator is not converted" in printed.err
    assert len(printed.err.splitlines()) == 1
    config = json.loads((out / "config.json").read_text())
    assert config["technique"] == "stylegan" and config["architecture"] == "stylegan1"
    assert config["discriminators"] is False and config["converted_from"]["source"] == conv.GENFORCE
    assert config["converted_from"]["file_sha256"] == hub.sha256_of(src)
    assert_same_as_genforce(hub.load_folder(out), nets[16], n=2)
    grid = tmp_path / "grid.png"
    assert cli.main(["generate", "stylegan", "--checkpoint", str(out), "--seed", "0", "--count", "2", "--psi", "0.7",
                     "--out", str(grid)]) == 0
    assert grid.is_file()


def test_a_hub_file_reference_to_a_bin_converts(files, hf_cache, monkeypatch):  # noqa: F811
    folder, _ = files
    fake = FakeHub(folder, repo_id="huggan/stylegan_animeface512", revision="main")
    point_hf_at(monkeypatch, fake.endpoint)
    try:
        model = hub.load("huggan/stylegan_animeface512@main:pytorch_model.bin", technique="stylegan")
    finally:
        fake.stop()
    direct = conv.convert(folder / "pytorch_model.bin")
    ours, theirs = model.state_dict(), direct.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert model.config.architecture == "stylegan1"


# ----------------------------------------------------------------------------- refusals


def _bad_files(folder, sd) -> dict:
    z, w, n_map, _ = NETS[16]
    wide = {k: v for k, v in sd.items()}
    wide["mapping.dense2.weight"] = torch.zeros(6 * w, w)  # repeat_w=False: a w per layer
    wide["mapping.dense2.bias"], wide["truncation.w_avg"] = torch.zeros(6 * w), torch.zeros(6 * w)
    files = {
        "other.bin": {"model": {"w": torch.zeros(2)}},
        "missing.bin": {k: v for k, v in sd.items() if k != "synthesis.layer3.apply_noise.weight"},
        "extra.bin": {**sd, "synthesis.extra.weight": torch.zeros(1)},
        "shape.bin": {**sd, "synthesis.layer3.weight": torch.zeros(16, 16, 5, 5)},
        "nan.bin": {**sd, "synthesis.layer1.bias": torch.full((16,), float("nan"))},
        "lod.bin": {**sd, "synthesis.lod": torch.tensor(2.0)},
        "blur.bin": {**sd, "synthesis.layer2.blur.kernel": torch.ones(16, 1, 3, 3)},
        "repeat.bin": wide,
        "label.bin": {**sd, "mapping.label_weight": torch.zeros(5, z)},
        "channels.bin": genforce_state(z, w, n_map, {4: 8, 8: 16, 16: 8}, 4),
        "stylegan2.bin": {"generator": {"mapping.dense0.weight": torch.zeros(w, z),
                                        "synthesis.early_layer.const": torch.zeros(1, 16, 4, 4)}},
        "list.bin": [torch.zeros(1)],
    }
    paths = {}
    for name, obj in files.items():
        paths[name] = folder / name
        torch.save(obj, paths[name])
    return paths


@pytest.mark.parametrize(("name", "says"), [
    ("other.bin", r"has no g_ema: not a rosinality/stylegan2-pytorch checkpoint .* nor a genforce StyleGAN one .*model"),
    ("missing.bin", r"lacks tensors of genforce's StyleGAN \(v1\) layout: synthesis\.layer3\.apply_noise\.weight"),
    ("extra.bin", r"has tensors genforce's StyleGAN \(v1\) layout does not: synthesis\.extra\.weight"),
    ("shape.bin", r"layer3\.weight \(16, 16, 5, 5\) \(facegan's generator\.synthesis\.layer3\.weight is \(16, 16, 3, 3\)"),
    ("nan.bin", r"NaN/inf values in synthesis\.layer1\.bias"),
    ("lod.bin", r"synthesis\.lod is \[2\.0\], not 0: a generator in the middle of progressive growing"),
    ("blur.bin", r"synthesis\.layer2\.blur\.kernel is not the \[1, 2, 1\] blur kernel"),
    ("repeat.bin", r"its mapping makes 72 numbers, not the w_dim 12 its styles read"),
    ("label.bin", r"a class-conditional generator \(mapping\.label_weight\)"),
    ("channels.bin", r"its channels \(4 px: 8, 8 px: 16, 16 px: 8\) are not min\(channel_base // res, channel_max\)"),
    ("stylegan2.bin", r"generator lacks mapping\.dense0\.weight, .*: not a genforce StyleGAN \(v1\) generator"),
    ("list.bin", r"holds a list: not a rosinality/stylegan2-pytorch checkpoint"),
])
def test_refusals_are_one_clear_line(files, tmp_path, capsys, name, says):
    path = _bad_files(tmp_path, files[1][16])[name]
    code = cli.main(["convert", "stylegan", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("facegan: error:") and len(err.strip().splitlines()) == 1, err
    assert re.search(says, err), err
    assert not (tmp_path / "out").exists()
