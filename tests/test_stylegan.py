"""StyleGAN2: the presets' shapes, the [1, 3, 3, 1] resampling as its definition, demodulation,
truncation and style mixing as the papers define them, and a tiny run through the Trainer (R1 and
path-length steps included) saved, loaded and resumed exactly."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math

import pytest
import torch
import torch.nn.functional as F
from test_train import _assert_tree_equal

from facegan import data, hub, models
from facegan.checks import InputError
from facegan.models import stylegan
from facegan.train import TrainConfig, Trainer, latest_checkpoint

# 16 px, 8 channels: a step with both regularisers takes a few tens of ms
TINY = {"image_size": 16, "z_dim": 8, "w_dim": 8, "channel_base": 64, "channel_max": 8, "mbstd_group": 2,
        "r1_interval": 2, "pl_interval": 3}


def tiny(**kw) -> stylegan.Config:
    return stylegan.Config(**{**TINY, **kw})


def tiny_train(**kw) -> TrainConfig:
    base = {"steps": 4, "batch_size": 4, "device": "cpu", "n_samples": 4, "log_every": 1, "sample_every": 0,
            "checkpoint_every": 0, "seed": 0}
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def blobs() -> data.ImageSet:
    """8 generated 16 px pictures: a light disc of random colour and place on a dark ground."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    images = []
    for _ in range(8):
        cy, cx = torch.rand(2, generator=g) * 8 + 4
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < 16).float()
        colour = torch.rand(3, 1, 1, generator=g) * 155 + 100
        images.append((disc * colour + 20).clamp(0, 255).to(torch.uint8))
    return data.ImageSet(torch.stack(images), [f"blob{i}" for i in range(8)])


# ----------------------------------------------------------------------------- presets


@pytest.mark.parametrize(("preset", "top_channels"), [("cpu", 64), ("64", 256), ("128", 128)])
def test_presets_shapes_and_ranges(preset, top_channels):
    torch.manual_seed(0)
    model = stylegan.Model(stylegan.Config(preset=preset)).eval()
    size = model.config.image_size
    assert model.num_ws == 2 * int(math.log2(size)) - 2  # 10 at 64 px, 12 at 128
    # StyleGAN2-ADA's widths: min(channel_base // res, channel_max)
    assert model.generator.synthesis.get_submodule(f"b{size}").conv1.weight.shape == (top_channels, top_channels, 3, 3)
    assert model.discriminator.get_submodule(f"b{size}").fromrgb.weight.shape == (top_channels, 3, 1, 1)
    z = model.sample_latent(2, generator=torch.Generator().manual_seed(1))
    images = model.generate(z)
    assert images.shape == (2, 3, size, size) and torch.isfinite(images).all()
    assert images.abs().max() <= 1 and images.std() > 0.05
    assert model.discriminator(images).shape == (2,) and model.score(images).shape == (2,)


def test_the_256_preset_builds_and_draws():
    model = stylegan.Model(stylegan.Config(preset="256")).eval()
    assert model.num_ws == 14 and model.generator.synthesis.b256.conv1.weight.shape == (64, 64, 3, 3)
    x = model.generate(model.sample_latent(1))
    assert x.shape == (1, 3, 256, 256) and model.score(x).shape == (1,)


def test_the_presets_are_stylegan2_ada_auto():
    for preset, batch in (("64", 32), ("128", 32), ("256", 16)):
        cfg = stylegan.Config(preset=preset)
        res = int(preset)
        assert (cfg.image_size, cfg.z_dim, cfg.w_dim, cfg.mapping_layers) == (res, 512, 512, 2)
        assert (cfg.channel_base, cfg.channel_max, cfg.lr, cfg.mbstd_group) == (16384, 512, 0.0025, 4)
        assert cfg.r1_gamma == pytest.approx(0.0002 * res**2 / batch) and cfg.ema_kimg == batch * 10 / 32
        assert cfg.conv_clamp == 256
    cpu = stylegan.Config()
    assert cpu.preset == "cpu" and (cpu.image_size, cpu.z_dim, cpu.channel_max) == (64, 128, 128)
    assert cpu.conv_clamp == 0  # the clamp guards fp16; the CPU preset trains in float32 or bf16
    assert [stylegan.channels(cpu, r) for r in cpu.resolutions] == [128, 128, 128, 128, 64]


