"""StarGAN: label vectors and the mask vector, the gradient penalty, each loss term, shapes,
inference-time instance norm, labelled data, and tiny runs (one data set and two mixed) with exact resume."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import random_image
from PIL import Image
from test_train import _assert_tree_equal

from facegan import data, hub, labels, losses
from facegan.labels import BINARY, DatasetLabels, Group, LabelError, LabelSpec
from facegan.models import stargan
from facegan.train import TrainConfig, Trainer, TrainingDiverged

ROOT = Path(__file__).resolve().parent.parent
S = 32
HAIR, EYES, MOODS = ("black", "blue", "pink"), ("green", "red"), ("happy", "sad")
ANIME = labels.anime_labels(HAIR, EYES)
FER = labels.class_labels(MOODS, grey=True)  # make_class_set writes greyscale pictures, as FER2013's
BOTH = LabelSpec.of(ANIME, FER)
NULL = contextlib.nullcontext


def tiny(spec: LabelSpec = BOTH, **kw) -> stargan.Config:
    # d_repeat_num 4 at 32 px leaves D a 2x2 map, as 6 at 128 px (official) and 5 at 64 px (default)
    return stargan.Config(**{"image_size": S, "g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1,
                             "d_repeat_num": 4, "labels": spec, **kw})


def make_tag_set(root, n: int = 12, untagged: int = 2):
    """images/N.jpg + tags.csv 'N,<hair> hair <eyes> eyes' (hair colour painted in), and untagged images."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(n + untagged):
        im = np.asarray(random_image(rng, "RGB", (40, 40))).copy()
        im[:12] = [(20, 20, 20), (40, 60, 230), (240, 120, 200)][i % 3]
        Image.fromarray(im).save(root / "images" / f"{i}.jpg")
        if i < n:
            rows.append(f"{i},{HAIR[i % 3]} hair {EYES[i % 2]} eyes")
    (root / "tags.csv").write_text("\n".join(rows))  # no newline at the end, as the shared set
    return root


def make_class_set(root, n: int = 4):
    """train/<mood>/*.jpg, greyscale 48 px (FER2013's layout), plus an empty test/."""
    rng = np.random.default_rng(1)
    for mood in MOODS:
        (root / "train" / mood).mkdir(parents=True)
        for i in range(n):
            random_image(rng, "L", (48, 48)).save(root / "train" / mood / f"{i}.jpg")
    (root / "test").mkdir()
    return root


@pytest.fixture
def mixed(tmp_path) -> data.LabelledSet:
    a = data.load_anime_tags(make_tag_set(tmp_path / "anime"), S, ANIME)
    b = data.load_class_folders(make_class_set(tmp_path / "fer"), S, FER)
    return data.mix_labelled(a, b)


# ----------------------------------------------------------------------------- labels


def test_categorical_groups_encode_and_decode():
    spec = LabelSpec.of(labels.anime_labels())
    assert spec.dim == spec.n_cls == 22 and spec.mask_slice is None  # one data set: no mask (official)
    v = spec.encode({"hair": "pink", "eyes": "blue"})
    assert v.shape == (22,) and v.sum() == 2
    assert v[labels.ANIME_HAIR.index("pink")] == 1 and v[12 + labels.ANIME_EYES.index("blue")] == 1
    assert spec.decode(v) == ("anime", {"hair": "pink", "eyes": "blue"})
    rows = [{"hair": h, "eyes": e} for h in ("aqua", "white") for e in ("red", "yellow")]
    assert [spec.decode(x)[1] for x in spec.encode_many(rows)] == rows
    with pytest.raises(LabelError, match="'silver' is not one of the 12 hair values: aqua"):
        spec.encode({"hair": "silver", "eyes": "blue"})
    with pytest.raises(LabelError, match="no eyes value"):
        spec.encode({"hair": "pink"})
    with pytest.raises(LabelError, match="not groups"):
        spec.encode({"hair": "pink", "eyes": "blue", "mood": "happy"})
    # a group set to each value keeps the other group
    w = spec.with_value(v[None], "hair", "aqua")[0]
    assert spec.decode(w) == ("anime", {"hair": "aqua", "eyes": "blue"}) and spec.decode(v)[1]["hair"] == "pink"


def test_binary_attributes_encode_decode_and_toggle():
    spec = LabelSpec.of(DatasetLabels("celeba", (Group("hair", ("black", "blond")),
                                                 Group("attributes", ("male", "young", "smiling"), BINARY))))
    v = spec.encode({"hair": "blond", "attributes": ["young", "smiling"]})
    assert v.tolist() == [0, 1, 0, 1, 1]
    assert spec.decode(v) == ("celeba", {"hair": "blond", "attributes": ["young", "smiling"]})
    assert spec.encode({"hair": "black"}).tolist() == [1, 0, 0, 0, 0]  # an absent binary group is all off
    assert spec.encode({"hair": "black", "attributes": {"male": True, "young": False}}).tolist() == [1, 0, 1, 0, 0]
    # the official sample grids reverse one attribute; on= sets it
    assert spec.with_value(v[None], "attributes", "young")[0].tolist() == [0, 1, 0, 0, 1]
    assert spec.with_value(v[None], "attributes", "male", on=True)[0].tolist() == [0, 1, 1, 1, 1]
    assert spec.with_value(v[None], "attributes", "smiling", on=False)[0].tolist() == [0, 1, 0, 1, 0]
    with pytest.raises(LabelError, match="kind"):
        Group("x", ("a",), "ordinal")


def test_mask_vector_for_two_data_sets():
    assert (BOTH.n_cls, BOTH.dim) == (3 + 2 + 2, 3 + 2 + 2 + 2)
    anime = BOTH.encode({"hair": "pink", "eyes": "green"})  # the data set is found from the groups
    fer = BOTH.encode({"expression": "sad"})
    #                        hair     eyes  expr  mask
    assert anime.tolist() == [0, 0, 1, 1, 0, 0, 0, 1, 0]
    assert fer.tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert BOTH.decode(anime) == ("anime", {"hair": "pink", "eyes": "green"})
    assert BOTH.decode(fer) == ("fer", {"expression": "sad"})
    both = torch.stack([anime, fer])
    assert BOTH.dataset_of(both).tolist() == [0, 1]
    # moving a FER picture to a hair colour: its expression goes, the mask says anime, the eyes come from fill
    fill = BOTH.encode_many([{"hair": "black", "eyes": "red"}] * 2, "anime")
    moved = BOTH.with_value(both, "hair", "blue", fill=fill)
    assert moved[0].tolist() == [0, 1, 0, 1, 0, 0, 0, 1, 0]  # an anime row keeps its eyes
    assert moved[1].tolist() == [0, 1, 0, 0, 1, 0, 0, 1, 0]
    with pytest.raises(LabelError, match="say which data set"):
        BOTH.encode_many([{}])
    with pytest.raises(LabelError, match="names must differ"):
        LabelSpec.of(ANIME, ANIME)


