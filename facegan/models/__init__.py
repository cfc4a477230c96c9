"""The registry of techniques: a name -> its module, which declares ``TECHNIQUE``, a ``Technique``:
what it is made of (Config, Model, TrainStep) and what the trainer, the CLI, the app and the API read
about it (its data, its defaults). Callers read these fields; nothing probes a module for optional
attributes. A new technique is a module with a ``TECHNIQUE`` and a line in ``TECHNIQUES``, or, from
another package, an entry point (``discover``; tests/test_new_technique.py builds one)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

TECHNIQUES = {
    "dcgan": "facegan.models.dcgan",
    "ugatit": "facegan.models.ugatit",
    "stargan": "facegan.models.stargan",
    "acgan": "facegan.models.acgan",
    "stylegan": "facegan.models.stylegan",
}


def check_images(path) -> int:
    """A plain image folder's cheap check (``Technique.check_data``'s default): its readable images."""
    from facegan import data as data_lib

    return data_lib.check_folder(path)


def load_images(path, cfg, limit: int | None = None):
    """An unlabelled image folder at the model's ``image_size`` (``Technique.load_data``'s default)."""
    from facegan import data as data_lib

    return data_lib.load_folder(path, cfg.image_size, limit=limit)


def image_batches(data, train_cfg, cfg, device):
    """Shuffled batches of images, each ``(images (B, 3, S, S) in [-1, 1], None)`` (``Technique.batches``'s default)."""
    from facegan import data as data_lib

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
    check_data: Callable[[str], int] = check_images  # cheap check before a job: images, or DataError
    load_data: Callable = load_images  # (path, config, limit) -> the data set the trainer holds
    batches: Callable = image_batches  # (data, train config, config, device) -> batch(step) -> tensors
    data_fields: tuple[str, ...] = ()  # Config fields read from the data when a run does not give them ...
    data_config: Callable[[str, Mapping], dict] | None = None  # ... by data_config(path, given)
    data_separator: str | None = None  # --data may join several folders with it (StarGAN: one per data set)
    cpu_channels_last: bool = False  # the trainer keeps G and D channels_last on the CPU too (oneDNN's fast path)
    # (source model, this run's model) -> the state --init loads, where a run may change the source's
    # layers (StarGAN: transposed up-sampling continued as resize); None: the source's own state
    init_state: Callable | None = None


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


def make_config(technique: str, values: Mapping):
    """The technique's Config of ``values``; a field it does not have is named, with the ones it has
    (not Python's "unexpected keyword argument"). Bad values are each field's own check's to refuse."""
    import dataclasses

    t = spec(technique)
    known = [f.name for f in dataclasses.fields(t.Config)]
    if unknown := sorted(set(values) - set(known)):
        raise ValueError(f"{technique} has no setting {', '.join(map(repr, unknown))}; its settings are "
                         f"{', '.join(known)}")
    return t.Config(**values)


def read_from_data(technique: str, data: str | None, given: dict) -> dict:
    """Config fields a technique reads from its data (``Technique.data_config``: StarGAN's labels
    from the folders, AC-GAN's classes and group) for a new run whose ``given`` overrides leave
    some of them out; {} otherwise."""
    t = spec(technique)
    if t.data_config is None or not (data or "").strip() or all(f in given for f in t.data_fields):
        return {}
    return t.data_config(data, given)


PRECISION = ("inference_dtype", "PRECISION_TOLERANCE", "worst_pixel", "Precision", "checked_precision",
             "probe_latents", "probe_pictures", "autocast", "memory_format", "exact_dtype")


def __getattr__(name: str):
    """``models.checked_precision`` and the rest of ``facegan.models.precision``, imported when first
    used: the registry itself needs no torch, so that the CLI checks its arguments before importing it."""
    if name in PRECISION:
        from facegan.models import precision

        return getattr(precision, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
