"""The explorer API: exact float32 path, the fast bfloat16 path, ranking, offsets, morphs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facegan import latent
from facegan.explorer import Explorer
from facegan.models import dcgan


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = dcgan.Model(dcgan.Config(ngf=8, ndf=8))
    # Non-trivial BN statistics, so eval mode is not the identity on them.
    for bn in m.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    return m.eval()


def test_float32_explorer_is_the_model(model):
    ex = Explorer(model, dtype="float32")
    codes = latent.random_codes(5, 16, seed=1)
    z = torch.stack([latent.code_to_z(c) for c in codes])
    with torch.no_grad():
        assert torch.equal(ex.generate(ex.z(codes)), model.generate(z))


def test_bfloat16_explorer_is_close_and_leaves_the_model_alone(model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    exact = Explorer(model, dtype="float32")
    fast = Explorer(model, dtype="bfloat16")
    codes = latent.random_codes(16, 16, seed=2)
    a, b = exact.generate(exact.z(codes)), fast.generate(fast.z(codes))
    assert b.dtype == torch.float32 and b.shape == a.shape
    assert (a - b).abs().max().item() * 127.5 < 4  # a few 1/255 levels at most
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert next(model.parameters()).dtype == torch.float32


def test_rank_is_sorted_and_keeps_codes_with_their_faces(model):
    ex = Explorer(model, dtype="float32")
    codes = latent.random_codes(12, 16, seed=3)
    r = ex.rank(codes)
    assert sorted(r.codes) == sorted(codes)
    assert r.scores == sorted(r.scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in r.scores)
    # each image is the face of the code beside it, and its score is D's score of it
    for code, score, image in zip(r.codes, r.scores, r.images):
        assert torch.equal(image, ex.generate(ex.z([code]))[0])
        assert abs(model.score(image[None]).item() - score) < 1e-6


def test_steer_moves_codes_by_the_offset(model):
    ex = Explorer(model, dtype="float32")
    codes = latent.random_codes(4, 16, seed=4)
    assert ex.steer(codes, ["ff" * 16], ["00" * 16], 0.0) == codes
    moved = ex.steer(["80" * 16], ["c0" * 16], ["40" * 16], 1.0)[0]
    # (0xc0 - 0x40) = 128 bytes = 1.004 in z, added to 0x80
    assert latent.code_to_bytes(moved) == [255] * 16


def test_morph_writes_a_gif_and_an_mp4(model, tmp_path):
    ex = Explorer(model)
    gif, mp4 = ex.morph(latent.random_codes(3, 16, seed=5), steps=4, mode="lerp", loop=False, size=64,
                        out_dir=tmp_path)
    with Image.open(gif) as im:
        assert im.n_frames == 2 * 4 + 1  # 2 segments of 4 frames, plus the last face
        assert im.size == (64, 64)
    assert mp4.stat().st_size > 0
    frames = ex.morph_frames(latent.random_codes(2, 16, seed=6), steps=5, loop=True, size=64)
    assert frames.shape == (10, 64, 64, 3) and frames.dtype == np.uint8


def test_exact_explorer_draws_in_the_models_own_layout():
    """exact=True (the CLI's mode): the model's float32 forward in its contiguous layout, bit for bit
    what a fresh copy of the model draws; the fast path may differ in the last bits, never more than 1/255."""
    import copy

    torch.manual_seed(1)
    m = dcgan.Model(dcgan.Config(ngf=16, ndf=8)).eval()
    reference = copy.deepcopy(m)
    ex = Explorer(m, exact=True)
    assert ex.dtype == torch.float32
    assert all(p.is_contiguous() for p in ex.model.parameters())
    codes = latent.random_codes(6, 16, seed=4)
    with torch.no_grad():
        want = reference.generate(latent.codes_to_z(codes, 16, "uniform"))
    assert torch.equal(ex.generate(ex.z(codes)), want)
    fast = Explorer(copy.deepcopy(reference), dtype="float32")
    assert (fast.generate(fast.z(codes)) - want).abs().max() * 127.5 < 1
    with pytest.raises(ValueError, match="an exact drawing is float32"):
        Explorer(m, dtype="bfloat16", exact=True)


def test_acgan_grid_exact_and_steered_codes():
    """ClassGrid(exact=True).draw is the model's own grid; its steer is the Explorer's offset rule."""
    import copy

    from facegan.classgrid import ClassGrid
    from facegan.models import acgan

    torch.manual_seed(2)
    m = acgan.Model(acgan.Config(nz=8, ngf=8, ndf=8, classes=["red", "blue", "green"])).eval()
    reference = copy.deepcopy(m)
    cg = ClassGrid(m, exact=True)
    hexes = latent.random_codes(3, 8, seed=5)
    with torch.no_grad():
        want = reference.grid(latent.codes_to_z(hexes, 8, m.config.prior), reference.class_index(["blue", "red"]))
    assert torch.equal(cg.draw(["blue", "red"], hexes), want)
    # steering: +1 * (c0 - 40) from 80 gives c0 per byte; strength 0 leaves the codes as they are
    assert cg.steer(["80" * 8], ["c0" * 8], ["40" * 8], 1.0) == Explorer(dcgan.Model(dcgan.Config(nz=8, ngf=8, ndf=8))).steer(
        ["80" * 8], ["c0" * 8], ["40" * 8], 1.0)
    assert cg.steer(hexes, ["ff" * 8], ["00" * 8], 0.0) == hexes
