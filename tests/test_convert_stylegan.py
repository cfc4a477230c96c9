"""StyleGAN2 checkpoints -> facegan: rosinality/stylegan2-pytorch .pt files (exact outputs against a
reference forward pass written from its model.py) and stylegan2-ada-pytorch network pickles (read
without running the code they carry), the CLI, and clear one-line refusals."""

from __future__ import annotations

import argparse
import json
import math
import pickle
import re
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facegan import cli, hub, models
from facegan.convert import stylegan as conv
from facegan.hub import CheckpointError
from facegan.models import stylegan

LR_MLP = 0.01  # rosinality's lr_mlp
SQRT2 = math.sqrt(2)


# ----------------------------------------------------------------------------- rosinality's networks
# A functional forward pass over a state_dict in rosinality's layout, written from its model.py
# (Generator, Discriminator, their layers) and op/upfirdn2d.py's native path.


def make_kernel() -> torch.Tensor:
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """Zeros after each pixel (up), zero padding (pad0, pad1) on each axis, a true convolution with
    ``kernel`` (correlation with it flipped), every ``down``-th pixel."""
    n, c, h, w = x.shape
    if up > 1:
        y = x.new_zeros(n, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    k = kernel.flip([0, 1])[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, k, groups=c)[:, :, ::down, ::down]


def equal_linear(x, sd, name, lr_mul=1.0, act=False):
    w, b = sd[f"{name}.weight"], sd[f"{name}.bias"]
    out = F.linear(x, w * (1 / math.sqrt(w.shape[1])) * lr_mul)
    if act:  # fused_leaky_relu(out, bias * lr_mul)
        return F.leaky_relu(out + b * lr_mul, 0.2) * SQRT2
    return out + b * lr_mul


def modulated_conv(x, sd, name, style, demodulate=True, upsample=False):
    """ModulatedConv2d's fused path: per-image weights, grouped (transposed) conv."""
    weight = sd[f"{name}.weight"]  # (1, O, I, k, k)
    _, o, i, k, _ = weight.shape
    n, _, h, w = x.shape
    s = equal_linear(style, sd, f"{name}.modulation").view(n, 1, i, 1, 1)
    weight = (1 / math.sqrt(i * k * k)) * weight * s
    if demodulate:
        weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(n, o, 1, 1, 1)
    if upsample:
        weight = weight.transpose(1, 2).reshape(n * i, o, k, k)
        out = F.conv_transpose2d(x.reshape(1, n * i, h, w), weight, padding=0, stride=2, groups=n)
        out = out.view(n, o, *out.shape[2:])
        p = (4 - 2) - (k - 1)
        return upfirdn2d(out, sd[f"{name}.blur.kernel"], pad=((p + 1) // 2 + 2 - 1, p // 2 + 1))
    out = F.conv2d(x.reshape(1, n * i, h, w), weight.reshape(n * o, i, k, k), padding=k // 2, groups=n)
    return out.view(n, o, *out.shape[2:])


def styled_conv(x, sd, name, style, noise, upsample=False):
    out = modulated_conv(x, sd, f"{name}.conv", style, upsample=upsample)
    out = out + sd[f"{name}.noise.weight"] * noise
    return F.leaky_relu(out + sd[f"{name}.activate.bias"].view(1, -1, 1, 1), 0.2) * SQRT2


def to_rgb(x, sd, name, style, skip=None):
    out = modulated_conv(x, sd, f"{name}.conv", style, demodulate=False) + sd[f"{name}.bias"]
    if skip is not None:
        out = out + upfirdn2d(skip, sd[f"{name}.upsample.kernel"], up=2, pad=(2, 1))
    return out


def ros_mapping(sd, z):
    x = z * torch.rsqrt(torch.mean(z**2, dim=1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in sd:
        x = equal_linear(x, sd, f"style.{i}", lr_mul=LR_MLP, act=True)
        i += 1
    return x


def ros_generator(sd, styles, inject_index=None, truncation=1.0, truncation_latent=None):
    """Generator.forward(styles, inject_index, truncation, truncation_latent, randomize_noise=False)."""
    log_size = 2 + sum(1 for k in sd if k.startswith("to_rgbs.") and k.endswith(".conv.weight"))
    n_latent = log_size * 2 - 2
    styles = [ros_mapping(sd, s) for s in styles]
    noise = [sd[f"noises.noise_{i}"] for i in range((log_size - 2) * 2 + 1)]
    if truncation < 1:
        styles = [truncation_latent + truncation * (s - truncation_latent) for s in styles]
    if len(styles) < 2:
        latent = styles[0].unsqueeze(1).repeat(1, n_latent, 1)
    else:
        latent = torch.cat([styles[0].unsqueeze(1).repeat(1, inject_index, 1),
                            styles[1].unsqueeze(1).repeat(1, n_latent - inject_index, 1)], 1)
    out = sd["input.input"].repeat(latent.shape[0], 1, 1, 1)
    out = styled_conv(out, sd, "conv1", latent[:, 0], noise[0])
    skip = to_rgb(out, sd, "to_rgb1", latent[:, 1])
    i = 1
    for k in range(log_size - 2):
        out = styled_conv(out, sd, f"convs.{2 * k}", latent[:, i], noise[2 * k + 1], upsample=True)
        out = styled_conv(out, sd, f"convs.{2 * k + 1}", latent[:, i + 1], noise[2 * k + 2])
        skip = to_rgb(out, sd, f"to_rgbs.{k}", latent[:, i + 2], skip)
        i += 2
    return skip


def conv_layer(x, sd, name, k, downsample=False, activate=True):
    """ConvLayer: [Blur,] EqualConv2d (bias only without activation), FusedLeakyReLU (with bias)."""
    i = 0
    if downsample:
        p = (4 - 2) + (k - 1)
        x = upfirdn2d(x, sd[f"{name}.0.kernel"], pad=((p + 1) // 2, p // 2))
        i = 1
    w = sd[f"{name}.{i}.weight"]
    x = F.conv2d(x, w * (1 / math.sqrt(w.shape[1] * k * k)), stride=2 if downsample else 1,
                 padding=0 if downsample else k // 2)
    if activate:
        x = F.leaky_relu(x + sd[f"{name}.{i + 1}.bias"].view(1, -1, 1, 1), 0.2) * SQRT2
    return x


def ros_discriminator(sd, x):
    out = conv_layer(x, sd, "convs.0", 1)
    j = 1
    while f"convs.{j}.conv1.0.weight" in sd:
        y = conv_layer(conv_layer(out, sd, f"convs.{j}.conv1", 3), sd, f"convs.{j}.conv2", 3, downsample=True)
        skip = conv_layer(out, sd, f"convs.{j}.skip", 1, downsample=True, activate=False)
        out = (y + skip) / SQRT2
        j += 1
    batch, channel, height, width = out.shape
    group = min(batch, 4)
    stddev = out.view(group, -1, 1, channel, height, width)
    stddev = torch.sqrt(stddev.var(0, unbiased=False) + 1e-8)
    stddev = stddev.mean([2, 3, 4], keepdim=True).squeeze(2).repeat(group, 1, height, width)
    out = conv_layer(torch.cat([out, stddev], 1), sd, "final_conv", 3)
    out = equal_linear(out.view(batch, -1), sd, "final_linear.0", act=True)
    return equal_linear(out, sd, "final_linear.1")


def rosinality_state(size: int, z: int, n_mlp: int, chans: dict[int, int], seed: int):
    """Random g and d state_dicts in rosinality's key layout and shapes (its buffers included)."""
    g = torch.Generator().manual_seed(seed)

    def rn(*shape, scale=1.0, mean=0.0):
        return torch.randn(*shape, generator=g) * scale + mean

    sizes = [2**i for i in range(2, int(math.log2(size)) + 1)]
    G = {}
    for i in range(1, n_mlp + 1):  # EqualLinear stores randn / lr_mul
        G[f"style.{i}.weight"], G[f"style.{i}.bias"] = rn(z, z) / LR_MLP, rn(z, scale=20.0)

    def styled(name, cin, cout, up):
        G[f"{name}.conv.weight"] = rn(1, cout, cin, 3, 3)
        G[f"{name}.conv.modulation.weight"] = rn(cin, z)
        G[f"{name}.conv.modulation.bias"] = rn(cin, scale=0.2, mean=1.0)
        G[f"{name}.noise.weight"] = rn(1, scale=0.5)
        G[f"{name}.activate.bias"] = rn(cout, scale=0.2)
        if up:
            G[f"{name}.conv.blur.kernel"] = make_kernel() * 4

    def rgb(name, cin, up):
        G[f"{name}.conv.weight"] = rn(1, 3, cin, 1, 1)
        G[f"{name}.conv.modulation.weight"] = rn(cin, z)
        G[f"{name}.conv.modulation.bias"] = rn(cin, scale=0.2, mean=1.0)
        G[f"{name}.bias"] = rn(1, 3, 1, 1, scale=0.2)
        if up:
            G[f"{name}.upsample.kernel"] = make_kernel() * 4

    G["input.input"] = rn(1, chans[4], 4, 4)
    styled("conv1", chans[4], chans[4], False)
    rgb("to_rgb1", chans[4], False)
    for k, res in enumerate(sizes[1:]):
        styled(f"convs.{2 * k}", chans[res // 2], chans[res], True)
        styled(f"convs.{2 * k + 1}", chans[res], chans[res], False)
        rgb(f"to_rgbs.{k}", chans[res], True)
    for j in range(2 * len(sizes) - 1):
        res = sizes[(j + 1) // 2]
        G[f"noises.noise_{j}"] = rn(1, 1, res, res)

    D = {"convs.0.0.weight": rn(chans[size], 3, 1, 1), "convs.0.1.bias": rn(chans[size], scale=0.2)}
    for j, res in enumerate(sizes[:0:-1], start=1):
        cin, cout = chans[res], chans[res // 2]
        D.update({f"convs.{j}.conv1.0.weight": rn(cin, cin, 3, 3), f"convs.{j}.conv1.1.bias": rn(cin, scale=0.2),
                  f"convs.{j}.conv2.0.kernel": make_kernel(), f"convs.{j}.conv2.1.weight": rn(cout, cin, 3, 3),
                  f"convs.{j}.conv2.2.bias": rn(cout, scale=0.2), f"convs.{j}.skip.0.kernel": make_kernel(),
                  f"convs.{j}.skip.1.weight": rn(cout, cin, 1, 1)})
    c4 = chans[4]
    D.update({"final_conv.0.weight": rn(c4, c4 + 1, 3, 3), "final_conv.1.bias": rn(c4, scale=0.2),
              "final_linear.0.weight": rn(c4, c4 * 16), "final_linear.0.bias": rn(c4, scale=0.2),
              "final_linear.1.weight": rn(1, c4), "final_linear.1.bias": rn(1, scale=0.2)})
    return G, D


# 16 px (z 16, 3 mapping layers) and 32 px (z 8, 2 layers); channels min(base // res, max)
NETS = {16: (16, 3, {4: 16, 8: 16, 16: 8}), 32: (8, 2, {4: 8, 8: 8, 16: 6, 32: 3})}
ARGS = argparse.Namespace(size=16, latent=16, n_mlp=3, channel_multiplier=2, lr=0.0015, r1=5.0, batch=8,
                          path_regularize=2.0, mixing=0.8, d_reg_every=16, g_reg_every=4, path_batch_shrink=2,
                          augment=True, ckpt=None, wandb=False, iter=800000)


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    """rosinality files: train.py's 16 px checkpoint, convert_weight.py's 32 px {g_ema, latent_avg}
    (in torch.save's pre-1.6 format), and the states they hold."""
    folder = tmp_path_factory.mktemp("rosinality")
    z, n_mlp, chans = NETS[16]
    G, D = rosinality_state(16, z, n_mlp, chans, seed=1)
    g_train, _ = rosinality_state(16, z, n_mlp, chans, seed=2)
    optim = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(3)}},
             "param_groups": [{"lr": 0.0015, "betas": (0.0, 0.99), "eps": 1e-8, "params": [0]}]}
    torch.save({"g": g_train, "d": D, "g_ema": G, "g_optim": optim, "d_optim": optim, "args": ARGS,
                "ada_aug_p": 0.25}, folder / "010000.pt")
    z32, n32, chans32 = NETS[32]
    G32, _ = rosinality_state(32, z32, n32, chans32, seed=3)
    avg = torch.randn(1, z32, generator=torch.Generator().manual_seed(4))
    torch.save({"g_ema": G32, "latent_avg": avg[0]}, folder / "converted.pt", _use_new_zipfile_serialization=False)
    return folder, {16: (G, D), 32: (G32, avg[0])}


def zs(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def assert_same_as_rosinality(model, G, D=None, w_avg=None, n=4):
    """Plain, psi 0.7 truncation and style mixing (inject index 3), the fixed noise; D's scores."""
    dim = model.config.z_dim
    z1, z2 = zs(n, dim, 10), zs(n, dim, 11)
    avg = model.w_avg if w_avg is None else w_avg
    with torch.no_grad():
        want = ros_generator(G, [z1])
        got = model.generator.synthesis(model.mapping(z1), noise_mode="const")
        assert (got - want).abs().max() < 1e-4
        want_t = ros_generator(G, [z1], truncation=0.7, truncation_latent=avg[None])
        assert (model.generator.synthesis(model.mapping(z1, psi=0.7), noise_mode="const") - want_t).abs().max() < 1e-4
        want_m = ros_generator(G, [z1, z2], inject_index=3)
        ws = model.mix(model.mapping(z1), model.mapping(z2), range(3, model.num_ws))
        assert (model.generator.synthesis(ws, noise_mode="const") - want_m).abs().max() < 1e-4
        assert want.abs().max() > 0.1 and (want - want_m).abs().max() > 1e-2  # not trivially equal
        if D is not None:
            scores = ros_discriminator(D, want).flatten()
            assert (model.discriminator(want) - scores).abs().max() < 1e-4


# ----------------------------------------------------------------------------- rosinality: exact conversion


def test_a_rosinality_training_checkpoint_converts_exactly(ros):
    folder, nets = ros
    G, D = nets[16]
    model = conv.convert(folder / "010000.pt")
    c = model.config
    assert (c.image_size, c.z_dim, c.w_dim, c.mapping_layers, c.channel_base, c.channel_max) == (16, 16, 16, 3, 128, 16)
    assert [stylegan.channels(c, r) for r in c.resolutions] == [16, 16, 8]
    assert c.conv_clamp == 0 and c.mapping_lr == LR_MLP and c.mbstd_group == 4 and not model.training
    # train.py's options (ARGS) became the training config; the EMA's half-life 10000 / 32 steps of 8 images
    assert (c.lr, c.r1_gamma, c.style_mixing, c.r1_interval, c.pl_interval) == (0.0015, 5.0, 0.8, 16, 4)
    assert c.ema_kimg == pytest.approx(10 * 8 / 32) and c.ema_rampup == 0
    # no average w in the file: estimated as generate.py's mean_latent does, reproducibly
    g = torch.Generator().manual_seed(conv.W_AVG_SEED)
    want_avg = ros_mapping(G, torch.randn(conv.W_AVG_SAMPLES, 16, generator=g)).mean(0)
    torch.testing.assert_close(model.w_avg, want_avg, rtol=1e-5, atol=1e-5)
    assert model.converted_from["w_avg"].startswith("estimated")
    assert_same_as_rosinality(model, G, D)


def test_convert_weight_output_converts_with_its_latent_avg(ros):
    folder, nets = ros
    G, avg = nets[32]
    with pytest.warns(conv.UntrainedDiscriminatorWarning, match="no discriminator"):
        model = conv.convert(folder / "converted.pt")
    assert model.config.image_size == 32 and model.config.channel_base == 96 and model.config.channel_max == 8
    assert torch.equal(model.w_avg, avg) and model.converted_from["w_avg"] == "the file's latent_avg"
    assert_same_as_rosinality(model, G, w_avg=avg)


def test_an_old_file_without_noise_buffers_converts(tmp_path):
    """Before rosinality kept noises.noise_* in the state, files had none: fresh fixed noise, a warning."""
    G, D = rosinality_state(16, 16, 3, NETS[16][2], seed=6)
    torch.save({"g_ema": {k: v for k, v in G.items() if not k.startswith("noises.")}, "d": D}, tmp_path / "old.pt")
    with pytest.warns(UserWarning, match="no noises.noise_"):
        model = conv.convert(tmp_path / "old.pt")
    assert "none in the file" in model.converted_from["noise"]
    silent = {**G, **{k: torch.zeros_like(v) for k, v in G.items() if k.startswith("noises.")}}
    z = zs(2, 16, 3)
    with torch.no_grad():
        got = model.generator.synthesis(model.mapping(z), noise_mode="none")
        assert (got - ros_generator(silent, [z])).abs().max() < 1e-4


def test_the_up_convs_differ_from_facegans_by_a_flip_only():
    """Without the flip, the up-sampling conv of rosinality is not facegan's; with it, it is (no shift)."""
    G, _ = rosinality_state(16, 16, 3, NETS[16][2], seed=5)
    x, style = torch.randn(2, 16, 4, 4), torch.randn(2, 16)
    with torch.no_grad():
        want = modulated_conv(x, G, "convs.0.conv", style, upsample=True)
        s = equal_linear(style, G, "convs.0.conv.modulation")
        w = G["convs.0.conv.weight"][0]
        f = stylegan.fir_filter()
        flipped = stylegan.modulated_conv2d(x, w.flip([2, 3]), s, up=True, resample_filter=f)
        as_stored = stylegan.modulated_conv2d(x, w, s, up=True, resample_filter=f)
    assert (flipped - want).abs().max() < 1e-5
    assert (as_stored - want).abs().max() > 1e-2


def test_the_converted_model_trains_on(ros):
    folder, _ = ros
    model = conv.convert(folder / "010000.pt").train()
    step = stylegan.TrainStep(model, model.config)
    before = model.generator.synthesis.b8.conv0.weight.detach().clone()
    torch.manual_seed(0)
    losses = step((torch.rand(4, 3, 16, 16) * 2 - 1, None), lambda: torch.autocast("cpu", enabled=False))
    assert all(torch.isfinite(v) for v in losses.values()), losses
    assert not torch.equal(before, model.generator.synthesis.b8.conv0.weight)


# ----------------------------------------------------------------------------- stylegan2-ada-pytorch pickles
# A network pickle made for real: persistent objects whose __reduce__ names
# torch_utils.persistence._reconstruct_persistent_obj and carries (harmful) module source, as
# stylegan2-ada-pytorch's pickles carry training/networks.py; dnnlib.util.EasyDict for the kwargs.


def _fake_module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    for k, v in attrs.items():
        v.__module__, v.__qualname__ = name, k
        setattr(m, k, v)
    return m


def _reconstruct_persistent_obj(meta):  # what an ordinary pickle.load would call (it would exec module_src)
    raise AssertionError("never called: the test only pickles")


class EasyDict(dict):
    pass


class Fake:
    """A stylegan2-ada-pytorch persistent module, as its pickle presents it."""

    def __init__(self, class_name: str, state: dict, source: str):
        self.class_name, self.state, self.source = class_name, state, source

    def __reduce__(self):
        meta = {"type": "class", "version": 4, "module_src": self.source, "class_name": self.class_name,
                "state": self.state}
        return _reconstruct_persistent_obj, (meta,)


NEEDS_FILTER = (stylegan.SynthesisLayer, stylegan.SynthesisBlock, stylegan.Conv2dLayer, stylegan.DiscriminatorBlock)


def tree(module: nn.Module, source: str, init_kwargs=None) -> Fake:
    """``module`` as stylegan2-ada-pytorch pickles its networks: nn.Module's __dict__ state, every
    layer with its (persistent) resample_filter buffer."""
    buffers = OrderedDict((n, b.detach().clone()) for n, b in module.named_buffers(recurse=False))
    if isinstance(module, NEEDS_FILTER):
        buffers.setdefault("resample_filter", stylegan.fir_filter())
    state = {"training": False, "_parameters": OrderedDict((n, nn.Parameter(p.detach().clone()))
                                                           for n, p in module.named_parameters(recurse=False)),
             "_buffers": buffers, "_non_persistent_buffers_set": set(), "_backward_hooks": OrderedDict(),
             "_forward_hooks": OrderedDict(), "_modules": OrderedDict((n, tree(m, source))
                                                                      for n, m in module.named_children()),
             "_init_args": (), "_init_kwargs": init_kwargs if init_kwargs is not None else {}}
    state.update({k: v for k, v in vars(module).items()  # the layers' plain attributes (conv_clamp, group_size, ...)
                  if not k.startswith("_") and isinstance(v, (bool, int, float, str, type(None)))})
    return Fake(type(module).__name__, state, source)


# ----------------------------------------------------------------------------- stylegan2-ada-pytorch's G
# A functional forward pass over G_ema's flat state in stylegan2-ada-pytorch's names, written from
# its training/networks.py (MappingNetwork, SynthesisLayer, ToRGBLayer, SynthesisBlock) and
# torch_utils/ops (conv2d_resample, upfirdn2d, bias_act), independent of facegan.models: the
# up-sampling SynthesisLayer passes flip_weight=(up == 1)=False, and conv2d_resample's up=2 path
# calls conv_transpose2d with flip_weight=(not flip_weight)=True, i.e. the kernel as stored.


def nv_fc(x, sd, name, act, lr_mul=1.0):
    """FullyConnectedLayer: w * lr_mul / sqrt(in), b * lr_mul; bias_act lrelu (gain sqrt 2) or linear."""
    w, b = sd[f"{name}.weight"], sd[f"{name}.bias"]
    x = x @ (w * (lr_mul / math.sqrt(w.shape[1]))).t() + b * lr_mul
    return F.leaky_relu(x, 0.2) * SQRT2 if act else x


def nv_mapping(sd, z, num_ws, psi=1.0):
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()  # normalize_2nd_moment
    i = 0
    while f"mapping.fc{i}.weight" in sd:
        x = nv_fc(x, sd, f"mapping.fc{i}", act=True, lr_mul=0.01)
        i += 1
    x = x.unsqueeze(1).repeat(1, num_ws, 1)
    return sd["mapping.w_avg"].lerp(x, psi) if psi != 1 else x


def nv_upfirdn2d(x, f, up, pad, gain):
    """upfirdn2d's reference path: zeros after each pixel, pad (x0, x1, y0, y1), the filter (symmetric here)."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, list(pad))
    f = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, f, groups=c)


def nv_modulated_conv(x, weight, styles, demodulate, up, f=None):
    """modulated_conv2d, fused: per-image weights; conv2d_resample with padding kernel // 2."""
    out = []
    for n in range(x.shape[0]):  # groups = batch, one image at a time
        w = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            w = w * (w.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt().reshape(-1, 1, 1, 1)
        xn = x[n:n + 1]
        k = w.shape[-1]
        if up:  # px0 = 1 + (4 + 1) // 2 - (k - 1) = 1, px1 = 1 + (4 - 2) // 2 - (k - 2) = 1 for k = 3
            y = F.conv_transpose2d(xn, w.transpose(0, 1), stride=2)  # the kernel as stored
            out.append(nv_upfirdn2d(y, f, 1, [1, 1, 1, 1], gain=4))
        else:
            out.append(F.conv2d(xn, w, padding=k // 2))
    return torch.cat(out)


def nv_generator(sd, ws, clamp=None):
    """SynthesisNetwork(ws, noise_mode="const"); block b uses ws[idx : idx + num_conv + 1], idx += num_conv."""
    f = make_kernel()

    def act(x, b, gain=SQRT2, lrelu=True):
        x = x + b.reshape(1, -1, 1, 1)
        x = F.leaky_relu(x, 0.2) * gain if lrelu else x
        return x.clamp(-clamp * (gain if lrelu else 1), clamp * (gain if lrelu else 1)) if clamp else x

    def layer(x, name, w, up=False):
        styles = nv_fc(w, sd, f"{name}.affine", act=False)
        x = nv_modulated_conv(x, sd[f"{name}.weight"], styles, True, up, f)
        x = x + sd[f"{name}.noise_const"] * sd[f"{name}.noise_strength"]
        return act(x, sd[f"{name}.bias"])

    def torgb(x, name, w):
        wt = sd[f"{name}.weight"]
        styles = nv_fc(w, sd, f"{name}.affine", act=False) / math.sqrt(wt.shape[1])
        return act(nv_modulated_conv(x, wt, styles, False, False), sd[f"{name}.bias"], gain=1, lrelu=False)

    x = sd["synthesis.b4.const"].unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
    x = layer(x, "synthesis.b4.conv1", ws[:, 0])
    img = torgb(x, "synthesis.b4.torgb", ws[:, 1])
    idx, res = 1, 8
    while f"synthesis.b{res}.conv0.weight" in sd:
        b = f"synthesis.b{res}"
        x = layer(x, f"{b}.conv0", ws[:, idx], up=True)
        x = layer(x, f"{b}.conv1", ws[:, idx + 1])
        img = nv_upfirdn2d(img, f, 2, [2, 1, 2, 1], gain=4) + torgb(x, f"{b}.torgb", ws[:, idx + 2])
        idx, res = idx + 2, res * 2
    return img


def assert_same_as_nvlabs(model, sd, clamp, n=3, atol=1e-4):
    """Plain, psi 0.7, and W+ with the last styles from other faces: the converted model's pictures
    are stylegan2-ada-pytorch's (written above), and far from trivially so."""
    num_ws, dim = model.num_ws, model.config.z_dim
    z1, z2 = zs(n, dim, 20), zs(n, dim, 21)
    mixed = nv_mapping(sd, z1, num_ws).clone()
    mixed[:, 3:] = nv_mapping(sd, z2, num_ws)[:, 3:]
    with torch.no_grad():
        for ws in (nv_mapping(sd, z1, num_ws), nv_mapping(sd, z1, num_ws, psi=0.7), mixed):
            want = nv_generator(sd, ws, clamp)
            got = model.generator.synthesis(ws, noise_mode="const")
            assert want.abs().max() > 0.1
            assert (got - want).abs().max() <= atol, (got - want).abs().max()
        torch.testing.assert_close(model.mapping(z1, psi=0.7), nv_mapping(sd, z1, num_ws, psi=0.7),
                                   rtol=1e-5, atol=min(atol, 1e-3))


ADA_TINY = {"image_size": 16, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 128, "channel_max": 16,
            "conv_clamp": 256.0, "mbstd_group": 2}


def random_model(seed: int, **overrides) -> stylegan.Model:
    torch.manual_seed(seed)
    model = stylegan.Model(stylegan.Config(preset="64", **{**ADA_TINY, **overrides}))
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith(("bias", "noise_strength", "w_avg")):
                t.copy_(torch.randn(t.shape) * 0.3 + (1.0 if ".affine." in name else 0.0))
    return model.eval()


def network_pickle(model: stylegan.Model, source: str, c_dim: int = 0, with_d: bool = True,
                   kwargs: bool = True) -> bytes:
    c = model.config
    g_kwargs = EasyDict(z_dim=c.z_dim, w_dim=c.w_dim, c_dim=c_dim, img_resolution=c.image_size, img_channels=3,
                        mapping_kwargs=EasyDict(num_layers=c.mapping_layers),
                        synthesis_kwargs=EasyDict(channel_base=c.channel_base, channel_max=c.channel_max,
                                                  num_fp16_res=4, conv_clamp=256))
    d_kwargs = EasyDict(c_dim=c_dim, img_resolution=c.image_size, img_channels=3, architecture="resnet",
                        channel_base=c.channel_base, channel_max=c.channel_max, num_fp16_res=4, conv_clamp=256,
                        block_kwargs=EasyDict(), mapping_kwargs=EasyDict(),
                        epilogue_kwargs=EasyDict(mbstd_group_size=c.mbstd_group))
    g = tree(model.generator, source, g_kwargs if kwargs else None)
    data = {"G": g, "D": tree(model.discriminator, source, d_kwargs) if with_d else None, "G_ema": g,
            "augment_pipe": None,
            "training_set_kwargs": {"path": "faces.zip", "max_size": np.int64(70000), "xflip": np.bool_(False),
                                    "mean": np.zeros(3), "resolution": c.image_size}}
    fakes = {"torch_utils": types.ModuleType("torch_utils"),
             "torch_utils.persistence": _fake_module("torch_utils.persistence",
                                                     _reconstruct_persistent_obj=_reconstruct_persistent_obj),
             "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": _fake_module("dnnlib.util", EasyDict=EasyDict)}
    with pytest.MonkeyPatch.context() as mp:  # importable while pickling only
        for name, m in fakes.items():
            mp.setitem(sys.modules, name, m)
        return pickle.dumps(data)


@pytest.fixture(scope="module")
def ada(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ada")
    marker = folder / "MARKER"
    source = f"open({str(marker)!r}, 'w').write('ran')\n"  # what an ordinary unpickling would run
    model = random_model(7)
    (folder / "network-snapshot-000100.pkl").write_bytes(network_pickle(model, source))
    (folder / "g-only.pkl").write_bytes(network_pickle(model, source, with_d=False, kwargs=False))
    cond = random_model(8)
    (folder / "conditional.pkl").write_bytes(network_pickle(cond, source, c_dim=10))
    return folder, model, marker


def test_a_network_pickle_converts_without_running_its_code(ada):
    folder, source_model, marker = ada
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    assert str(marker).encode() in (folder / "network-snapshot-000100.pkl").read_bytes()  # the source is in there
    model = conv.convert(folder / "network-snapshot-000100.pkl")
    assert not marker.exists()  # ... and was never run
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    c = model.config
    assert (c.image_size, c.z_dim, c.mapping_layers, c.channel_base, c.channel_max) == (16, 8, 2, 128, 16)
    assert c.conv_clamp == 256 and c.mbstd_group == 2 and c.mapping_lr == 0.01
    assert model.converted_from["source"] == conv.NVLABS
    # the pictures are stylegan2-ada-pytorch's, from its layer semantics written in this test
    assert_same_as_nvlabs(model, g_state(source_model), clamp=256)
    # D's tensors are renamed as they are (its convs are correlations in both codes)
    ours, theirs = model.state_dict(), source_model.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours if k.startswith("discriminator."))


def g_state(model: stylegan.Model) -> dict[str, torch.Tensor]:
    """The flat G state the network pickle was written with (stylegan2-ada-pytorch's names)."""
    return {k.removeprefix("generator."): v.detach().clone() for k, v in model.state_dict().items()
            if k.startswith("generator.")}


def test_a_network_pickle_of_a_real_size_converts_exactly(tmp_path):
    """Wider channels and 32 px (4 up-sampling blocks), no clamp: the flip of every up conv matters."""
    source_model = random_model(9, image_size=32, channel_base=256, channel_max=32, conv_clamp=0.0, z_dim=16,
                                w_dim=16)
    (tmp_path / "n.pkl").write_bytes(network_pickle(source_model, "pass\n"))
    model = conv.convert(tmp_path / "n.pkl")
    assert_same_as_nvlabs(model, g_state(source_model), clamp=None)


def test_the_nvlabs_reference_sees_a_missing_flip(ada):
    """The check above fails on a converter that copies the up convs' kernels as stored."""
    folder, source_model, _ = ada
    model = conv.convert(folder / "network-snapshot-000100.pkl")
    with torch.no_grad():
        for res in model.config.resolutions[1:]:
            w = getattr(model.generator.synthesis, f"b{res}").conv0.weight
            w.copy_(w.flip([2, 3]))
    with pytest.raises(AssertionError):
        assert_same_as_nvlabs(model, g_state(source_model), clamp=256)


def test_a_pickle_without_d_or_init_kwargs_warns(ada):
    folder, source_model, _ = ada
    with pytest.warns(conv.UntrainedDiscriminatorWarning):
        model = conv.convert(folder / "g-only.pkl")
    assert model.config.conv_clamp == 256 and model.config.mapping_lr == 0.01  # from the layers' attributes
    assert_same_as_nvlabs(model, g_state(source_model), clamp=256)


def test_the_unpickler_refuses_any_other_global(tmp_path):
    marker = tmp_path / "MARKER"
    raw = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    (tmp_path / "evil.pkl").write_bytes(raw)
    with pytest.raises(CheckpointError, match=r"asks for os\.system, which facegan refuses"):
        conv.convert(tmp_path / "evil.pkl")

    class Evil:
        def __reduce__(self):
            return eval, (f"open({str(marker)!r}, 'w')",)

    (tmp_path / "eval.pkl").write_bytes(pickle.dumps({"G_ema": Evil()}))
    with pytest.raises(CheckpointError, match=r"builtins\.eval"):
        conv.convert(tmp_path / "eval.pkl")
    assert not marker.exists()


# ----------------------------------------------------------------------------- the CLI


def test_cli_round_trip_rosinality(ros, tmp_path, capsys):
    folder, nets = ros
    G, D = nets[16]
    src, out = folder / "010000.pt", tmp_path / "ckpt"
    assert cli.main(["convert", "stylegan", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert str(out) in printed.out and "16px" in printed.out and conv.ROSINALITY in printed.out
    assert "D converted" in printed.out and "warning" not in printed.err
    config = json.loads((out / "config.json").read_text())
    assert config["technique"] == "stylegan" and config["image_size"] == 16
    info = config["converted_from"]
    assert info["source"] == conv.ROSINALITY and info["file_sha256"] == hub.sha256_of(src)
    assert info["discriminator"] == "converted" and info["w_avg"].startswith("estimated")
    assert conv.ROSINALITY in (out / "README.md").read_text()
    model = hub.load_folder(out)
    assert models.technique_of(model) == "stylegan"
    assert_same_as_rosinality(model, G, D, n=2)


def test_cli_round_trip_network_pickle(ada, tmp_path, capsys):
    folder, source_model, marker = ada
    out = tmp_path / "ada"
    assert cli.main(["convert", "stylegan", str(folder / "network-snapshot-000100.pkl"), "--out", str(out),
                     "--fp16"]) == 0
    printed = capsys.readouterr()
    assert conv.NVLABS in printed.out and "fp16" in printed.out and printed.err == ""
    assert not marker.exists()
    model = hub.load_folder(out).float()
    assert_same_as_nvlabs(model, g_state(source_model), clamp=256, atol=3e-2)  # fp16 weights


def test_cli_warns_in_one_line_without_d(ros, tmp_path, capsys):
    folder, _ = ros
    assert cli.main(["convert", "stylegan", str(folder / "converted.pt"), "--out", str(tmp_path / "g")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("facegan: warning:") and "no discriminator" in err and len(err.splitlines()) == 1


# ----------------------------------------------------------------------------- refusals


def _bad_files(folder, ros_nets) -> dict:
    G, D = ros_nets[16]
    files = {
        "text.pt": b"hello, not a checkpoint\n",
        "other.pt": {"model": {"w": torch.zeros(2)}},
        "list.pt": [torch.zeros(1)],
        "missing.pt": {"g_ema": {k: v for k, v in G.items() if k != "convs.1.activate.bias"}},
        "extra.pt": {"g_ema": {**G, "convs.9.conv.weight": torch.zeros(1)}},
        "shape.pt": {"g_ema": {**G, "convs.1.conv.weight": torch.zeros(1, 8, 8, 5, 5)}},
        "nan.pt": {"g_ema": {**G, "conv1.activate.bias": torch.full((16,), float("nan"))}},
        "blur.pt": {"g_ema": {**G, "convs.0.conv.blur.kernel": torch.ones(4, 4)}},
        "channels.pt": {"g_ema": {**G, "to_rgbs.0.conv.weight": torch.zeros(1, 3, 12, 1, 1)}},
        "d-shape.pt": {"g_ema": G, "d": {**D, "final_linear.0.weight": torch.zeros(16, 100)}},
        "no-g.pkl": pickle.dumps({"G": 1}),
        "module.pt": nn.Linear(2, 2),
    }
    paths = {}
    for name, obj in files.items():
        paths[name] = folder / name
        if isinstance(obj, bytes):
            paths[name].write_bytes(obj)
        else:
            torch.save(obj, paths[name])
    return paths


@pytest.mark.parametrize(("name", "says"), [
    ("text.pt", r"neither a PyTorch file \(torch\.save\) nor a readable network pickle"),
    ("other.pt", r"has no g_ema: not a rosinality/stylegan2-pytorch checkpoint .*its keys are model"),
    ("list.pt", r"holds a list: not a rosinality/stylegan2-pytorch checkpoint"),
    ("missing.pt", r"lacks tensors of rosinality/stylegan2-pytorch's layout: convs\.1\.activate\.bias"),
    ("extra.pt", r"has tensors rosinality/stylegan2-pytorch's layout does not: convs\.9\.conv\.weight"),
    ("shape.pt", (r"g_ema convs\.1\.conv\.weight \(1, 8, 8, 5, 5\) \(facegan's "
                  r"generator\.synthesis\.b8\.conv1\.weight is \(16, 16, 3, 3\)\)")),
    ("nan.pt", r"NaN/inf values in g_ema conv1\.activate\.bias"),
    ("blur.pt", r"convs\.0\.conv\.blur\.kernel is not the \[1, 3, 3, 1\] blur kernel"),
    ("channels.pt", r"channels \(4 px: 16, 8 px: 12, 16 px: 8\) are not min\(channel_base // res, channel_max\)"),
    ("d-shape.pt", r"d final_linear\.0\.weight \(16, 100\) \(facegan's discriminator\.b4\.fc\.weight is \(16, 256\)\)"),
    ("no-g.pkl", r"has no G_ema: not a stylegan2-ada-pytorch network pickle"),
    ("module.pt", r"pickles Python objects \(torch\.nn\.modules\.linear\.Linear\)"),
    ("conditional", r"a class-conditional generator \(c_dim 10\); facegan's StyleGAN2 has no class input"),
    ("evil", r"asks for os\.system, which facegan refuses to load"),
    ("no-such.pt", r"no such file"),
])
def test_refusals_are_one_clear_line(ros, ada, tmp_path, capsys, name, says):
    paths = _bad_files(tmp_path, ros[1])
    paths["conditional"] = ada[0] / "conditional.pkl"
    paths["evil"] = tmp_path / "evil.pkl"
    paths["evil"].write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    path = paths.get(name, tmp_path / name)
    code = cli.main(["convert", "stylegan", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("facegan: error:") and len(err.strip().splitlines()) == 1, err
    assert re.search(says, err), err
    assert not (tmp_path / "out").exists()


def test_a_rosinality_file_with_code_in_its_args_is_refused_plainly(ros, tmp_path, capsys):
    """args holding a callable (os.system): refused, naming it, with no advice to turn the check off."""
    import os

    G, D = ros[1][16]
    torch.save({"g_ema": G, "d": D, "args": argparse.Namespace(size=16, hook=os.system)}, tmp_path / "evil.pt")
    code = cli.main(["convert", "stylegan", str(tmp_path / "evil.pt"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "was refused: it pickles Python objects" in err and "not just tensors and plain data" in err
    assert f"{os.system.__module__}.system" in err
    assert "weights_only" not in err and "trusted source" not in err and "False" not in err
    assert not (tmp_path / "out").exists()
