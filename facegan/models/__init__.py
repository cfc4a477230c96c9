"""The registry of techniques: a name -> its module (Config, Generator, Discriminator, Model, TrainStep)."""

from __future__ import annotations

import importlib
from types import ModuleType

TECHNIQUES = {
    "dcgan": "facegan.models.dcgan",
    "ugatit": "facegan.models.ugatit",
    "stargan": "facegan.models.stargan",
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
    folders) for a new run whose ``given`` overrides leave some of them out; {} otherwise."""
    module = get(technique)
    fields = getattr(module, "data_fields", ())
    if not hasattr(module, "data_config") or not (data or "").strip() or all(f in given for f in fields):
        return {}
    return module.data_config(data)
