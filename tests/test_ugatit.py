"""U-GAT-IT: shapes, AdaLIN / LIN maths, rho clipping, loss terms, a tiny two-domain run with exact resume."""

from __future__ import annotations

import contextlib
import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import random_image
from PIL import Image
from test_train import _assert_tree_equal

from facegan import data, hub, losses
from facegan.models import ugatit
from facegan.train import TrainConfig, Trainer

S = 96  # the smallest size the 7-layer global D takes


def tiny(**kw) -> ugatit.Config:
    return ugatit.Config(**{"image_size": S, "ch": 4, "n_res": 1, **kw})


def make_two_domains(root, n=(5, 4, 2, 2), size=(100, 100)):
    """trainA/trainB/testA/testB of random pictures; A reddish, B bluish."""
    rng = np.random.default_rng(0)
    for folder, count in zip(data.DOMAIN_FOLDERS, n):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            im = np.asarray(random_image(rng, "RGB", size)).copy()
            im[..., 0 if folder.endswith("A") else 2] = 230
            Image.fromarray(im).save(root / folder / f"{i}.png")
    return root


@pytest.mark.parametrize("light", [True, False])
def test_shapes_and_ranges(light):
    torch.manual_seed(0)
    model = ugatit.Model(tiny(light=light)).eval()
    x = torch.rand(2, 3, S, S) * 2 - 1
    out, cam_logit, heatmap = model.generator["a2b"](x)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert cam_logit.shape == (2, 2) and heatmap.shape == (2, 1, S // 4, S // 4)
    for name, patch in (("ga", (1, 1)), ("la", (10, 10))):  # global: 96/32 - 2; local: 96/8 - 2
        logit, d_cam, d_heat = model.discriminator[name](x)
        assert logit.shape == (2, 1, *patch) and d_cam.shape == (2, 2) and d_heat.shape[:2] == (2, 1)
    y, attention = model.translate(x, "b2a")
    assert y.shape == x.shape and attention.shape == (2, 1, S, S)
    assert attention.min() >= 0 and attention.max() <= 1
    assert attention.flatten(1).amax(1).allclose(torch.ones(2)) and attention.flatten(1).amin(1).allclose(torch.zeros(2))
    with pytest.raises(ValueError, match="direction"):
        model.translate(x, "sideways")


def test_full_variant_mlp_reads_the_whole_map_and_light_the_pooled_one():
    full, light = ugatit.Generator(tiny(light=False)), ugatit.Generator(tiny(light=True))
    c = 4 * 4
    assert full.FC[0].in_features == (S // 4) ** 2 * c and light.FC[0].in_features == c


def test_small_images_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="at least 96"):
        ugatit.Model(tiny(image_size=64))
    ugatit.Model(tiny(image_size=64, discriminators=False))  # generator-only is fine at any multiple of 4


def test_adalin_and_lin_against_a_direct_computation():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4, 6) * 2 + 1
    gamma, beta = torch.randn(3, 5), torch.randn(3, 5)
    norm = ugatit.AdaLIN(5)
    with torch.no_grad():
        norm.rho.copy_(torch.rand(1, 5, 1, 1))
    got = norm(x, gamma, beta)

    xs = x.double().numpy()
    eps = 1e-5
    mu_in, var_in = xs.mean((2, 3), keepdims=True), xs.var((2, 3), ddof=1, keepdims=True)
    mu_ln, var_ln = xs.mean((1, 2, 3), keepdims=True), xs.var((1, 2, 3), ddof=1, keepdims=True)
    x_in, x_ln = (xs - mu_in) / np.sqrt(var_in + eps), (xs - mu_ln) / np.sqrt(var_ln + eps)
    rho = norm.rho.detach().double().numpy()
    want = (rho * x_in + (1 - rho) * x_ln) * gamma.double().numpy()[:, :, None, None] + beta.double().numpy()[:, :, None, None]
    np.testing.assert_allclose(got.detach().double().numpy(), want, rtol=1e-5, atol=1e-5)

    # rho = 1 is instance norm, rho = 0 layer norm
    lin = ugatit.LIN(5)
    with torch.no_grad():
        lin.rho.fill_(1.0)
    np.testing.assert_allclose(lin(x).detach().double().numpy(), x_in, atol=1e-5)
    with torch.no_grad():
        lin.rho.fill_(0.0)
    np.testing.assert_allclose(lin(x).detach().double().numpy(), x_ln, atol=1e-5)


