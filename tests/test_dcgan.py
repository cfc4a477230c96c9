"""DCGAN: shapes and ranges, feature matching, D's scores as a ranking, a training step that learns."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F

from facegan.losses import feature_matching
from facegan.models import dcgan


def tiny(**kw) -> dcgan.Config:
    return dcgan.Config(ngf=8, ndf=8, **kw)


@pytest.fixture
def model() -> dcgan.Model:
    torch.manual_seed(0)
    return dcgan.Model(tiny())


def test_generator_shape_and_range(model):
    z = model.sample_latent(5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5, 16) and z.min() >= -1 and z.max() <= 1
    for mode in (model.train, model.eval):
        mode()
        x = model.generate(z)
        assert x.shape == (5, 3, 64, 64)
        assert torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
        assert x.std() > 0  # not a constant picture
    # different latents give different faces, the same latent the same face (eval mode)
    assert not torch.equal(x[0], x[1])
    torch.testing.assert_close(model.generate(z[:1]), x[:1], rtol=1e-5, atol=1e-5)
    assert model.latent_dim == 16


def test_generator_refuses_other_sizes():
    with pytest.raises(ValueError, match="64x64"):
        dcgan.Generator(tiny(image_size=128))


def test_discriminator_logits_and_features(model):
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    logits, feats = model.discriminator(x)
    assert logits.shape == (3,)
    assert feats.shape == (3, 8 * 8, 4, 4)
    wide = dcgan.Discriminator(dcgan.Config(ndf=4))
    assert wide(x)[1].shape == (3, 32, 4, 4)


def test_feature_matching_zero_for_identical_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 4, 3, 3, generator=g)
    assert feature_matching(a, a.clone()).item() == 0.0
    # only the batch means count: a permuted batch has the same mean
    assert feature_matching(a, a[torch.randperm(6, generator=g)]).item() < 1e-12
    b = a + 0.5
    torch.testing.assert_close(feature_matching(b, a), torch.tensor(0.25))
    assert feature_matching(torch.randn(6, 4, 3, 3, generator=g), a).item() > 0


def test_feature_matching_gradient_moves_fake_mean_toward_real():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(8, 16, generator=g) + 2.0
    fake = torch.randn(8, 16, generator=g).requires_grad_(True)
    before = feature_matching(fake, real)
    before.backward()
    with torch.no_grad():
        # d/d fake = 2 (mean_f - mean_r) / (N * D), identical for every row
        expected = 2 * (fake.mean(0) - real.mean(0)) / (8 * 16)
        torch.testing.assert_close(fake.grad, expected.expand(8, 16))
        moved = fake - 10.0 * fake.grad
    gap_before = (fake.mean(0) - real.mean(0)).norm()
    gap_after = (moved.mean(0) - real.mean(0)).norm()
    assert gap_after < gap_before
    assert feature_matching(moved, real) < before


def test_score_is_a_probability(model):
    x = torch.rand(6, 3, 64, 64) * 2 - 1
    s = model.score(x)
    assert s.shape == (6,) and s.dtype == torch.float32
    assert (s >= 0).all() and (s <= 1).all()
    logits, _ = model.discriminator(x)
    # score is sigmoid of D's logits, so ranking by score = ranking by logit
    torch.testing.assert_close(s, torch.sigmoid(logits))
    assert torch.equal(torch.argsort(s, descending=True), torch.argsort(logits.detach(), descending=True))


def test_trained_discriminator_ranks_real_above_fake(model):
    """A D trained for a few steps to tell white pictures from G's outputs scores them higher."""
    torch.manual_seed(0)
    D, G = model.discriminator, model.generator
    opt = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real = torch.ones(4, 3, 64, 64)
    for _ in range(10):
        with torch.no_grad():
            fake = G(model.sample_latent(4))
        logits, _ = D(torch.cat([real, fake]))
        loss = F.softplus(-logits[:4]).mean() + F.softplus(logits[4:]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    model.eval()
    fake = model.generate(model.sample_latent(4, generator=torch.Generator().manual_seed(5)))
    batch = torch.cat([fake[:2], real[:2], fake[2:]])
    scores = model.score(batch)
    order = torch.argsort(scores, descending=True)
    assert set(order[:2].tolist()) == {2, 3}  # the two real pictures come first
    assert scores[2:4].min() > scores[[0, 1, 4, 5]].max()


def test_train_step_learns_on_a_constant_colour():
    """30 steps on one colour: D learns to separate (its loss drops) and G's mean picture moves toward it."""
    torch.manual_seed(0)
    cfg = tiny()
    model = dcgan.Model(cfg)
    step = dcgan.TrainStep(model, cfg)
    real = torch.empty(4, 3, 64, 64)
    real[:, 0], real[:, 1], real[:, 2] = 0.8, -0.4, 0.2
    probe = model.sample_latent(8, generator=torch.Generator().manual_seed(3))

    def image_gap() -> float:
        with torch.no_grad():
            return feature_matching(model.generator(probe), real).item()

    gap0 = image_gap()
    history = [step((real, None), contextlib.nullcontext) for _ in range(30)]
    for h in history:
        assert set(h) == {"loss_d", "loss_g", "loss_fm"}
        assert all(torch.isfinite(v) and v.ndim == 0 and not v.requires_grad for v in h.values())
    loss_d = [h["loss_d"].item() for h in history]
    assert sum(loss_d[-5:]) / 5 < 0.5 * sum(loss_d[:5]) / 5
    assert image_gap() < gap0
    # D's weights are trainable again after G's step
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_train_step_optimiser_state_round_trips():
    torch.manual_seed(0)
    cfg = tiny()
    model = dcgan.Model(cfg)
    step = dcgan.TrainStep(model, cfg)
    step((torch.zeros(4, 3, 64, 64), None), contextlib.nullcontext)
    other = dcgan.TrainStep(dcgan.Model(cfg), cfg)
    other.load_state_dict(step.state_dict())
    for name in ("opt_g", "opt_d"):
        a, b = step.state_dict()[name]["state"], other.state_dict()[name]["state"]
        assert a.keys() == b.keys() and len(a) > 0
        for k in a:
            assert all(torch.equal(a[k][s], b[k][s]) for s in a[k])


def test_the_prior_is_uniform_by_default_and_normal_on_request():
    assert dcgan.Config().prior == "uniform"
    g = torch.Generator().manual_seed(0)
    z = dcgan.Model(tiny()).sample_latent(4000, generator=g)
    assert z.min() >= -1 and z.max() <= 1
    torch.manual_seed(0)
    normal = dcgan.Model(tiny(prior="normal"))
    z = normal.sample_latent(4000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(z, torch.randn(4000, 16, generator=torch.Generator().manual_seed(0)))
    assert z.abs().max() > 2.5 and abs(z.std().item() - 1) < 0.05
    with pytest.raises(ValueError, match="prior"):
        dcgan.Model(tiny(prior="cauchy"))
