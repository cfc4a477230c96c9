"""Which precision the tabs draw in: bf16 only where a check at load time shows it within 2/255 of
float32 at the worst pixel (a converted or user-loaded model that bf16 would visibly change is drawn
in float32), measured on fixed inputs as each wrapper draws."""

from __future__ import annotations

import pytest
import torch

from facegan import models, studio
from facegan.models import stylegan


@pytest.fixture
def native_bf16(monkeypatch):
    """A CPU that computes bf16 natively (the check is what decides then); autocast works without one too."""
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    monkeypatch.delenv("FACEGAN_DTYPE", raising=False)


def test_worst_pixel_is_in_255ths_of_the_shown_range():
    a = torch.zeros(1, 3, 2, 2)
    b = a.clone()
    b[0, 1, 1, 1] = 4 / 127.5  # 4/255 of [0, 1]... as 2 units of [-1, 1] are 255 levels
    assert models.worst_pixel(a, b) == pytest.approx(4.0)
    assert models.worst_pixel(a + 5, a + 6) == 0  # both clamped to 1: shown the same


def test_auto_keeps_bf16_only_within_the_tolerance(native_bf16):
    x = torch.linspace(-1, 1, 1000)
    exact = models.checked_precision("auto", torch.device("cpu"), lambda dt: x.to(dt).float())
    assert exact.dtype == torch.bfloat16 and exact.worst < models.PRECISION_TOLERANCE
    # bf16 keeps 8 bits: 100 + x rounds to steps of 0.5, up to 32/255 off
    coarse = models.checked_precision("auto", torch.device("cpu"), lambda dt: ((x + 100).to(dt) - 100).float())
    assert coarse.dtype == torch.float32 and coarse.worst > 10
    assert "float32" in coarse.describe() and "off" in coarse.describe()
    asked = models.checked_precision("bfloat16", torch.device("cpu"), lambda dt: ((x + 100).to(dt) - 100).float())
    assert asked.dtype == torch.bfloat16 and asked.worst is None  # asked for by name: taken as it is


def _loud_stylegan() -> stylegan.Model:
    """A StyleGAN whose pictures bf16 changes visibly: large weights, as some converted networks have."""
    torch.manual_seed(0)
    model = stylegan.Model(stylegan.Config(preset="64", image_size=16, z_dim=8, w_dim=8, mapping_layers=2,
                                           channel_base=128, channel_max=16))
    with torch.no_grad():
        for name, t in model.generator.named_parameters():
            if name.endswith("torgb.weight"):
                t.mul_(40)
    return model.eval()


def test_a_model_bf16_would_change_is_drawn_in_float32_exactly(native_bf16):
    model = _loud_stylegan()
    s = studio.Studio(model)
    assert s.dtype == torch.float32 and s.precision.worst > models.PRECISION_TOLERANCE
    exact = studio.Studio(model, dtype="float32")
    assert torch.equal(s.images([3, 4], psi=1), exact.images([3, 4], psi=1))
    forced = studio.Studio(model, dtype="bfloat16")  # what the tab drew before the check
    assert models.worst_pixel(forced.images([3, 4], psi=1), exact.images([3, 4], psi=1)) > models.PRECISION_TOLERANCE
