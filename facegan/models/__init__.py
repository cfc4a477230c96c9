"""The registry of techniques: a name -> its module (Config, Generator, Discriminator, Model, TrainStep)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
from types import ModuleType

import torch

TECHNIQUES = {
    "dcgan": "facegan.models.dcgan",
    "ugatit": "facegan.models.ugatit",
    "stargan": "facegan.models.stargan",
    "acgan": "facegan.models.acgan",
    "stylegan": "facegan.models.stylegan",
}


def get(name: str | None) -> ModuleType:
    if name not in TECHNIQUES:
        raise ValueError(f"unknown technique {name!r}; known: {', '.join(TECHNIQUES)}")
    return importlib.import_module(TECHNIQUES[name])


def technique_of(model) -> str:
    """The registry name of a technique's ``Model`` instance."""
    return importlib.import_module(type(model).__module__).technique


def read_from_data(technique: str, data: str | None, given: dict) -> dict:
    """Config fields a technique reads from its data (``data_config``: StarGAN's labels from the
    folders, AC-GAN's classes) for a new run whose ``given`` overrides leave some of them out; {}
    otherwise. A ``data_config`` of two parameters also sees ``given`` (AC-GAN's group and top_k)."""
    module = get(technique)
    fields = getattr(module, "data_fields", ())
    if not hasattr(module, "data_config") or not (data or "").strip() or all(f in given for f in fields):
        return {}
    if len(inspect.signature(module.data_config).parameters) > 1:
        return module.data_config(data, given)
    return module.data_config(data)


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


def autocast(device: torch.device, dtype: torch.dtype):
    """Mixed precision for inference in ``dtype`` (a no-op for float32): weights stay float32,
    the convs run in bfloat16, norms where autocast keeps them in float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