def test_overrides_win_and_every_effective_field_lands_in_config_json(tmp_path):
    cfg = stylegan.Config(preset="128", channel_max=64, r1_gamma=1.0)
    assert cfg.image_size == 128 and cfg.channel_max == 64 and cfg.r1_gamma == 1.0 and cfg.z_dim == 512
    assert stylegan.Config(image_size=32).r1_gamma == pytest.approx(0.0002 * 32**2 / 32)  # gamma follows the size
    assert stylegan.Config(preset="256", r1_gamma=0).r1_gamma == 0.0  # 0: no R1
    again = stylegan.Config(**dataclasses.asdict(cfg))
    assert again == cfg
    model = stylegan.Model(tiny())
    written = json.loads((hub.save_pretrained(model, tmp_path / "m") / "config.json").read_text())
    assert written == {"technique": "stylegan", **dataclasses.asdict(model.config)}
    assert written["preset"] == "cpu" and written["image_size"] == 16 and written["r1_gamma"] == pytest.approx(0.0002 * 16**2 / 32)
    assert None not in written.values()


@pytest.mark.parametrize(("bad", "field"), [({"preset": "512"}, "preset"), ({"image_size": 48}, "image_size"),
                                            ({"image_size": 4}, "image_size"), ({"channel_base": 8}, "channel_base"),
                                            ({"mbstd_channels": 3}, "mbstd_channels"), ({"pl_decay": 2}, "pl_decay"),
                                            ({"ema_kimg": 0}, "ema_kimg"), ({"noise": 1}, None)])
def test_bad_configs_are_refused_naming_the_field(bad, field):
    if field is None:
        with pytest.raises(TypeError):  # an unknown field
            stylegan.Config(**bad)
        return
    with pytest.raises(InputError, match=f"^model config: {field} must be "):
        stylegan.Config(**{**TINY, **bad} if field != "image_size" else bad)


def test_the_preset_fields_refuse_what_every_number_field_refuses():
    """The registry test fuzzes fields annotated int / float; these are ``int | None`` (None:
    the preset's), so they are fuzzed here."""
    optional = [f for f in dataclasses.fields(stylegan.Config) if f.type.endswith("| None")]
    assert {f.name for f in optional} == {"image_size", "z_dim", "w_dim", "mapping_layers", "channel_base",
                                          "channel_max", "r1_gamma", "ema_kimg", "conv_clamp"}
    for f in optional:
        bads = (True, "8", 8.5, math.nan, math.inf, -1) if f.type.startswith("int") else \
            (True, "0.1", math.nan, math.inf, -1.0, 10**400)
        for bad in bads:
            with pytest.raises(InputError, match=f"^model config: {f.name} must be "):
                stylegan.Config(**{f.name: bad})


def test_stylegan_is_registered():
    assert models.get("stylegan") is stylegan
    assert models.technique_of(stylegan.Model(tiny())) == "stylegan"


# ----------------------------------------------------------------------------- layers


def test_resampling_is_the_fir_filter_as_defined():
    """The fast paths (transposed / strided convs) equal their definitions: up-sampling as zeros
    between the pixels, pad (2, 1), the [1, 3, 3, 1] filter x 4; an up conv as the 3x3 conv of
    the up-sampled image carried one pixel past each border (pad (3, 2)); a down conv as the 3x3
    conv carried one pixel past each border, then the filter and every 2nd pixel."""
    torch.manual_seed(0)
    f = stylegan.fir_filter()
    assert f.shape == (4, 4) and torch.isclose(f.sum(), torch.tensor(1.0))
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    stuffed = torch.zeros(2, 3, 10, 10, dtype=torch.float64)
    stuffed[..., ::2, ::2] = x
    want = F.conv2d(F.pad(stuffed, (2, 1, 2, 1)), (f.double() * 4)[None, None].repeat(3, 1, 1, 1), groups=3)
    up = stylegan.upsample2d(x, f.double())
    assert up.shape == (2, 3, 10, 10) and torch.allclose(up, want)
    assert torch.allclose(stylegan.upsample2d(torch.ones(1, 1, 6, 6), f)[..., 2:-2, 2:-2], torch.tensor(1.0))

    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    styles = torch.rand(2, 3, dtype=torch.float64) + 0.5
    got = stylegan.modulated_conv2d(x, w, styles, demodulate=False, up=True, resample_filter=f.double())
    stuffed[..., ::2, ::2] = x * styles[:, :, None, None]
    wide = F.conv2d(F.pad(stuffed, (3, 2, 3, 2)), (f.double() * 4)[None, None].repeat(3, 1, 1, 1), groups=3)
    assert wide.shape[-1] == 12 and torch.allclose(got, F.conv2d(wide, w))

    layer = stylegan.Conv2dLayer(3, 4, 3, down=True, activation=False).double()
    y = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    wide = F.conv2d(y, layer.weight * layer.weight_gain, padding=2) + layer.bias.view(1, -1, 1, 1)  # 10 x 10
    assert torch.allclose(layer(y), stylegan.blur(wide, f.double(), pad=0, stride=2))
    skip = stylegan.Conv2dLayer(3, 4, 1, bias=False, activation=False, down=True).double()
    assert torch.allclose(skip(y), stylegan.blur(F.conv2d(y, skip.weight * skip.weight_gain), f.double(), 1, stride=2))


