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