def test_a_generator_step_clips_rho_to_unit_interval():
    torch.manual_seed(0)
    cfg = tiny()
    model = ugatit.Model(cfg)
    rhos = [m.rho for m in model.generator.modules() if isinstance(m, (ugatit.AdaLIN, ugatit.LIN))]
    assert len(rhos) == 2 * (2 * cfg.n_res + 2)  # per G: two AdaLIN per block, two LIN in the up-sampling
    with torch.no_grad():
        for i, r in enumerate(rhos):
            r.fill_(1.7 if i % 2 else -0.4)
    step = ugatit.TrainStep(model, cfg)
    x = torch.rand(1, 3, S, S) * 2 - 1
    step((x, -x), contextlib.nullcontext)
    for r in rhos:
        assert r.min() >= 0 and r.max() <= 1
    assert any(r.max() == 1 for r in rhos) and any(r.min() == 0 for r in rhos)


def test_loss_terms_on_tiny_tensors():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 1.0])
    assert losses.lsgan_d(real, fake).item() == pytest.approx((0 + 0.25) / 2 + (0 + 1) / 2)
    assert losses.lsgan_g(fake).item() == pytest.approx((1 + 0) / 2)
    src, tgt = torch.tensor([[2.0, -1.0]]), torch.tensor([[0.0, 3.0]])
    want = (-math.log(1 / (1 + math.exp(-2))) - math.log(1 / (1 + math.exp(1)))) / 2 \
        + (-math.log(1 - 0.5) - math.log(1 - 1 / (1 + math.exp(-3)))) / 2
    assert losses.cam_bce(src, tgt).item() == pytest.approx(want, rel=1e-6)
    # a perfect classifier costs (almost) nothing, a reversed one a lot
    assert losses.cam_bce(torch.full((1, 2), 20.0), torch.full((1, 2), -20.0)) < 1e-6
    assert losses.cam_bce(torch.full((1, 2), -20.0), torch.full((1, 2), 20.0)) > 20