def test_demodulation_normalises_the_output_variance():
    """Unit-variance input -> unit-variance output of every channel, whatever the style's scale
    (StyleGAN2 Eq. 3); without demodulation the variance grows with the square of the scale."""
    torch.manual_seed(0)
    x = torch.randn(2, 64, 48, 48)
    w = torch.randn(32, 64, 3, 3)
    for scale in (0.01, 1.0, 30.0):
        styles = scale * (torch.rand(2, 64) + 0.1)
        y = stylegan.modulated_conv2d(x, w, styles)[..., 1:-1, 1:-1]  # the interior: no zero padding
        var = y.var(dim=(2, 3))  # (N, out): every image's every channel
        assert (var - 1).abs().max() < 0.15, (scale, var.min(), var.max())
        raw = stylegan.modulated_conv2d(x, w, styles, demodulate=False)[..., 1:-1, 1:-1].var()
        assert raw > 10 * scale**2 and raw < 1000 * scale**2


def test_minibatch_stddev_groups():
    layer = stylegan.MinibatchStdLayer(group_size=4)
    same = torch.randn(1, 5, 4, 4).repeat(4, 1, 1, 1)
    out = layer(same)
    assert out.shape == (4, 6, 4, 4) and out[:, 5].abs().max() < 1e-3  # no spread in the group
    assert layer(torch.randn(6, 5, 4, 4)).shape == (6, 6, 4, 4)  # 6 images: groups of 3
    diff = layer(torch.randn(8, 5, 4, 4) * 3)[:, 5]
    assert diff.min() > 1 and torch.equal(diff[:2], diff[4:6])  # image n in group n mod 2


# ----------------------------------------------------------------------------- the model's uses


@pytest.fixture(scope="module")
def model() -> stylegan.Model:
    torch.manual_seed(0)
    m = stylegan.Model(tiny()).eval()
    with torch.no_grad():
        m.generator.mapping.w_avg.normal_()  # a trained run's average is not 0
        for p in m.generator.synthesis.parameters():
            if p.ndim == 0:  # noise strengths
                p.fill_(0.5)
    return m


def test_truncation_psi_0_is_the_average_face_for_every_seed(model):
    faces = [model.generate(model.sample_latent(1, generator=torch.Generator().manual_seed(s)), psi=0)
             for s in (0, 1, 2, 3)]
    average = model.synthesis(model.w_avg.expand(1, model.num_ws, -1))
    assert all(torch.equal(f, average) for f in faces)
    assert not torch.equal(model.generate(model.sample_latent(1, generator=torch.Generator().manual_seed(0))),
                           average)
    z = model.sample_latent(2, generator=torch.Generator().manual_seed(5))
    ws = model.mapping(z, psi=0, cutoff=4)  # the first four layers only
    assert torch.equal(ws[:, :4], model.w_avg.expand(2, 4, -1)) and torch.equal(ws[:, 4:], model.mapping(z)[:, 4:])
    half = model.mapping(z, psi=0.5)
    assert torch.allclose(half, (model.mapping(z) + model.w_avg) / 2, atol=1e-6)
    for bad in (math.nan, "0.7", 100):
        with pytest.raises(ValueError, match="psi"):
            model.generate(z, psi=bad)
    with pytest.raises(ValueError, match="cutoff"):
        model.generate(z, psi=0.5, cutoff=model.num_ws + 1)


