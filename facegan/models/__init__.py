"""The registry of techniques: a name -> its module, which declares ``TECHNIQUE``, a ``Technique``:
what it is made of (Config, Model, TrainStep) and what the trainer, the CLI, the app and the API read
about it (its data, its defaults). Callers read these fields; nothing probes a module for optional
attributes. A new technique is a module with a ``TECHNIQUE`` and a line in ``TECHNIQUES``, or, from
another package, an entry point (``discover``; tests/test_new_technique.py builds one)."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

import torch

from facegan import data as data_lib

TECHNIQUES = {
    "dcgan": "facegan.models.dcgan",
    "ugatit": "facegan.models.ugatit",
    "stargan": "facegan.models.stargan",
    "acgan": "facegan.models.acgan",
    "stylegan": "facegan.models.stylegan",
}


def load_images(path, cfg, limit: int | None = None) -> data_lib.ImageSet:
    """An unlabelled image folder at the model's ``image_size`` (``Technique.load_data``'s default)."""
    return data_lib.load_folder(path, cfg.image_size, limit=limit)


def image_batches(data: data_lib.ImageSet, train_cfg, cfg, device) -> data_lib.Batches:
    """Shuffled batches of images, each ``(images (B, 3, S, S) in [-1, 1], None)`` (``Technique.batches``'s default)."""
    return data_lib.Batches(data, train_cfg.batch_size, train_cfg.seed, device, train_cfg.flip)


@dataclass(frozen=True)
class Technique:
    """A technique's declaration (its module's ``TECHNIQUE``). One default per setting: the CLI, the
    Training tab, the API and the trainer all read ``batch_size`` and ``default_data`` from here."""

    name: str  # the registry name: CLI verbs, config.json, the app's tabs
    Config: type  # a dataclass; every field checked when built; also the training settings
    Model: type  # what a checkpoint holds: nn.Module(config) with .generator (and D unless exported without)
    TrainStep: type  # TrainStep(model, config)(batch, autocast) -> {loss name: tensor}
    default_data: str  # its data set under facegan.data.data_root()
    batch_size: int  # a new run's batch when none is given
    check_data: Callable[[str], int] = data_lib.check_folder  # cheap check before a job: images, or DataError
    load_data: Callable = load_images  # (path, config, limit) -> the data set the trainer holds
    batches: Callable = image_batches  # (data, train config, config, device) -> batch(step) -> tensors
    data_fields: tuple[str, ...] = ()  # Config fields read from the data when a run does not give them ...
    data_config: Callable[[str, Mapping], dict] | None = None  # ... by data_config(path, given)
    data_separator: str | None = None  # --data may join several folders with it (StarGAN: one per data set)
    cpu_channels_last: bool = False  # the trainer keeps G and D channels_last on the CPU too (oneDNN's fast path)


ENTRY_POINTS = "facegan.techniques"  # another package's techniques: [project.entry-points."facegan.techniques"]


def register(name: str, module_path: str) -> None:
    """Add a technique (a module with ``TECHNIQUE``) under ``name``, in this process: after this
    the trainer, ``hub.load`` and the app know it. An installed package declares its techniques as
    entry points instead (``discover``), which every process, a training job's too, reads."""
    TECHNIQUES[name] = module_path


def discover() -> None:
    """Add the techniques installed packages declare under the entry-point group ``ENTRY_POINTS``
    (``name = "package.module"``); a built-in name is never replaced."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINTS):
        TECHNIQUES.setdefault(ep.name, ep.value)


discover()


def get(name: str | None) -> ModuleType:
    if name not in TECHNIQUES:
        raise ValueError(f"unknown technique {name!r}; known: {', '.join(TECHNIQUES)}")
    return importlib.import_module(TECHNIQUES[name])


def spec(name: str | None) -> Technique:
    """The declaration of technique ``name``."""
    return get(name).TECHNIQUE


def technique_of(model) -> str:
    """The registry name of a technique's ``Model`` instance."""
    return importlib.import_module(type(model).__module__).TECHNIQUE.name


def read_from_data(technique: str, data: str | None, given: dict) -> dict:
    """Config fields a technique reads from its data (``Technique.data_config``: StarGAN's labels
    from the folders, AC-GAN's classes and group) for a new run whose ``given`` overrides leave
    some of them out; {} otherwise."""
    t = spec(technique)
    if t.data_config is None or not (data or "").strip() or all(f in given for f in t.data_fields):
        return {}
    return t.data_config(data, given)


def inference_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """"auto": bfloat16 where the hardware computes it natively (CUDA, or a CPU with
    AVX512-BF16 / AMX: 2.2-2.3x faster, pictures within a few 1/255 of float32), else float32;
    ``FACEGAN_DTYPE=float32`` (or bfloat16) in the environment decides for "auto" instead."""
    if dtype == "auto" and os.environ.get("FACEGAN_DTYPE", "auto") != "auto":
        dtype = os.environ["FACEGAN_DTYPE"]
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"FACEGAN_DTYPE is auto, float32, bfloat16 or float16, not {dtype!r}")
    if dtype != "auto":
        return getattr(torch, dtype) if isinstance(dtype, str) else dtype
    if device.type == "cuda" or (device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return torch.bfloat16
    return torch.float32


PRECISION_TOLERANCE = 2.0  # the worst pixel (in 1/255) a model may be off in bf16 and still be drawn so


def worst_pixel(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference of two picture batches in [-1, 1] as shown (clamped), in 1/255."""
    return float((a.float().clamp(-1, 1) - b.float().clamp(-1, 1)).abs().max()) * 127.5


@dataclass(frozen=True)
class Precision:
    """How a wrapper draws a model: ``dtype``, and the worst pixel of bf16 against float32 on fixed
    inputs measured when it was chosen (None: not measured, float32 asked for or all there is)."""

    dtype: torch.dtype
    worst: float | None = None

    def describe(self) -> str:
        if self.dtype == torch.float32:
            return "float32" + (f" (bf16 was {self.worst:.1f}/255 off at the worst pixel)" if self.worst else "")
        return f"{str(self.dtype).removeprefix('torch.')}" + (
            f" (within {self.worst:.1f}/255 of float32)" if self.worst is not None else "")


def checked_precision(dtype: str | torch.dtype, device: torch.device,
                      draw: Callable[[torch.dtype], torch.Tensor]) -> Precision:
    """``inference_dtype``, where "auto" keeps bf16 only when ``draw(bf16)`` (pictures of a few fixed
    inputs, drawn as the wrapper draws) is within PRECISION_TOLERANCE / 255 of ``draw(float32)`` at
    the worst pixel; else float32. A converted or user-loaded model whose pictures bf16 would
    visibly change is so drawn exactly; a dtype asked for by name is taken as it is."""
    chosen = inference_dtype(dtype, device)
    if dtype != "auto" or chosen == torch.float32 or os.environ.get("FACEGAN_DTYPE", "auto") != "auto":
        return Precision(chosen)
    with torch.no_grad():
        worst = worst_pixel(draw(torch.float32), draw(chosen))
    return Precision(chosen if worst <= PRECISION_TOLERANCE else torch.float32, worst)


def probe_latents(n: int, dim: int) -> torch.Tensor:
    """The fixed latents of a precision check: N(0, 1), seed 0 (the same for every model)."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(0))


def probe_pictures(n: int, size: int) -> torch.Tensor:
    """The fixed pictures of a precision check for image-to-image models: smooth colour fields in
    [-1, 1] (8 x 8 noise, enlarged), seed 0."""
    small = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)


def autocast(device: torch.device, dtype: torch.dtype):
    """Mixed precision for inference in ``dtype`` (a no-op for float32): weights stay float32,
    the convs run in bfloat16, norms where autocast keeps them in float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