def test_spec_and_config_survive_json():
    assert LabelSpec.from_dict(json.loads(json.dumps(BOTH.to_dict()))) == BOTH
    cfg = tiny()
    raw = json.loads(json.dumps(dataclasses.asdict(cfg)))  # what config.json and run.json hold
    assert stargan.Config(**raw) == cfg and stargan.Config(**raw).labels == BOTH
    with pytest.raises(LabelError, match="not a label spec"):
        stargan.Config(labels={"groups": []})


# ----------------------------------------------------------------------------- losses


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = W x (3 outputs): the gradient of their sum is v = W.sum(0) for every image, so the
    penalty is (|v| - 1)^2 and its gradient wrt each row of W is 2 (|v| - 1) v / |v|."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(12, 3)
    x = torch.randn(4, 3, 2, 2, requires_grad=True)
    gp = losses.gradient_penalty(lin(x.flatten(1)), x)
    v = lin.weight.detach().sum(0)
    norm = v.norm()
    assert gp.item() == pytest.approx((norm.item() - 1) ** 2, rel=1e-5)
    gp.backward()
    want = 2 * (norm - 1) * v / norm
    torch.testing.assert_close(lin.weight.grad, want.expand(3, -1).contiguous())
    # a critic with unit gradient everywhere costs nothing
    x2 = torch.randn(2, 3, requires_grad=True)
    assert losses.gradient_penalty((x2 * torch.tensor([0.6, 0.8, 0.0])).sum(1), x2).item() == pytest.approx(0, abs=1e-10)


def test_classification_loss_terms():
    spec = LabelSpec.of(DatasetLabels("d", (Group("hair", ("a", "b", "c")), Group("attrs", ("x", "y"), BINARY))))
    logits = torch.tensor([[2.0, 0.0, -1.0, 1.5, -0.5], [0.0, 1.0, 0.0, -2.0, 3.0]])
    target = spec.encode_many([{"hair": "a", "attrs": ["x"]}, {"hair": "c", "attrs": []}])

    def ce(z, i):
        return -z[i] + math.log(sum(math.exp(t) for t in z))

    def bce(z, t):
        return -(t * math.log(1 / (1 + math.exp(-z))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-z))))

    rows = logits.tolist()
    want = [ce(rows[0][:3], 0) + bce(1.5, 1) + bce(-0.5, 0), ce(rows[1][:3], 2) + bce(-2.0, 0) + bce(3.0, 0)]
    assert stargan.classification_loss(logits, target, spec).item() == pytest.approx(sum(want) / 2, rel=1e-6)


def test_masked_classification_ignores_the_other_data_sets_labels():
    torch.manual_seed(0)
    logits = torch.randn(4, BOTH.n_cls, requires_grad=True)
    target = torch.cat([BOTH.encode_many([{"hair": "pink", "eyes": "red"}, {"hair": "black", "eyes": "green"}]),
                        BOTH.encode_many([{"expression": "happy"}, {"expression": "sad"}])])
    loss = stargan.classification_loss(logits, target, BOTH)
    (grad,) = torch.autograd.grad(loss, logits)
    anime, fer = BOTH.dataset_slice("anime"), BOTH.dataset_slice("fer")
    assert (grad[:2, fer] == 0).all() and (grad[2:, anime] == 0).all()
    assert (grad[:2, anime] != 0).all() and (grad[2:, fer] != 0).all()
    # whatever sits in the absent data set's part of a vector (or its logits) changes nothing
    noisy, other = target.clone(), logits.detach().clone()
    noisy[:2, fer] = torch.tensor([1.0, 1.0])
    noisy[2:, anime] = torch.rand(2, 5)
    other[:2, fer] += 50
    other[2:, anime] -= 50
    assert stargan.classification_loss(other, noisy, BOTH).item() == pytest.approx(loss.item())
    # and the same through D: a batch of anime faces leaves D's FER classifier weights untouched
    model = stargan.Model(tiny())
    x = torch.rand(2, 3, S, S) * 2 - 1
    stargan.classification_loss(model.discriminator(x)[1], target[:2], BOTH).backward()
    w = model.discriminator.conv2.weight.grad
    assert (w[fer] == 0).all() and (w[anime] != 0).any()


def test_each_loss_term_of_a_step_against_a_direct_computation():
    """The reported terms equal the official formulas evaluated on the pre-step G and D (D's
    terms) and on the pre-step G with the updated D (G's terms), with the same random draws."""
    torch.manual_seed(0)
    cfg = tiny(n_critic=1)
    model = stargan.Model(cfg)
    before = copy.deepcopy(model)
    step = stargan.TrainStep(model, cfg)
    x = torch.rand(4, 3, S, S) * 2 - 1
    c = BOTH.encode_many([{"hair": h, "eyes": "red"} for h in ("black", "blue", "pink", "pink")], "anime")
    torch.manual_seed(5)
    got = step((x, c), NULL)

    torch.manual_seed(5)  # the step's draws, in order: the target permutation, then alpha
    c_trg = c[stargan.permute_within_datasets(BOTH.dataset_of(c))]
    alpha = torch.rand(4, 1, 1, 1)
    G0, D0, D1 = before.generator, before.discriminator, model.discriminator
    out_src, out_cls = D0(x)
    fake = G0(x, c_trg).detach()
    x_hat = (alpha * x + (1 - alpha) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D0(x_hat)[0].sum(), x_hat)
    want = {
        "loss_d_real": -out_src.mean(), "loss_d_fake": D0(fake)[0].mean(),
        "loss_d_cls": stargan.classification_loss(out_cls, c, BOTH),
        "loss_gp": ((g.flatten(1).norm(dim=1) - 1) ** 2).mean(),
        "loss_g_fake": -D1(fake)[0].mean(), "loss_g_cls": stargan.classification_loss(D1(fake)[1], c_trg, BOTH),
        "loss_g_rec": (x - G0(fake, c)).abs().mean(),
    }
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k].item() == pytest.approx(v.item(), rel=1e-4, abs=1e-6), k
    assert not torch.equal(c_trg, c)  # the targets really are shuffled labels
    assert sorted(map(tuple, c_trg.tolist())) == sorted(map(tuple, c.tolist()))