def test_mixing_with_the_same_source_reproduces_it(model):
    z = model.sample_latent(3, generator=torch.Generator().manual_seed(7))
    ws_a, ws_b = model.mapping(z[:2]), model.mapping(z[2:])
    for layers in ("coarse", "middle", "fine", [0, 5], range(model.num_ws)):
        assert torch.equal(model.synthesis(model.mix(ws_a, ws_a, layers)), model.synthesis(ws_a))
    assert torch.equal(model.mix(ws_a, ws_b, range(model.num_ws)), ws_b.expand(2, -1, -1))
    mixed = model.mix(ws_a, ws_b, "coarse")
    assert torch.equal(mixed[:, :4], ws_b[:, :4].expand(2, -1, -1)) and torch.equal(mixed[:, 4:], ws_a[:, 4:])
    assert not torch.equal(model.synthesis(mixed), model.synthesis(ws_a))
    # 16 px: 6 styles, at 4, 4, 8, 8, 16, 16 px
    assert model.style_layers("coarse") == [0, 1, 2, 3] and model.style_layers("fine") == []
    # 64 px (10 styles): the groups fitted to the size, each visibly changing a face
    big = stylegan.Model(stylegan.Config())
    assert [big.style_layers(g) for g in ("coarse", "middle", "fine")] == [[0, 1, 2, 3], [4, 5], [6, 7, 8, 9]]
    # from 128 px, and at 1024 px, the paper's Figure 3 groups
    assert stylegan.style_groups(1024) == stylegan.style_groups(128) == {"coarse": (4, 8), "middle": (16, 32),
                                                                         "fine": (64, stylegan.MAX_SIZE)}
    with pytest.raises(ValueError, match="style layers are indices 0 to 5"):
        model.mix(ws_a, ws_b, [6])
    with pytest.raises(ValueError, match="coarse, middle, fine"):
        model.mix(ws_a, ws_b, "top")


def test_noise_modes(model):
    z = model.sample_latent(2, generator=torch.Generator().manual_seed(3))
    const = model.generate(z)
    assert torch.equal(const, model.generate(z, noise_mode="const"))
    assert not torch.equal(const, model.generate(z, noise_mode="none"))
    a = model.generate(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(1))
    b = model.generate(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(1))
    c = model.generate(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, const)
    with pytest.raises(ValueError, match="noise_mode"):
        model.generate(z, noise_mode="loud")


def test_w_avg_moves_only_in_training_mappings():
    m = stylegan.Model(tiny())
    z = torch.randn(4, 8)
    m.generator.mapping(z)
    assert torch.equal(m.w_avg, torch.zeros(8))
    w = m.generator.mapping(z, update_w_avg=True)[:, 0]
    assert torch.allclose(m.w_avg, 0.005 * w.mean(0))  # lerp(mean w, w_avg, beta 0.995) from 0
    assert m.generator.mapping.fc0.weight.std() > 50  # stored N(0, 1) / lr multiplier 0.01


# ----------------------------------------------------------------------------- training


def test_lazy_regularisation_adjusts_adam():
    step = stylegan.TrainStep(stylegan.Model(tiny(pl_interval=4, r1_interval=16)), tiny(pl_interval=4, r1_interval=16))
    g, d = step.opt_g.param_groups[0], step.opt_d.param_groups[0]
    assert g["lr"] == pytest.approx(0.0025 * 4 / 5) and g["betas"] == (0.0, pytest.approx(0.99 ** 0.8))
    assert d["lr"] == pytest.approx(0.0025 * 16 / 17) and d["betas"][1] == pytest.approx(0.99 ** (16 / 17))
    off = tiny(pl_weight=0, r1_gamma=0)
    plain = stylegan.TrainStep(stylegan.Model(off), off)
    assert plain.opt_g.param_groups[0]["lr"] == plain.opt_d.param_groups[0]["lr"] == 0.0025