def test_train_step_reports_each_term_and_learns():
    """20 steps at the paper's lr on one reddish and one bluish textured picture: D's loss, the
    cycle and identity losses and G's CAM loss all drop."""
    torch.manual_seed(0)
    cfg = tiny()
    model = ugatit.Model(cfg)
    step = ugatit.TrainStep(model, cfg)
    g = torch.Generator().manual_seed(1)
    a = torch.rand(1, 3, S, S, generator=g) * 0.6 - 0.3
    a[:, 0] += 0.6
    b = torch.rand(1, 3, S, S, generator=g) * 0.6 - 0.3
    b[:, 2] += 0.6
    b = b * torch.linspace(0, 1, S)  # a horizontal ramp: B differs from A in layout, not only colour
    history = [step((a, b), contextlib.nullcontext) for _ in range(20)]
    assert set(history[0]) == {"loss_d", "loss_g_adv", "loss_cycle", "loss_identity", "loss_cam"}
    assert all(torch.isfinite(v) and v.ndim == 0 and not v.requires_grad for h in history for v in h.values())
    first, last = history[0], history[-1]
    for k in ("loss_d", "loss_cycle", "loss_identity", "loss_cam"):
        assert last[k] < 0.8 * first[k], k
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_a_step_is_the_official_one_with_one_forward_pass_fewer():
    """TrainStep runs G's two translations once for D's step and G's (G is unchanged in between); the
    official loop (znxlwm/UGATIT-pytorch's train(), written out here: D's step on translations made
    without gradients, then G's step translating again) gives the same weights after two steps."""
    from facegan.losses import cam_bce, lsgan_d, lsgan_g

    torch.manual_seed(0)
    cfg = tiny()
    ours = ugatit.Model(cfg)
    theirs, start = copy.deepcopy(ours), copy.deepcopy(ours.state_dict())
    step = ugatit.TrainStep(ours, cfg)
    kw = {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "weight_decay": cfg.weight_decay}
    opt_g = torch.optim.Adam(theirs.generator.parameters(), **kw)
    opt_d = torch.optim.Adam(theirs.discriminator.parameters(), **kw)
    G, D = theirs.generator, theirs.discriminator
    g = torch.Generator().manual_seed(1)
    for _ in range(2):
        a, b = (torch.rand(1, 3, S, S, generator=g) * 2 - 1 for _ in range(2))
        step((a, b), contextlib.nullcontext)

        with torch.no_grad():
            fake_b, fake_a = G["a2b"](a)[0], G["b2a"](b)[0]
        loss_d = sum(lsgan_d(r, f) for x, real, fake in (("a", a, fake_a), ("b", b, fake_b))
                     for d in (f"g{x}", f"l{x}") for r, f in zip(D[d](real)[:2], D[d](fake)[:2]))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        fake_b, cam_ab, _ = G["a2b"](a)
        fake_a, cam_ba, _ = G["b2a"](b)
        rec_a, rec_b = G["b2a"](fake_b)[0], G["a2b"](fake_a)[0]
        idt_a, cam_aa, _ = G["b2a"](a)
        idt_b, cam_bb, _ = G["a2b"](b)
        adv = sum(lsgan_g(logit) for x, fake in (("a", fake_a), ("b", fake_b)) for d in (f"g{x}", f"l{x}")
                  for logit in D[d](fake)[:2])
        loss_g = (adv + 10 * (F.l1_loss(rec_a, a) + F.l1_loss(rec_b, b)) + 10 * (F.l1_loss(idt_a, a) + F.l1_loss(idt_b, b))
                  + 1000 * (cam_bce(cam_ba, cam_aa) + cam_bce(cam_ab, cam_bb)))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for m in G.modules():  # the official RhoClipper(0, 1)
            if hasattr(m, "rho"):
                m.rho.data.clamp_(0, 1)
    for name, want in theirs.state_dict().items():
        assert torch.allclose(ours.state_dict()[name], want, atol=1e-6), name
    first = "generator.a2b.DownBlock.1.weight"
    assert not torch.allclose(ours.state_dict()[first], start[first], atol=1e-6)  # the steps did train


def test_linear_decay_over_the_second_half():
    cfg = tiny()
    step = ugatit.TrainStep(ugatit.Model(cfg), cfg)
    lrs = []
    for s in range(10):
        step.schedule(s, 10)
        lrs.append(step.opt_g.param_groups[0]["lr"])
        assert step.opt_d.param_groups[0]["lr"] == lrs[-1]
    assert lrs[:5] == [cfg.lr] * 5
    assert lrs[5:] == pytest.approx([cfg.lr * (1 - k / 5) for k in range(5)])


def test_two_domain_data_and_batches(tmp_path):
    root = make_two_domains(tmp_path / "set")
    ds = ugatit.load_data(root, tiny())
    assert len(ds.a) == 5 and len(ds.b) == 4 and len(ds.test_a) == 2 and len(ds.test_b) == 2
    assert ds.a.images.shape[-1] == tiny().load_size > S and ds.test_a.images.shape[-1] == S
    batches = ugatit.batches(ds, TrainConfig(batch_size=2, seed=3), tiny(), "cpu")
    a, b = batches(0)
    assert a.shape == b.shape == (2, 3, S, S) and a.min() >= -1 and a.max() <= 1
    assert (a[:, 0] > b[:, 0]).float().mean() > 0.9  # A is the red domain
    again = ugatit.batches(ds, TrainConfig(batch_size=2, seed=3), tiny(), "cpu")
    assert all(torch.equal(x, y) for x, y in zip(batches(5), again(5)))  # a pure function of the step
    with pytest.raises(data.DataError, match="trainA/ and trainB/"):
        data.load_two_domain(tmp_path / "set" / "trainA", S)