def test_targets_are_permuted_within_each_data_set():
    torch.manual_seed(0)
    dataset = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0])
    seen = set()
    for _ in range(20):
        perm = stargan.permute_within_datasets(dataset)
        assert sorted(perm.tolist()) == list(range(8)) and torch.equal(dataset[perm], dataset)
        seen.add(tuple(perm.tolist()))
    assert len(seen) > 10


def test_g_is_updated_every_n_critic_steps_and_its_latest_losses_reported():
    torch.manual_seed(0)
    x = torch.rand(2, 3, S, S) * 2 - 1
    for spec, due in ((LabelSpec.of(ANIME), [2, 5]), (BOTH, [4, 5])):  # two data sets: an iteration is two steps
        cfg = tiny(spec, n_critic=3)
        model = stargan.Model(cfg)
        step = stargan.TrainStep(model, cfg)
        c = spec.encode_many([{"hair": "pink", "eyes": "red"}, {"hair": "blue", "eyes": "green"}], "anime")
        updated, reports = [], []
        for s in range(6):
            g0 = model.generator.main[0].weight.clone()
            d0 = model.discriminator.main[0].weight.clone()
            step.schedule(s, 100)
            reports.append(step((x, c), NULL))
            assert not torch.equal(d0, model.discriminator.main[0].weight)  # D every step
            if not torch.equal(g0, model.generator.main[0].weight):
                updated.append(s)
        assert updated == due == [s for s in range(6) if step.g_step_due(s)]
        assert all(r["loss_g_rec"] == 0 for r in reports[:due[0]])  # before G's first step
        assert reports[due[0]]["loss_g_rec"] > 0 and all(torch.isfinite(v) for r in reports for v in r.values())
        if due[1] > due[0] + 1:
            assert reports[due[0] + 1]["loss_g_rec"] == reports[due[0]]["loss_g_rec"]  # repeated on D-only steps


def test_a_tiny_stargan_learns_to_paint_the_target_hair():
    """30 steps (lr 1e-3, G every step) on six pictures whose top band is their hair colour: D learns
    to classify, the reconstruction improves, and G paints the band in the colour it is asked for."""
    torch.manual_seed(0)
    spec = LabelSpec.of(ANIME)
    cfg = tiny(spec, n_critic=1, g_lr=1e-3, d_lr=1e-3)
    model = stargan.Model(cfg)
    step = stargan.TrainStep(model, cfg)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, S, S, generator=g) * 0.6 - 0.3
    rgb = {"black": (-0.8, -0.8, -0.8), "blue": (-0.6, -0.4, 0.9), "pink": (0.9, 0.3, 0.7)}
    hair = list(HAIR) * 2
    for i, h in enumerate(hair):
        x[i, :, :10] = torch.tensor(rgb[h])[:, None, None]
    c = spec.encode_many([{"hair": h, "eyes": "red"} for h in hair])
    history = [step((x, c), NULL) for _ in range(30)]
    first, last = history[0], history[-1]
    assert last["loss_d_cls"] < 0.5 * first["loss_d_cls"] and last["loss_g_cls"] < 0.5 * first["loss_g_cls"]
    assert last["loss_g_rec"] < 0.8 * first["loss_g_rec"] and last["loss_gp"] < 0.1 * first["loss_gp"]
    band = {h: model.edit(x, {"hair": h, "eyes": "red"})[:, :, :10].mean((0, 2, 3)) for h in HAIR}
    assert band["black"].sum() < band["blue"].sum() and band["black"].sum() < band["pink"].sum()
    assert band["pink"][0] > band["blue"][0] and band["blue"][2] > band["black"][2]


def test_linear_decay_over_the_second_half():
    cfg = tiny(g_lr=2e-4)
    step = stargan.TrainStep(stargan.Model(cfg), cfg)
    g, d = [], []
    for s in range(10):
        step.schedule(s, 10)
        g.append(step.opt_g.param_groups[0]["lr"])
        d.append(step.opt_d.param_groups[0]["lr"])
    assert g[:5] == [2e-4] * 5 and d[:5] == [1e-4] * 5
    assert g[5:] == pytest.approx([2e-4 * (1 - k / 5) for k in range(5)])
    assert d[5:] == pytest.approx([1e-4 * (1 - k / 5) for k in range(5)])


# ----------------------------------------------------------------------------- networks


