"""Latent codes: hex <-> z exactly, interpolation geometry, morph paths, offset vectors."""

from __future__ import annotations

import math
import statistics

import pytest
import torch

from facegan import latent
from facegan.latent import CodeError


def test_every_byte_value_round_trips_through_z():
    values = list(range(256))
    for start in range(0, 256, 16):  # 16 codes of 16 bytes cover all 256 values
        code = latent.bytes_to_code(values[start:start + 16])
        z = latent.code_to_z(code)
        assert z.shape == (16,) and z.dtype == torch.float32
        assert latent.z_to_code(z) == code
        assert latent.code_to_bytes(code) == values[start:start + 16]


def test_byte_mapping_endpoints_and_midpoint():
    z = latent.bytes_to_z([0, 255, 128, 127])
    assert z[0].item() == -1.0
    assert z[1].item() == 1.0
    assert abs(z[2].item() - (128 / 127.5 - 1)) < 1e-7
    assert latent.code_to_z("00" * 16).eq(-1).all()
    assert latent.code_to_z("ff" * 16).eq(1).all()
    # out-of-box latents clamp to the end bytes
    assert latent.z_to_code(torch.full((16,), 3.0)) == "ff" * 16
    assert latent.z_to_code(torch.full((16,), -3.0)) == "00" * 16


def test_code_tolerates_case_spaces_and_prefix():
    code = "82763953b2740fef4d321dde7af002f7"
    assert latent.code_to_bytes("0x" + code.upper()) == latent.code_to_bytes(code)
    assert latent.code_to_bytes(" ".join(code[i:i + 8] for i in range(0, 32, 8))) == latent.code_to_bytes(code)
    assert latent.code_to_bytes(code)[:2] == [0x82, 0x76]


@pytest.mark.parametrize("bad", ["", "abc", "0" * 31, "0" * 33, "0" * 30 + "zz", "g" * 32, "0" * 30 + "-1", None])
def test_invalid_codes_raise_code_error(bad):
    with pytest.raises(CodeError, match="32 hex digits"):
        latent.code_to_z(bad)


def test_code_length_follows_nz():
    assert latent.code_to_z("ab" * 8, nz=8).shape == (8,)
    with pytest.raises(CodeError, match="16 hex digits"):
        latent.code_to_z("ab" * 16, nz=8)


def test_lerp_and_slerp_endpoints():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 16, generator=g) * 2 - 1, torch.rand(3, 16, generator=g) * 2 - 1
    for f in (latent.lerp, latent.slerp):
        torch.testing.assert_close(f(a, b, 0.0), a)
        torch.testing.assert_close(f(a, b, 1.0), b)
    torch.testing.assert_close(latent.lerp(a, b, 0.5), (a + b) / 2)


def test_slerp_keeps_norm_and_stays_on_the_great_circle():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(16, generator=g), torch.randn(16, generator=g)
    b = b * a.norm() / b.norm()  # equal norms
    omega = math.acos(float(torch.dot(a, b) / (a.norm() * b.norm())))
    for t in torch.linspace(0, 1, 11).tolist():
        c = latent.slerp(a, b, t)
        assert abs(c.norm().item() - a.norm().item()) < 1e-4
        # in the plane of a and b, at angle t * omega from a
        coef = torch.linalg.lstsq(torch.stack([a, b], 1), c[:, None]).solution
        torch.testing.assert_close(torch.stack([a, b], 1) @ coef, c[:, None], atol=1e-5, rtol=1e-5)
        angle = math.acos(max(-1.0, min(1.0, float(torch.dot(a, c) / (a.norm() * c.norm())))))
        assert abs(angle - t * omega) < 1e-3
    # unlike lerp, the midpoint does not cut inside the sphere
    assert latent.lerp(a, b, 0.5).norm() < a.norm() - 1e-3


def test_slerp_parallel_vectors_falls_back_to_lerp():
    a = torch.ones(16) * 0.5
    torch.testing.assert_close(latent.slerp(a, 2 * a, 0.5), latent.lerp(a, 2 * a, 0.5))
    assert torch.isfinite(latent.slerp(a, a, 0.3)).all()


@pytest.mark.parametrize("mode", ["lerp", "slerp"])
def test_path_frame_counts_and_endpoints(mode):
    g = torch.Generator().manual_seed(2)
    pts = torch.rand(3, 16, generator=g) * 2 - 1
    frames = latent.path(pts, steps=5, mode=mode)
    assert frames.shape == (2 * 5 + 1, 16)
    torch.testing.assert_close(frames[0], pts[0])
    torch.testing.assert_close(frames[5], pts[1])
    torch.testing.assert_close(frames[-1], pts[2])

    looped = latent.path(pts, steps=5, mode=mode, loop=True)
    assert looped.shape == (3 * 5, 16)
    torch.testing.assert_close(looped[0], pts[0])
    torch.testing.assert_close(looped[10], pts[2])
    # the last frame is one step before returning to the start (so the loop does not stutter)
    assert not torch.allclose(looped[-1], pts[0])
    step = latent.path(torch.stack([pts[2], pts[0]]), steps=5, mode=mode)[4]
    torch.testing.assert_close(looped[-1], step)