def test_tiny_two_domain_run_checkpoint_and_exact_resume(tmp_path):
    root = make_two_domains(tmp_path / "set")
    base = {"batch_size": 1, "device": "cpu", "log_every": 1, "sample_every": 2, "checkpoint_every": 0,
            "seed": 0, "n_samples": 2}
    straight = Trainer("ugatit", root, tmp_path / "a", tiny(), TrainConfig(steps=4, **base))
    last = straight.run()

    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(math.isfinite(r[k]) for r in records for k in ("loss_d", "loss_cycle", "loss_cam"))
    with Image.open(tmp_path / "a" / "samples" / "latest.png") as im:  # 2 rows of 8 tiles
        assert im.size == (8 * (S + 2) + 2, 2 * (S + 2) + 2)
    model = hub.load_folder(last)
    assert isinstance(model, ugatit.Model) and not model.training
    y, att = model.translate(torch.zeros(1, 3, S, S), "a2b")
    assert torch.isfinite(y).all() and att.shape == (1, 1, S, S)

    first = Trainer("ugatit", root, tmp_path / "b", tiny(), TrainConfig(steps=2, **base))
    first.run()
    torch.manual_seed(123)
    resumed = Trainer("ugatit", root, tmp_path / "b", cfg=TrainConfig(steps=4), resume=True)
    assert resumed.step == 2
    resumed.run()
    _assert_tree_equal(straight.model.state_dict(), resumed.model.state_dict(), "model")
    _assert_tree_equal(straight.step_fn.state_dict(), resumed.step_fn.state_dict(), "optimisers")
    assert straight.step_fn.opt_g.param_groups[0]["lr"] == resumed.step_fn.opt_g.param_groups[0]["lr"] < tiny().lr


def test_generator_only_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ugatit.Model(tiny()).eval()
    slim = ugatit.Model(tiny(discriminators=False)).eval()
    slim.generator.load_state_dict(model.generator.state_dict())
    hub.save_pretrained(slim, tmp_path / "g")
    back = hub.load_folder(tmp_path / "g")
    assert not hasattr(back, "discriminator")
    x = torch.rand(1, 3, S, S) * 2 - 1
    assert torch.equal(back.translate(x)[0], model.translate(x)[0])
    with pytest.raises(ValueError, match="generator-only"):
        ugatit.TrainStep(back, back.config)


def test_the_direction_follows_the_picture(shared_data):
    """A selfie goes photo -> anime, an anime face anime -> photo; undecided pictures keep the tab's choice.
    Judged on the first 30 test pictures of each side of selfie2anime, enlarged as an upload would be."""
    from facegan.translator import Translator

    tr = Translator(ugatit.Model(tiny()), dtype="float32")  # the kinds: photo (A), anime (B)
    assert (tr.cfg.faces_a, tr.cfg.faces_b) == ("photo", "anime")
    assert tr.direction_from("anime") == "b2a" and tr.direction_from("photo") == "a2b"
    for side, want in (("A", "a2b"), ("B", "b2a")):
        paths = sorted((shared_data / "selfie2anime" / "128" / f"test{side}").glob("*"))[:30]
        read = [tr.direction_of(Image.open(p).convert("RGB").resize((256, 256))) for p in paths]
        decided = [r for r in read if r is not None]
        assert len(decided) >= 15 and sum(r == want for r in decided) >= 0.9 * len(decided), (side, read)
    assert tr.direction_of(Image.new("RGB", (256, 256), (90, 120, 200))) is None  # no face: not decided