def test_shapes_and_official_layout():
    torch.manual_seed(0)
    model = stargan.Model(tiny())
    x = torch.rand(3, 3, S, S) * 2 - 1
    c = BOTH.encode_many([{"expression": "happy"}] * 3)
    y = model.generator(x, c)
    assert y.shape == x.shape and y.abs().max() <= 1
    src, cls = model.discriminator(x)
    assert src.shape == (3, 1, 2, 2) and cls.shape == (3, BOTH.n_cls)
    assert model.generator.main[0].in_channels == 3 + BOTH.dim
    assert model.discriminator.conv2.kernel_size == (2, 2)
    norms = [m for m in model.generator.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(m.affine and m.track_running_stats for m in norms)
    assert {"generator.main.1.running_mean", "generator.main.9.main.1.weight", "discriminator.conv1.weight",
            "discriminator.conv2.weight"} <= model.state_dict().keys()

    default = stargan.Model(stargan.Config())  # 64 px, d_repeat_num 5: the official 2x2 map
    src, cls = default.discriminator(torch.zeros(1, 3, 64, 64))
    assert src.shape == (1, 1, 2, 2) and cls.shape == (1, 22)
    with pytest.raises(ValueError, match="multiple of 2\\*\\*d_repeat_num"):
        stargan.Model(tiny(image_size=40))


def test_edit_normalises_each_image_by_itself_and_leaves_running_stats():
    """As the official test (no eval()): a picture's edit does not depend on its batch, the
    running statistics stay as they are, and the result differs from PyTorch's eval mode."""
    torch.manual_seed(0)
    model = stargan.Model(tiny(LabelSpec.of(ANIME)))
    step = stargan.TrainStep(model, model.config)
    x = torch.rand(4, 3, S, S) * 2 - 1
    c = model.labels.encode_many([{"hair": "pink", "eyes": "red"}] * 4)
    for _ in range(2):
        step((x, c), NULL)  # running statistics move away from 0 / 1
    model.train()
    stats = copy.deepcopy(model.generator.state_dict())
    together = model.edit(x, {"hair": "blue", "eyes": "green"})
    alone = torch.cat([model.edit(x[i:i + 1], {"hair": "blue", "eyes": "green"}) for i in range(4)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    _assert_tree_equal(stats, model.generator.state_dict(), "generator")
    assert model.generator.training  # the mode is restored
    with torch.no_grad():
        torch_eval = copy.deepcopy(model.generator)
        for m in torch_eval.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.forward = torch.nn.InstanceNorm2d.forward.__get__(m)
        torch_eval.eval()
        assert not torch.allclose(torch_eval(x, model.labels.encode_many([{"hair": "blue", "eyes": "green"}] * 4)),
                                  together, atol=1e-3)
        model.train()
        assert torch.allclose(model.generator(x, model.labels.encode_many([{"hair": "blue", "eyes": "green"}] * 4)),
                              together, atol=1e-5)  # what a train-mode G (the official test) gives


def test_grid_classify_and_preview():
    torch.manual_seed(0)
    model = stargan.Model(tiny()).eval()
    x = torch.rand(2, 3, S, S) * 2 - 1
    read = model.classify(x, "fer")
    assert read.shape == (2, BOTH.dim) and BOTH.dataset_of(read).tolist() == [1, 1]
    assert all(BOTH.decode(r)[0] == "fer" for r in read)
    grid = model.grid(x, "hair")
    assert grid.shape == (2, 3, 3, S, S)
    fill = model.classify(x, "anime")
    for j, hair in enumerate(HAIR):
        torch.testing.assert_close(grid[:, j], model.edit(x, BOTH.with_value(fill, "hair", hair)))
    labels_now = BOTH.encode_many([{"hair": "pink", "eyes": "green"}] * 2)
    assert model.grid(x, "eyes", labels_now).shape == (2, 2, 3, S, S)
    images, ncol = model.preview((x, labels_now))
    assert ncol == 1 + len(HAIR) + len(MOODS) and images.shape == (2 * ncol, 3, S, S)
    torch.testing.assert_close(images[0], x[0])
    with pytest.raises(ValueError, match="entries"):
        model.edit(x, torch.zeros(3))


# ----------------------------------------------------------------------------- data


def test_anime_tags_and_class_folders(tmp_path):
    anime = data.load_anime_tags(make_tag_set(tmp_path / "anime", n=12, untagged=2), S)
    assert len(anime) == 12 and anime.images.shape == (12, 3, S, S) and anime.images.dtype == torch.uint8
    assert not any(p.endswith(("12.jpg", "13.jpg")) for p in anime.paths)  # untagged: left out
    assert anime.spec == LabelSpec.of(ANIME)  # without a spec: the sorted colours found
    for path, v in zip(anime.paths, anime.labels):
        i = int(os.path.basename(path).split(".")[0])
        assert anime.spec.decode(v) == ("anime", {"hair": HAIR[i % 3], "eyes": EYES[i % 2]})
    limited = data.load_anime_tags(tmp_path / "anime", S, limit=4)  # spread over the file
    assert len(limited) == 4 and len({anime.spec.decode(v)[1]["hair"] for v in limited.labels}) == 3

    with pytest.raises(data.DataError, match="hair 'pink' not among the model's 2 hair values"):
        data.load_anime_tags(tmp_path / "anime", S, labels.anime_labels(("black", "blue"), EYES))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tags.csv").write_text("0,smiling girl\n")
    with pytest.raises(data.DataError, match="'smiling girl', not '<colour> hair <colour> eyes'"):
        data.load_anime_tags(tmp_path / "bad", S)

    fer = data.load_class_folders(make_class_set(tmp_path / "fer", n=4), S)  # finds train/
    assert len(fer) == 8 and fer.spec == LabelSpec.of(FER) and fer.images.shape == (8, 3, S, S)  # grey found
    assert torch.equal(fer.images[:, 0], fer.images[:, 1])  # greyscale -> RGB
    assert [fer.spec.decode(v)[1]["expression"] for v in fer.labels] == ["happy"] * 4 + ["sad"] * 4
    with pytest.raises(data.DataError, match="expression 'sad' not among"):
        data.load_class_folders(tmp_path / "fer", S, labels.class_labels(("happy", "angry")))
    assert data.check_labelled(tmp_path / "anime") == 12 and data.check_labelled(tmp_path / "fer") == 8
    empty = tmp_path / "empty"
    empty.mkdir()
    for fn in (data.check_labelled, lambda p: data.load_class_folders(p, S)):
        with pytest.raises(data.DataError, match="empty"):
            fn(empty)


def test_mixing_two_sets_and_their_batches(mixed, tmp_path):
    assert mixed.spec == BOTH and len(mixed) == 12 + 8
    assert mixed.images.shape == (20, 3, S, S) and mixed.dataset.tolist() == [0] * 12 + [1] * 8
    assert (mixed.labels[:12, BOTH.mask_slice] == torch.tensor([1.0, 0.0])).all()
    assert (mixed.labels[12:, BOTH.mask_slice] == torch.tensor([0.0, 1.0])).all()
    assert (mixed.labels[:12, BOTH.dataset_slice("fer")] == 0).all()
    assert (mixed.labels[12:, BOTH.dataset_slice("anime")] == 0).all()
    # sets decoded at other sizes are resized; a 1-channel tensor becomes RGB
    big = data.load_class_folders(tmp_path / "fer", 48)
    big.images = big.images[:, :1]
    again = data.mix_labelled(data.load_anime_tags(tmp_path / "anime", S), big, size=S)
    assert again.images.shape == (20, 3, S, S) and torch.equal(again.images[12:, 0], again.images[12:, 2])
    with pytest.raises(data.DataError, match="cannot mix"):
        data.mix_labelled(big, big)

    batches = data.LabelledBatches(mixed, 4, seed=0)
    for s in range(6):  # the data sets take turns, as the official multi-data-set loop
        x, y, k = batches(s)
        assert x.shape == (4, 3, S, S) and y.shape == (4, BOTH.dim) and k.tolist() == [s % 2] * 4
        assert torch.equal(BOTH.dataset_of(y), k) and x.min() >= -1 and x.max() <= 1
    again = data.LabelledBatches(mixed, 4, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(batches(5), again(5)))  # a pure function of the step
    with pytest.raises(data.DataError, match="larger than data set 'fer' \\(8 images\\)"):
        data.LabelledBatches(mixed, 10, seed=0)
    with pytest.raises(data.DataError, match="differ from the model's"):
        stargan.batches(mixed, TrainConfig(batch_size=2), tiny(LabelSpec.of(ANIME)), "cpu")


# ----------------------------------------------------------------------------- training


BASE = {"batch_size": 2, "device": "cpu", "log_every": 1, "sample_every": 2, "checkpoint_every": 0, "seed": 0,
        "n_samples": 2}


def test_tiny_run_on_a_tag_folder(tmp_path):
    root = make_tag_set(tmp_path / "anime")
    cfg = tiny(LabelSpec.of(ANIME), n_critic=2)
    last = Trainer("stargan", root, tmp_path / "run", cfg, TrainConfig(steps=3, **BASE)).run()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    keys = ("loss_d_real", "loss_d_fake", "loss_d_cls", "loss_gp", "loss_g_fake", "loss_g_cls", "loss_g_rec")
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(math.isfinite(r[k]) for r in records for k in keys)
    assert records[0]["loss_g_rec"] == 0 and records[1]["loss_g_rec"] > 0  # G's first step is step 2
    with Image.open(tmp_path / "run" / "samples" / "latest.png") as im:  # 2 rows: input + 3 hair colours
        assert im.size == (4 * (S + 2) + 2, 2 * (S + 2) + 2)
    model = hub.load_folder(last)
    assert isinstance(model, stargan.Model) and not model.training and model.labels == LabelSpec.of(ANIME)
    y = model.edit(torch.zeros(1, 3, S, S), {"hair": "pink", "eyes": "green"})
    assert y.shape == (1, 3, S, S) and torch.isfinite(y).all()


def test_tiny_mixed_run_checkpoint_and_exact_resume(tmp_path):
    """Two data sets by path (joined with os.pathsep): 4 steps straight == 2 + resume + 2, bit for bit."""
    make_tag_set(tmp_path / "anime")
    make_class_set(tmp_path / "fer")
    paths = os.pathsep.join([str(tmp_path / "anime"), str(tmp_path / "fer")])
    cfg = tiny(n_critic=2)  # G on steps 2 and 3 (iteration 1 of both data sets)
    straight = Trainer("stargan", paths, tmp_path / "a", cfg, TrainConfig(steps=4, **BASE))
    last = straight.run()
    assert len(straight.data) == 20 and straight.data.spec == BOTH
    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(v) for r in records for k, v in r.items() if k.startswith("loss"))
    with Image.open(tmp_path / "a" / "samples" / "latest.png") as im:  # an anime and a FER row, 1 + 3 + 2 columns
        assert im.size == (6 * (S + 2) + 2, 2 * (S + 2) + 2)
    model = hub.load_folder(last)
    assert model.labels == BOTH and model.grid(torch.zeros(1, 3, S, S), "expression").shape == (1, 2, 3, S, S)

    first = Trainer("stargan", paths, tmp_path / "b", cfg, TrainConfig(steps=2, **BASE))
    first.run()
    torch.manual_seed(123)  # the checkpoint, not the process, must carry the RNG
    resumed = Trainer("stargan", None, tmp_path / "b", cfg=TrainConfig(steps=4), resume=True)
    assert resumed.step == 2 and resumed.step_fn.step == 2
    resumed.run()
    _assert_tree_equal(straight.model.state_dict(), resumed.model.state_dict(), "model")
    _assert_tree_equal(straight.ema.module.state_dict(), resumed.ema.module.state_dict(), "ema")
    _assert_tree_equal(straight.step_fn.state_dict(), resumed.step_fn.state_dict(), "step_fn")
    a = (tmp_path / "a" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    # and G really trained after the step-2 checkpoint (its first updates are steps 2 and 3)
    two = torch.load(tmp_path / "b" / "checkpoints" / "step-000002" / "training_state.pt", weights_only=True)
    key = "generator.main.0.weight"
    assert not torch.equal(two["model"][key], straight.model.state_dict()[key])
    assert two["step_fn"]["latest_g"]["loss_g_rec"] == 0 and straight.step_fn.latest_g["loss_g_rec"] > 0


def test_labels_are_read_from_the_folders_when_a_run_gives_none(tmp_path):
    anime, fer = make_tag_set(tmp_path / "anime"), make_class_set(tmp_path / "fer")
    assert stargan.data_config(anime) == {"labels": LabelSpec.of(ANIME)}  # colours sorted, as the loader orders them
    assert stargan.data_config(f"{anime}{os.pathsep}{fer}") == {"labels": BOTH}
    shutil.copytree(fer, tmp_path / "moods2")
    two = stargan.data_config(f"{fer}{os.pathsep}{tmp_path / 'moods2'}")["labels"]  # named apart by folder
    assert [d.name for d in two.datasets] == ["fer", "moods2"] and [g.name for _, g, _ in two.groups()] == \
        ["expression", "moods2"] and two.mask_slice is not None
    with pytest.raises(data.DataError, match="not a labelled data set"):
        stargan.data_config(tmp_path / "anime" / "images")


def test_cli_trains_a_mixed_model_from_two_folders_alone(tmp_path):
    anime, fer = make_tag_set(tmp_path / "anime"), make_class_set(tmp_path / "fer")
    model = json.dumps({"image_size": S, "g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1, "d_repeat_num": 4})
    r = subprocess.run([sys.executable, "-m", "facegan", "train", "stargan", "--data", f"{anime}{os.pathsep}{fer}",
                        "--out", str(tmp_path / "run"), "--steps", "2", "--batch-size", "2", "--device", "cpu",
                        "--quiet", "--model", model], check=False, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    trained = hub.load_folder(tmp_path / "run" / "checkpoints" / "step-000002")
    assert trained.labels == BOTH


def test_in_memory_mixed_set_and_the_nan_guard(mixed, tmp_path):
    cfg = TrainConfig(steps=2, **{**BASE, "sample_every": 0})
    Trainer("stargan", mixed, tmp_path / "ok", tiny(n_critic=1), cfg).run()
    assert json.loads((tmp_path / "ok" / "status.json").read_text())["n_images"] == 20
    absurd = tiny(n_critic=1)
    absurd.g_lr = absurd.d_lr = 1e30  # past Config's check (lr <= 1), set afterwards: this tests the NaN guard
    with pytest.raises(TrainingDiverged, match="NaN/inf"):
        Trainer("stargan", mixed, tmp_path / "nan", absurd,
                TrainConfig(steps=4, **{**BASE, "sample_every": 0})).run()
    with pytest.raises(data.DataError, match="2 data set\\(s\\) \\(anime, fer\\), but 1 folder"):
        stargan.load_data(tmp_path / "anime", tiny())


# ----------------------------------------------------------------------------- the real data


def test_real_anime_and_fer_sets_mix(shared_data):
    anime_root, fer_root = shared_data / "anime-faces-64", shared_data / "fer2013-48"
    if not anime_root.is_dir() or not fer_root.is_dir():
        pytest.skip("anime-faces-64 or fer2013-48 missing from the shared data")
    assert data.check_labelled(anime_root) == 36736  # the last 4 images are untagged
    anime = data.load_anime_tags(anime_root, 64, labels.anime_labels(), limit=300)
    assert len(anime) == 300 and anime.spec == stargan.default_labels()
    decoded = [anime.spec.decode(v)[1] for v in anime.labels]
    assert {d["hair"] for d in decoded} == set(labels.ANIME_HAIR)  # spread over the file, not 300 aqua heads
    assert len({d["eyes"] for d in decoded}) >= 8
    fer = data.load_class_folders(fer_root, 64, labels.class_labels(), limit=70)  # finds train/
    assert len(fer) == 70 and {fer.spec.decode(v)[1]["expression"] for v in fer.labels} == set(labels.FER_EXPRESSIONS)
    assert torch.equal(fer.images[:, 0], fer.images[:, 2])  # greyscale, now RGB at 64 px
    both = data.mix_labelled(anime, fer)
    assert both.images.shape == (370, 3, 64, 64) and both.spec.dim == 12 + 10 + 7 + 2
    assert both.dataset.bincount().tolist() == [300, 70]
    batch = data.LabelledBatches(both, 16, seed=0)(1)
    assert batch[2].tolist() == [1] * 16 and F.one_hot(batch[1][:, -2:].argmax(1), 2)[:, 1].all()


def test_checkerboard_measures_the_two_pixel_period():
    """metrics.checkerboard by hand: a +-1 checkerboard is all period 2 (1.0); a smooth ramp has none
    (its energy is at the lowest frequencies); a flat picture's varying energy is nothing (0)."""
    from facegan import metrics

    board = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(20, 20)[None, None].expand(1, 3, 40, 40)
    ramp = torch.linspace(-1, 1, 40)[None, None, None].expand(1, 3, 40, 40)
    flat = torch.full((1, 3, 40, 40), 0.3)
    got = metrics.checkerboard(torch.cat([board, ramp, flat]), border=4)
    assert got[0] == pytest.approx(1.0) and got[1] < 0.01 and got[2] == 0.0


def test_resize_upsampling_paints_no_checkerboard_on_flat_pictures():
    """Issue #22: the official transposed convs paint a 2-pixel pattern on a flat-colour picture even
    with random weights (their 4x4 kernels overlap unevenly); nearest x2 + a 3x3 conv cannot (a flat
    map stays flat away from the border). An old checkpoint's config (no "upsample") is the official G."""
    from facegan import metrics

    colours = torch.tensor([[0.5, -0.2, 0.1], [-0.6, 0.3, 0.8], [0.0, 0.0, 0.0], [0.9, 0.9, -0.9]])
    flat = colours[:, :, None, None].expand(-1, -1, 64, 64)
    share = {}
    for how in ("transposed", "resize"):
        torch.manual_seed(0)
        cfg = stargan.Config(upsample=how, g_conv_dim=16, g_repeat_num=1)
        c = torch.zeros(4, cfg.labels.dim)
        c[:, 0] = 1
        with torch.no_grad():
            share[how] = metrics.checkerboard(stargan.Generator(cfg).eval()(flat, c))
    assert share["transposed"].min() > 0.1 and share["resize"].max() < 0.02, share
    assert stargan.Config().upsample == "transposed"  # what a config.json without the field means
    with pytest.raises(ValueError, match="upsample"):
        stargan.Config(upsample="bilinear-ish")


def test_resize_kernel_reproduces_a_transposed_conv_it_can_and_the_nearest_one_otherwise():
    """Issue #22, continuing the bundled (transposed) model as a resize one. The expected outputs come
    from torch's own layers: a 4x4 stride-2 ConvTranspose2d whose kernel is, per axis, built from a
    3x3 one as the enlargement sees it (taps t0 = w2, t1 = w1 + w2, t2 = w0 + w1, t3 = w0, written out
    here) is reproduced exactly by nearest x2 + Conv2d with resize_kernel's weight; a checkerboard
    kernel (phases that disagree) cannot be, and the least-squares weight is no further from it than
    the weights found by plain gradient descent on the same outputs."""
    torch.manual_seed(0)
    w = torch.randn(5, 3, 3, 3, dtype=torch.double)  # Conv2d layout: (out, in, 3, 3)
    taps = lambda v: torch.stack([v[..., 2], v[..., 1] + v[..., 2], v[..., 0] + v[..., 1], v[..., 0]], -1)  # noqa: E731
    t = taps(taps(w).transpose(-1, -2)).transpose(-1, -2)  # (out, in, 4 rows, 4 cols)
    t = t.permute(1, 0, 2, 3).contiguous()  # ConvTranspose2d layout: (in, out, 4, 4)
    x = torch.randn(2, 3, 9, 7, dtype=torch.double)
    want = F.conv_transpose2d(x, t, stride=2, padding=1)
    k = stargan.resize_kernel(t)
    assert k.shape == (5, 3, 3, 3) and torch.allclose(k, w, atol=1e-10)
    got = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), k, padding=1)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-10)

    odd = torch.randn(3, 5, 4, 4, dtype=torch.double)  # a general kernel: nearest, not equal
    want = F.conv_transpose2d(x, odd, stride=2, padding=1)
    err = (F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), stargan.resize_kernel(odd), padding=1) - want)
    fitted = torch.zeros(5, 3, 3, 3, dtype=torch.double, requires_grad=True)
    opt = torch.optim.Adam([fitted], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        loss = (F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), fitted, padding=1) - want).pow(2).mean()
        loss.backward()
        opt.step()
    assert 0 < err.pow(2).mean() <= loss.item() * 1.05
    with pytest.raises(ValueError, match="4x4"):
        stargan.resize_kernel(torch.zeros(3, 5, 3, 3))