def test_the_ema_half_life_is_in_images():
    cfg = tiny(ema_kimg=10.0, ema_rampup=0.05)
    step = stylegan.TrainStep(stylegan.Model(cfg), cfg)
    assert step.ema_decay(0, 32) == 0  # the EMA starts as G
    late = step.ema_decay(3_200_000, 32)
    assert late ** (10_000 / 32) == pytest.approx(0.5)  # after 10k images the old weights count half
    early = step.ema_decay(3_200, 32)  # ramp-up: half-life 0.05 * 3,200 images
    assert early ** (160 / 32) == pytest.approx(0.5)


def test_an_init_run_goes_on_with_the_models_ema_ramp(blobs, tmp_path):
    """The EMA ramp-up counts the images the --init model had seen (8 here): the first step of the
    new run keeps 0.5 ** (4 / 8) of the exported EMA, not none of it (a fresh run's step 0)."""
    cfg = tiny(ema_kimg=0.01, ema_rampup=1.0)  # half-life min(10, images seen) images
    exported = Trainer("stylegan", blobs, tmp_path / "a", cfg, tiny_train(steps=2)).run()
    warm = Trainer("stylegan", blobs, tmp_path / "b", cfg, tiny_train(steps=1, warmup=0), init=exported)
    ema0 = {k: v.clone() for k, v in warm.ema.module.named_parameters()}
    warm.run()
    g1, ema1 = dict(warm.model.generator.named_parameters()), dict(warm.ema.module.named_parameters())
    name = "synthesis.b4.conv1.weight"
    moved = (ema0[name] - g1[name]).abs() > 1e-4
    kept = ((ema1[name] - g1[name]) / (ema0[name] - g1[name]))[moved]
    assert moved.sum() > 10 and kept.detach() == pytest.approx(0.5 ** (4 / 8), abs=1e-3)


def test_a_tiny_run_trains_with_both_regularisers(blobs, tmp_path):
    """4 steps with R1 every 2nd and path length every 3rd step: finite losses, the regularisers
    really computed, w_avg and pl_mean moved, a loadable checkpoint and a sample grid."""
    trainer = Trainer("stylegan", blobs, tmp_path / "run", tiny(), tiny_train(steps=4, sample_every=4))
    seen = []
    trainer.run(progress=lambda s: seen.append(dict(s["losses"])))
    assert len(seen) == 4
    for losses in seen:
        assert {"loss_d", "loss_g", "loss_r1", "loss_pl", "pl_mean"} <= losses.keys()
        assert all(math.isfinite(v) for v in losses.values()), losses
    assert seen[0]["loss_r1"] > 0 and seen[0]["loss_pl"] > 0 and seen[0]["pl_mean"] > 0  # step 0 does both
    assert seen[1]["loss_r1"] == seen[0]["loss_r1"] and seen[2]["loss_r1"] != seen[1]["loss_r1"]  # steps 0, 2
    assert seen[2]["loss_pl"] == seen[0]["loss_pl"] and seen[3]["loss_pl"] != seen[2]["loss_pl"]  # steps 0, 3
    assert trainer.model.w_avg.abs().sum() > 0 and trainer.ema.module.mapping.w_avg.abs().sum() > 0
    model = hub.load_folder(latest_checkpoint(tmp_path / "run"))
    assert isinstance(model, stylegan.Model) and not model.training
    images = model.generate(model.sample_latent(2))
    assert images.shape == (2, 3, 16, 16) and torch.isfinite(images).all()
    assert (tmp_path / "run" / "samples" / "latest.png").is_file()


def test_save_and_load_round_trip_is_exact(model, tmp_path):
    folder = hub.save_pretrained(model, tmp_path / "m")
    loaded = hub.load_folder(folder)
    assert loaded.config == model.config and models.technique_of(loaded) == "stylegan"
    _assert_tree_equal(model.state_dict(), loaded.state_dict())
    assert "generator.synthesis.b8.conv0.resample_filter" not in loaded.state_dict()  # computed, not stored
    z = model.sample_latent(3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model.generate(z, psi=0.7, cutoff=2), loaded.generate(z, psi=0.7, cutoff=2))
    images = model.generate(z)
    assert torch.equal(model.score(images), loaded.score(images))


