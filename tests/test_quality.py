"""The quality protocol's parts: precision / recall against hand-derived numbers, the Fréchet
distance from statistics, the anime feature space, seeded sampling, the cached real statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facegan import metrics, quality
from facegan.models import acgan, dcgan


def test_precision_recall_by_hand():
    """Real points 0, 1, 2, 3 on a line (k = 1: each ball's radius 1); fakes 0.5 and 10 (radius 9.5 each)."""
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [10.0]])
    precision, recall = metrics.precision_recall(real, fake, k=1)
    assert precision == pytest.approx(0.5)  # 0.5 lies in the ball around 0; 10 in none
    assert recall == pytest.approx(1.0)  # every real point within 9.5 of 0.5
    precision, recall = metrics.precision_recall(real, np.array([[0.2], [0.3], [0.4]]), k=1)
    # every fake near 0 (precision 1); the fakes' balls have radius 0.1, the nearest real point is 0.2 away
    assert precision == 1.0 and recall == 0.0


def test_precision_recall_of_a_collapsed_generator():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 8))
    collapsed = np.repeat(real[:1], 500, 0) + rng.normal(scale=1e-3, size=(500, 8))
    p, r = metrics.precision_recall(real, collapsed)
    assert p == 1.0 and r < 0.05  # realistic, but one face: recall says so
    p2, r2 = metrics.precision_recall(real, rng.normal(size=(500, 8)))
    assert p2 > 0.6 and r2 > 0.6


def test_frechet_distance_from_statistics_matches_by_hand():
    mu1, mu2 = np.array([0.0, 0.0]), np.array([3.0, 4.0])
    s = np.eye(2)
    assert metrics.fid_from_stats(mu1, s, mu2, s) == pytest.approx(25.0)  # |mu1 - mu2|^2, equal covariances
    # diagonal covariances: tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(a) - sqrt(b))^2
    assert metrics.fid_from_stats(mu1, np.diag([1.0, 4.0]), mu1, np.diag([4.0, 9.0])) == pytest.approx(1.0 + 1.0)


def test_the_anime_feature_space_is_the_tag_classifier():
    feats = metrics.AnimeFeatures().features([torch.rand(3, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1])
    assert feats.shape == (5, 256) and np.isfinite(feats).all()


def test_sampling_is_seeded_and_batch_independent():
    torch.manual_seed(0)
    model = dcgan.Model(dcgan.Config(ngf=8, ndf=8)).eval()
    a = torch.cat(list(quality.sample_batches(model, 10, seed=3, batch=4)))
    b = torch.cat(list(quality.sample_batches(model, 10, seed=3, batch=10)))
    assert a.shape == (10, 3, 64, 64) and torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, torch.cat(list(quality.sample_batches(model, 10, seed=4))))
    with pytest.raises(ValueError, match="psi"):
        next(quality.sample_batches(model, 2, psi=0.5))


def test_acgan_sampling_draws_the_classes_asked_for():
    torch.manual_seed(0)
    model = acgan.Model(acgan.Config(ngf=8, ndf=8, classes=["red", "blue", "green"])).eval()
    out = torch.cat(list(quality.sample_batches(model, 6, class_weights=[0, 1, 0])))
    z = model.sample_latent(6, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, model.generate(z, "blue").clamp(-1, 1), atol=1e-5)


def test_the_protocol_draws_acgan_classes_as_often_as_the_real_set_has_them(tmp_path, face_folder):
    """Five tags: red hair three times, blue once, aqua once; the model's classes in its own order
    (green, which the data never has, weighs 0). Other techniques and unlabelled folders: uniform (None)."""
    (tmp_path / "tags.csv").write_text("0,red hair blue eyes\n1,blue hair red eyes\n2,red hair red eyes\n"
                                       "3,aqua hair aqua eyes\n4,red hair green eyes\n")
    model = acgan.Model(acgan.Config(ngf=8, ndf=8, classes=["blue", "green", "red", "aqua"]))
    assert quality.data_class_weights(model, tmp_path) == [1.0, 0.0, 3.0, 1.0]
    assert quality.data_class_weights(model, face_folder) is None
    assert quality.data_class_weights(dcgan.Model(dcgan.Config(ngf=8, ndf=8)), tmp_path) is None