def test_init_continues_a_transposed_model_as_a_resize_one(tmp_path):
    """--init with {"upsample": "resize"}: every layer but the up-sampling convs is the source's, those are
    resize_kernel of its transposed ones, D is the source's, and it trains on; resize back is refused."""
    root = make_tag_set(tmp_path / "anime")
    spec = LabelSpec.of(ANIME)
    exported = Trainer("stargan", root, tmp_path / "a", tiny(spec), TrainConfig(steps=2, **BASE)).run()
    source = hub.load(exported)
    warm = Trainer("stargan", root, tmp_path / "b", tiny(spec, upsample="resize"), TrainConfig(steps=2, **BASE),
                   init=exported)
    src = [m for m in source.generator.main]
    dst = [m for m in warm.model.generator.main if not isinstance(m, torch.nn.Upsample)]
    assert len(src) == len(dst) and sum(isinstance(m, torch.nn.ConvTranspose2d) for m in src) == 2
    for a, b in zip(src, dst):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            expect = stargan.resize_kernel(p) if isinstance(a, torch.nn.ConvTranspose2d) else p
            assert torch.equal(q, expect), (type(a).__name__, name)
    _assert_tree_equal(warm.model.discriminator.state_dict(), source.discriminator.state_dict())
    again = warm.run()
    assert hub.load(again).config.upsample == "resize"
    with pytest.raises(ValueError, match="cannot start"):
        Trainer("stargan", root, tmp_path / "c", tiny(spec), TrainConfig(steps=2, **BASE), init=again)