def test_path_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        latent.path(torch.zeros(1, 16), 4)
    with pytest.raises(ValueError, match="mode"):
        latent.path(torch.zeros(2, 16), 4, mode="cubic")


def test_offset_vector_is_difference_of_means():
    good = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    bad = torch.tensor([[-1.0, -1.0], [0.0, -1.0]])
    torch.testing.assert_close(latent.offset_vector(good, bad), torch.tensor([0.5 + 0.5, 0.5 + 1.0]))
    with pytest.raises(ValueError):
        latent.offset_vector(good, bad[:0])


def test_apply_offset_clamps_to_the_prior_box():
    z = torch.tensor([0.9, -0.9, 0.0, 0.2])
    off = torch.tensor([0.5, -0.5, 0.25, -0.1])
    out = latent.apply_offset(z, off, strength=2.0)
    torch.testing.assert_close(out, torch.tensor([1.0, -1.0, 0.5, 0.0]))
    assert out.max() <= 1 and out.min() >= -1


def test_random_codes_reproducible_by_seed():
    a, b = latent.random_codes(5, seed=7), latent.random_codes(5, seed=7)
    assert a == b
    assert a != latent.random_codes(5, seed=8)
    assert len(set(a)) == 5
    for code in a:
        assert len(code) == 32 and latent.z_to_code(latent.code_to_z(code)) == code
    assert all(len(c) == 16 for c in latent.random_codes(3, nz=8, seed=0))


# ----------------------------------------------------------------------------- the normal prior


def test_normal_prior_every_byte_round_trips_through_z():
    values = list(range(256))
    z = latent.bytes_to_z(values, "normal")
    assert z.dtype == torch.float32 and torch.isfinite(z).all()
    assert latent.z_to_bytes(z, "normal").tolist() == values
    assert (z[1:] > z[:-1]).all()  # monotone: a bigger byte is a bigger z
    torch.testing.assert_close(z, -z.flip(0))  # symmetric around 0: 127 and 128 straddle it
    assert z[127] < 0 < z[128]
    # byte b is the normal quantile of (b + 0.5) / 256
    assert abs(z[0].item() - statistics.NormalDist().inv_cdf(0.5 / 256)) < 1e-6
    for start in range(0, 256, 16):
        code = latent.bytes_to_code(values[start:start + 16])
        assert latent.z_to_code(latent.code_to_z(code, prior="normal"), prior="normal") == code
    nz100 = latent.random_codes(3, nz=100, seed=1)
    assert [latent.z_to_code(latent.code_to_z(c, 100, "normal"), "normal") for c in nz100] == nz100


def test_normal_prior_random_bytes_sample_it_and_tails_saturate():
    z = latent.bytes_to_z(list(range(256)), "normal").double()
    assert abs(z.mean().item()) < 1e-6 and abs(z.std().item() - 1) < 0.03
    assert latent.z_to_bytes(torch.tensor([-40.0, -math.inf, 0.0, 40.0, math.inf]), "normal").tolist() == \
        [0, 0, 128, 255, 255]
    # the nearest-slice byte of an arbitrary z: its probability slice holds z
    zs = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    b = latent.z_to_bytes(zs, "normal").double()
    p = torch.special.ndtr(zs.double())
    assert ((b / 256 <= p + 1e-9) & (p < (b + 1) / 256 + 1e-9)).all()


def test_uniform_prior_is_the_default_and_unchanged():
    values = torch.arange(256)
    for f in (lambda v: latent.bytes_to_z(v), lambda v: latent.bytes_to_z(v, "uniform")):
        assert torch.equal(f(values), values.float() / 127.5 - 1.0)
    z = torch.linspace(-1.5, 1.5, 101)
    assert torch.equal(latent.z_to_bytes(z), latent.z_to_bytes(z, "uniform"))
    assert torch.equal(latent.z_to_bytes(z), ((z.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    code = "82763953b2740fef4d321dde7af002f7"
    assert torch.equal(latent.code_to_z(code), latent.code_to_z(code, 16, "uniform"))
    assert latent.z_to_code(latent.code_to_z(code)) == latent.z_to_code(latent.code_to_z(code), "uniform") == code
    assert not torch.equal(latent.code_to_z(code, 16, "normal"), latent.code_to_z(code))


def test_apply_offset_clamps_only_the_uniform_prior():
    z, off = torch.tensor([0.9, -0.9]), torch.tensor([0.5, -0.5])
    torch.testing.assert_close(latent.apply_offset(z, off, 2.0), torch.tensor([1.0, -1.0]))
    torch.testing.assert_close(latent.apply_offset(z, off, 2.0, "normal"), torch.tensor([1.9, -1.9]))


def test_unknown_prior_is_refused():
    for f in (lambda: latent.bytes_to_z([1], "cauchy"), lambda: latent.z_to_bytes(torch.zeros(1), "gauss"),
              lambda: latent.apply_offset(torch.zeros(1), torch.zeros(1), 1.0, "box")):
        with pytest.raises(ValueError, match="uniform, normal"):
            f()