def test_measure_on_a_tiny_set_caches_the_real_statistics(tmp_path, monkeypatch, face_folder):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    model = dcgan.Model(dcgan.Config(ngf=8, ndf=8)).eval()

    class Tiny:  # a small stand-in feature space for Inception (the real one costs minutes here)
        def features(self, batches):
            return np.concatenate([b.float().mean((2, 3)).numpy().repeat(4, 1) + 1e-3 * np.arange(12)
                                   for b in batches]).astype(np.float64)

    said = []
    row = quality.measure(model, face_folder, "tiny", n=20, inception=Tiny(), detect=4, progress=said.append)
    assert row.protocol == f"quick check (20 faces vs {row.n_real} real)" and row.n_real > 0
    assert row.fid >= 0 and row.anime_fd >= 0 and 0 <= row.precision <= 1 and 0 <= row.recall <= 1
    assert any("computed once" in s for s in said)
    said.clear()
    again = quality.measure(model, face_folder, "tiny", n=20, inception=Tiny(), detect=4, progress=said.append)
    assert not any("computed once" in s for s in said)  # from the cache
    assert again.fid == pytest.approx(row.fid) and again.anime_fd == pytest.approx(row.anime_fd)


def test_cli_sample_writes_the_faces_the_protocol_measures(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from facegan import cli, hub
    from facegan.images import to_pil

    torch.manual_seed(0)
    folder = hub.save_pretrained(dcgan.Model(dcgan.Config(ngf=8, ndf=8)).eval(), tmp_path / "ckpt")
    out = tmp_path / "faces"
    assert cli.main(["sample", "dcgan", "--checkpoint", str(folder), "--n", "7", "--out", str(out), "--seed", "2",
                     "--quiet"]) == 0
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(7)]
    want = to_pil(torch.cat(list(quality.sample_batches(hub.load_folder(folder), 7, seed=2))))
    for f, w in zip(files, want):
        assert np.array_equal(np.asarray(Image.open(f).convert("RGB")), np.asarray(w))
    capsys.readouterr()
    for argv, says in ((["--out", str(out)], "already holds PNGs"), (["--psi", "0.5", "--out", str(tmp_path / "x")],
                                                                      "--psi (truncation) is for stylegan")):
        assert cli.main(["sample", "dcgan", "--checkpoint", str(folder), "--n", "2", *argv]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1


def test_quality_curve_draws_runs_against_images_and_cpu_hours(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT
    from PIL import Image

    runs = []
    for i in range(2):
        run = tmp_path / f"run{i}"
        run.mkdir()
        (run / "quality.jsonl").write_text("".join(json.dumps(
            {"step": k, "images_seen": 1000 * k, "cpu_hours": 0.1 * k * (i + 1), "fid": 100.0 - k, "anime_fd": 9.0 - k,
             "n": 50, **({"recall": 0.25 * k} if i else {})}) + "\n" for k in range(1, 4)) + '{"cut by a cra')
        runs.append(str(run))
    out = tmp_path / "curve.png"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality_curve.py"), *runs, "--out", str(out),
                           "--labels", "a", "b"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "a: 3 points, last at 3,000 images / 0.30 CPU-h: FID 97.0, anime-FD 6.00" in done.stdout
    assert "b: 3 points, last at 3,000 images / 0.60 CPU-h: FID 97.0, anime-FD 6.00, recall 0.75" in done.stdout
    assert Image.open(out).size[0] > 800 and Image.open(out).size[1] > 1000  # a third row: recall
    (tmp_path / "empty").mkdir()
    bad = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality_curve.py"), str(tmp_path / "empty")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "no quality.jsonl lines" in bad.stderr