def test_mask_output_blends_the_drawn_picture_with_the_input_by_hand():
    """output "mask" (GANimation's attention): the edit is A * drawn + (1 - A) * input, A = sigmoid of
    the attention conv. Checked against an official ("image") G holding the same layers: with the
    attention conv's weights at 0 and bias b the edit is sigmoid(b) * that G's picture + (1 -
    sigmoid(b)) * the input, so at b = -40 the input itself and at b = 40 the official picture."""
    torch.manual_seed(0)
    spec = LabelSpec.of(ANIME)
    plain = stargan.Generator(tiny(spec, upsample="resize")).eval()
    masked = stargan.Generator(tiny(spec, upsample="resize", output="mask")).eval()
    missing, unexpected = masked.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == ["attention.bias", "attention.weight"] and not unexpected
    x = torch.rand(3, 3, S, S) * 2 - 1
    c = torch.zeros(3, spec.dim)
    c[:, 0] = 1
    with torch.no_grad():
        drawn = plain(x, c)
        masked.attention.weight.zero_()
        for b in (-40.0, 0.5, 40.0):
            masked.attention.bias.fill_(b)
            s_ = torch.sigmoid(torch.tensor(b))
            out, a = masked(x, c, with_attention=True)
            assert a.shape == (3, 1, S, S) and torch.allclose(a, s_.expand_as(a))
            assert torch.allclose(out, s_ * drawn + (1 - s_) * x, atol=1e-6)
        masked.attention.bias.fill_(-40.0)
        assert torch.allclose(masked(x, c), x, atol=1e-6)  # paints nothing: the input
    assert plain(x, c, with_attention=True)[1] is None
    with pytest.raises(ValueError, match="output"):
        stargan.Config(output="alpha")