def test_a_projected_discriminator_for_one_or_both_domains(tmp_path):
    """Issue #22: ``projected`` "b" replaces the anime side's global + local CAM D with Projected GAN's
    (frozen EfficientNet-lite0 features, not saved), "both" both sides'; G is the paper's either way.
    The D loss of a projected side is the hinge loss of its logits on DiffAugment-ed pictures, computed
    here from the same random draws (the seed replayed); a tiny run exports D and resumes exactly."""
    from facegan.models import projected
    from facegan.models.blocks import diff_augment

    assert list(ugatit.Model(tiny()).discriminator) == ["ga", "gb", "la", "lb"]  # the official order
    assert list(ugatit.Model(tiny(projected="b")).discriminator) == ["ga", "la", "pb"]
    both = ugatit.Model(tiny(projected="both"))
    assert list(both.discriminator) == ["pa", "pb"]
    assert not any("_features" in k or "blocks" in k for k in both.state_dict())  # F comes from the wheel
    with pytest.raises(ValueError, match="projected"):
        tiny(projected="a")

    torch.manual_seed(0)
    cfg = tiny(projected="b")
    model = ugatit.Model(cfg)
    step = ugatit.TrainStep(model, cfg)
    real, fake = torch.rand(2, 1, 3, S, S) * 2 - 1
    ref = copy.deepcopy(model.discriminator)  # each forward moves spectral norm's power iteration on
    torch.manual_seed(5)
    got = step.loss_d("b", real, fake)
    torch.manual_seed(5)
    lr, lf = ref["pb"](diff_augment(real)), ref["pb"](diff_augment(fake))
    want = torch.relu(1 - lr).mean() + torch.relu(1 + lf).mean()
    assert torch.allclose(got, want) and got > 0
    got = step.loss_d("a", real, fake)
    want = 0
    for d in ("ga", "la"):
        r, f = ref[d](real), ref[d](fake)
        want = want + losses.lsgan_d(r[0], f[0]) + losses.lsgan_d(r[1], f[1])
    assert torch.allclose(got, want)
    pb = model.discriminator["pb"]
    before = {k: v.clone() for k, v in pb.state_dict().items()}
    out = step((real, fake), contextlib.nullcontext)
    assert all(torch.isfinite(v) for v in out.values())
    assert any(not torch.equal(before[k], v) for k, v in pb.state_dict().items())
    assert projected.hinge_g(torch.ones(1, 3)) == -1

    root = make_two_domains(tmp_path / "set")
    base = {"batch_size": 1, "device": "cpu", "log_every": 1, "sample_every": 0, "checkpoint_every": 0,
            "seed": 0, "n_samples": 2}
    straight = Trainer("ugatit", root, tmp_path / "a", cfg, TrainConfig(steps=2, **base))
    last = straight.run()
    back = hub.load_folder(last)
    assert back.config.projected == "b" and "pb" in back.discriminator
    first = Trainer("ugatit", root, tmp_path / "b", cfg, TrainConfig(steps=1, **base))
    first.run()
    resumed = Trainer("ugatit", root, tmp_path / "b", cfg=TrainConfig(steps=2), resume=True)
    resumed.run()
    _assert_tree_equal(straight.model.state_dict(), resumed.model.state_dict(), "model")


def test_a_run_logs_test_set_figures_for_its_curve(tmp_path):
    """--eval-every on a U-GAT-IT run: quality.jsonl gets KID x100 both ways on the test pictures, the
    A -> B anime-FD and layout, with images seen and CPU-hours (the points of quality_curve.py)."""
    root = make_two_domains(tmp_path / "set", n=(5, 4, 4, 4))
    cfg = TrainConfig(steps=2, batch_size=1, device="cpu", log_every=1, sample_every=0, checkpoint_every=0, seed=0,
                      eval_every=2, n_samples=2)
    Trainer("ugatit", root, tmp_path / "run", tiny(), cfg).run()
    rows = [json.loads(line) for line in (tmp_path / "run" / "quality.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["images_seen"] == 2 and rows[0]["n"] == 4
    for key in ("kid_a2b", "kid_b2a", "anime_fd", "layout_a2b", "cpu_hours"):
        assert math.isfinite(rows[0][key]), key
    assert -1 <= rows[0]["layout_a2b"] <= 1