def test_a_generator_only_copy_draws_the_same_and_cannot_train(model, tmp_path):
    """``facegan export --generators-only``: no D stored, the same faces, training and scoring refused."""
    slim = model.without_discriminators()
    z = model.sample_latent(3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(slim.generate(z, psi=0.7), model.generate(z, psi=0.7))
    full = hub.save_pretrained(model, tmp_path / "full")
    loaded = hub.load_folder(hub.save_pretrained(slim, tmp_path / "slim"))
    assert loaded.discriminator is None and loaded.config.discriminators is False
    assert not any(k.startswith("discriminator.") for k in loaded.state_dict())
    assert torch.equal(loaded.generate(z, psi=0.7), model.generate(z, psi=0.7))
    assert (tmp_path / "slim" / hub.WEIGHTS_NAME).stat().st_size < (full / hub.WEIGHTS_NAME).stat().st_size
    with pytest.raises(ValueError, match="generator-only .* cannot be trained"):
        stylegan.TrainStep(loaded, loaded.config)
    with pytest.raises(ValueError, match="no D to score with"):
        loaded.score(model.generate(z))


@pytest.mark.parametrize("diffaugment", [False, True])
def test_resume_is_exact(blobs, tmp_path, diffaugment):
    """4 steps straight == 2 steps, checkpoint, a new Trainer(resume=True), 2 more: bit for bit
    (R1 at steps 0 and 2, path length at 0 and 3: both intervals cross the resume)."""
    cfg = tiny(diffaugment=diffaugment)
    straight = Trainer("stylegan", blobs, tmp_path / "a", cfg, tiny_train(steps=4))
    straight.run()
    Trainer("stylegan", blobs, tmp_path / "b", cfg, tiny_train(steps=2)).run()
    torch.manual_seed(999)  # the checkpoint, not the process, must carry the RNG
    resumed = Trainer("stylegan", blobs, tmp_path / "b", cfg=TrainConfig(steps=4), resume=True)
    assert resumed.step == 2 and resumed.model_config == cfg and resumed.step_fn.step == 2
    resumed.run()
    _assert_tree_equal(straight.model.state_dict(), resumed.model.state_dict(), "model")
    _assert_tree_equal(straight.ema.module.state_dict(), resumed.ema.module.state_dict(), "ema")
    _assert_tree_equal(straight.step_fn.state_dict(), resumed.step_fn.state_dict(), "step")
    a = (tmp_path / "a" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    b = (tmp_path / "b" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    assert a == b
    lines = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4]


def test_compile_keeps_the_regularisers_eager(blobs):
    """``--compile``: the G and D phases run torch.compile'd (AOTAutograd with the eager backend
    here, which needs no C++ compiler), the R1 and path-length steps eager (compiled graphs have
    no double backward): a step with both regularisers runs and gives eager's numbers."""
    cfg = tiny()
    real = (blobs.images[:4].float() / 127.5 - 1)
    nets = []
    for compiled in (False, True):
        torch.manual_seed(0)
        model = stylegan.Model(cfg)
        step = stylegan.TrainStep(model, cfg)
        if compiled:
            step.compile(backend="aot_eager")
        losses = [step((real, None), contextlib.nullcontext) for _ in range(2)]  # step 0: R1 and PL
        assert losses[0]["loss_r1"] > 0 and losses[0]["loss_pl"] > 0
        nets.append((model, losses))
    (eager, eager_losses), (comp, comp_losses) = nets
    for key in ("loss_g", "loss_d", "loss_r1", "loss_pl"):
        assert comp_losses[1][key].item() == pytest.approx(eager_losses[1][key].item(), rel=1e-4, abs=1e-6), key
    for (name, a), b in zip(eager.state_dict().items(), comp.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name


def test_bf16_autocast_trains(blobs, tmp_path):
    """The Trainer's bf16 autocast (the GPU default, ``cpu_amp`` here): both regularisers' double
    backward passes and the float32 demodulation run, and the losses stay finite."""
    trainer = Trainer("stylegan", blobs, tmp_path / "run", tiny(), tiny_train(steps=2, cpu_amp=True))
    trainer.run()
    assert all(math.isfinite(v) for v in trainer.status["losses"].values()), trainer.status["losses"]
    assert trainer.status["losses"]["loss_r1"] > 0 and trainer.status["losses"]["loss_pl"] > 0