def test_the_editor_reports_how_much_an_attention_model_repainted():
    """Editor.edit: an output="mask" model's edit says the share of the picture it repainted (the
    attention's mean: sigmoid(b) for an attention conv at weights 0 and bias b; at b = -40 the
    result is the input itself); an official ("image") model says nothing (None)."""
    from facegan.editor import Editor

    torch.manual_seed(0)
    spec = LabelSpec.of(ANIME)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (S, S, 3), dtype=np.uint8))
    plain = stargan.Model(tiny(spec)).eval()
    assert Editor(plain, dtype="float32").edit(picture, {"hair": "blue"}, crop="none", display=None).painted is None
    masked = stargan.Model(tiny(spec, output="mask")).eval()
    with torch.no_grad():
        masked.generator.attention.weight.zero_()
        masked.generator.attention.bias.fill_(0.5)
    r = Editor(masked, dtype="float32").edit(picture, {"hair": "blue"}, crop="none", display=None)
    assert r.painted == pytest.approx(torch.sigmoid(torch.tensor(0.5)).item(), abs=1e-6)
    with torch.no_grad():
        masked.generator.attention.bias.fill_(-40.0)
    r = Editor(masked, dtype="float32").edit(picture, {"hair": "blue"}, crop="none", display=None)
    assert r.painted < 1e-6
    assert np.abs(np.asarray(r.output, dtype=int) - np.asarray(picture, dtype=int)).max() <= 1


def test_init_continues_an_image_model_with_an_attention_mask(tmp_path):
    """--init with {"output": "mask"}: G's layers and D are the source's, the attention starts painting
    sigmoid(ATTENTION_START) of every pixel, so the first edits are that share of the source's edits
    plus the rest of the input; the run trains on, logging the mask term; mask back to image is refused."""
    root = make_tag_set(tmp_path / "anime")
    spec = LabelSpec.of(ANIME)
    exported = Trainer("stargan", root, tmp_path / "a", tiny(spec), TrainConfig(steps=2, **BASE)).run()
    source = hub.load(exported)
    warm = Trainer("stargan", root, tmp_path / "b", tiny(spec, output="mask", n_critic=1), TrainConfig(steps=4, **BASE),
                   init=exported)
    _assert_tree_equal(warm.model.discriminator.state_dict(), source.discriminator.state_dict())
    x = torch.rand(2, 3, S, S) * 2 - 1
    c = torch.zeros(2, spec.dim)
    c[:, 1] = 1
    share = torch.sigmoid(torch.tensor(stargan.ATTENTION_START))
    assert 0.9 < share < 0.99
    assert torch.allclose(warm.model.edit(x, c), share * source.edit(x, c) + (1 - share) * x, atol=1e-5)
    again = warm.run()
    assert hub.load(again).config.output == "mask"
    logged = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    mask_terms = [row["loss_g_mask"] for row in logged if row.get("loss_g_mask")]
    assert mask_terms and all(0 < v < 1 for v in mask_terms)
    with pytest.raises(ValueError, match="attention mask"):
        Trainer("stargan", root, tmp_path / "c", tiny(spec), TrainConfig(steps=2, **BASE), init=again)


def test_init_continues_an_anime_model_on_anime_and_fer(tmp_path):
    """--init of an anime-only model with --data anime:fer (the mixed model of issue #22 started from the
    bundled anime one): the run's labels are the data's, G's first conv keeps the image and anime weights
    and has zeros for the expression and mask entries, so every anime edit is the source's own; D's
    anime logits are the source's. A run that would drop labels the model knows is refused."""
    anime, fer = make_tag_set(tmp_path / "anime"), make_class_set(tmp_path / "fer")
    exported = Trainer("stargan", anime, tmp_path / "a", tiny(LabelSpec.of(ANIME), upsample="resize", output="mask"),
                       TrainConfig(steps=2, **BASE)).run()
    source = hub.load(exported).eval()
    r = subprocess.run([sys.executable, "-m", "facegan", "train", "stargan", "--init", str(exported),
                        "--data", f"{anime}{os.pathsep}{fer}", "--out", str(tmp_path / "run"), "--steps", "1",
                        "--batch-size", "2", "--device", "cpu", "--quiet"], check=False, capture_output=True,
                       text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert hub.load(tmp_path / "run" / "checkpoints" / "step-000001").labels == BOTH

    warm = Trainer("stargan", f"{anime}{os.pathsep}{fer}", tmp_path / "b",
                   tiny(BOTH, upsample="resize", output="mask"), TrainConfig(steps=1, **BASE), init=exported)
    first = warm.model.generator.main[0].weight.detach()
    old = source.generator.main[0].weight
    n_anime = ANIME.dim
    assert torch.equal(first[:, :3 + n_anime], old) and not first[:, 3 + n_anime:].any()  # FER entries, mask
    x = torch.rand(3, 3, S, S) * 2 - 1
    for hair, eyes in (("pink", "green"), ("black", "red"), ("blue", "red")):
        want = source.edit(x, {"hair": hair, "eyes": eyes})
        got = warm.model.eval().edit(x, {"hair": hair, "eyes": eyes})  # BOTH's vector: mask (1, 0)
        assert torch.allclose(got, want, atol=1e-5), (hair, eyes)
    with torch.no_grad():
        logits = warm.model.discriminator(x)[1]
    assert torch.allclose(logits[:, :n_anime], source.discriminator(x)[1], atol=1e-5)

    fewer = LabelSpec.of(labels.anime_labels(HAIR[:2], EYES), FER)  # "pink" hair missing
    with pytest.raises(ValueError, match="leave out 1 of the model's"):
        stargan.label_entries(LabelSpec.of(ANIME), fewer)
    with pytest.raises(ValueError, match="hair/pink"):
        stargan.init_state(source, stargan.Model(tiny(fewer, upsample="resize", output="mask")))


def test_the_fixed_pictures_show_input_before_and_after(tmp_path):
    """benchmarks/fixed_pictures.py stargan: one PNG per edit the models know (input, before, after: 8
    faces each, from the committed inputs), the eye band for an eye edit; the before and after rows
    differ when the models do, and are the two models' own edits."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fixed_pictures as fp

    from facegan.editor import Editor

    spec = LabelSpec.of(labels.anime_labels(("blue", "black"), ("red", "brown")))
    folders = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        folders.append(hub.save_pretrained(stargan.Model(tiny(spec)).eval(), tmp_path / f"m{seed}"))
    written = fp.stargan(str(folders[0]), str(folders[1]), tmp_path / "out", "tiny")
    assert [p.name for p in written] == ["tiny-hair-blue.jpg", "tiny-eyes-red.jpg", "tiny-eyes-red-eyes.jpg"]
    inputs = fp.anime_inputs()
    assert len(inputs) == fp.N == 8
    with Image.open(written[0]) as im:
        grid = np.asarray(im.convert("RGB")).astype(int)
    tiles = fp.rows_picture([("input", inputs), ("before", inputs), ("after", inputs)])
    assert grid.shape == np.asarray(tiles).shape  # 3 rows of 8 tiles of fp.SHOWN px
    pitch = (grid.shape[0] - 4) // 3  # labelled_grid: 4 px pad, then rows of tile + caption + pad
    row = lambda r: grid[4 + r * pitch:4 + r * pitch + fp.SHOWN, 4:4 + fp.SHOWN]  # noqa: E731 (first tile)
    assert np.abs(row(1) - row(2)).max() > 20
    want = [np.asarray(Editor(hub.load(f)).edit(inputs[0], {"hair": "blue"}, crop="none", display=None).output
                       .resize((fp.SHOWN, fp.SHOWN), Image.Resampling.LANCZOS)).astype(int) for f in folders]
    for r, own in ((1, 0), (2, 1)):  # each row is its model's edit (JPEG: near it, far from the other's)
        assert np.abs(row(r) - want[own]).mean() < 0.4 * np.abs(row(r) - want[1 - own]).mean()
