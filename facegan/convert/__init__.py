"""Converters: other implementations' checkpoints -> facegan models (then ``hub.save_pretrained``).

Each converter reads its source as data only (``torch.load(..., weights_only=True)``: tensors
and containers, never code) and raises ``facegan.hub.CheckpointError`` with a clear message
for anything it does not recognise.

- ``pytorch_examples_dcgan``: ``netG_epoch_N.pth`` / ``netD_epoch_N.pth`` of pytorch/examples
  ``dcgan/main.py`` -> a DCGAN with the normal prior
  (``facegan convert dcgan --from pytorch-examples --netg ... [--netd ...]``).
- ``ugatit``: ``<dataset>_params_<step>.pt`` of the official U-GAT-IT PyTorch code,
  znxlwm/UGATIT-pytorch (``UGATIT.save()``: both generators and the four discriminators)
  -> a U-GAT-IT, light or full, or generator-only (``facegan convert ugatit FILE``).
- ``stargan``: ``<step>-G.ckpt`` (and ``<step>-D.ckpt``) of the official StarGAN code,
  yunjey/stargan -> a StarGAN whose labels are the official ``--c_dim`` attributes
  (``facegan convert stargan G.ckpt --c-dim 5 [--d-ckpt D.ckpt] [--labels ...]``).
- ``acgan``: ``netG_epoch_N.pth`` (and ``netD_epoch_N.pth``) of gitlimlab/ACGAN-PyTorch
  ``main.py`` (the paper's ImageNet 128 px or CIFAR-10 32 px nets) -> an AC-GAN with the
  "paper" backbone and the normal prior
  (``facegan convert acgan netG.pth [--netd netD.pth] [--classes a,b,...]``).
- ``stylegan``: rosinality/stylegan2-pytorch ``.pt`` files (its ``train.py`` checkpoints and
  ``convert_weight.py`` output) and NVlabs/stylegan2-ada-pytorch network pickles (read with a
  restricted unpickler that never runs the source they carry) -> a StyleGAN2; genforce's
  StyleGAN (v1) state_dicts (``huggan/stylegan_animeface512``'s ``pytorch_model.bin``) -> a
  generator-only StyleGAN v1; told apart by their contents (``facegan convert stylegan FILE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# source name -> its converter module
SOURCES = {
    "pytorch-examples": "facegan.convert.pytorch_examples_dcgan",
    "ugatit": "facegan.convert.ugatit",
    "stargan": "facegan.convert.stargan",
    "gitlimlab": "facegan.convert.acgan",
    "rosinality": "facegan.convert.stylegan",
    "stylegan2-ada": "facegan.convert.stylegan",
}

# ``facegan convert <technique>`` -> the sources it reads (``--from`` picks one where there are several)
BY_TECHNIQUE = {
    "dcgan": ("pytorch-examples",),
    "ugatit": ("ugatit",),
    "stargan": ("stargan",),
    "acgan": ("gitlimlab",),
    "stylegan": ("rosinality", "stylegan2-ada"),  # recognised from the file: no --from
}


@dataclass(frozen=True)
class FileConverter:
    """A converter that needs nothing but one file: what a ``<repo>@<revision>:<file>`` checkpoint
    reference (``facegan.hub.download_foreign``) is converted with. ``convert(path)`` returns
    (model in eval mode, its model card, the ``config.json`` extra that records the source), or
    raises ``CheckpointError``; it reads the file as data only."""

    technique: str
    suffixes: tuple[str, ...]  # lower case, with the dot
    convert: Callable[[Path], tuple[object, str, dict]]


def _stylegan(path: Path) -> tuple[object, str, dict]:
    from facegan.convert import stylegan as converter

    model = converter.convert(path)
    return model, converter.model_card(model, path), converter.provenance(path, model)


# Tried in this order for a file of their suffix. Another technique's single-file converter is one
# more entry (the others here need more than the file: a size, c_dim, a second file).
FILE_CONVERTERS: tuple[FileConverter, ...] = (
    FileConverter("stylegan", (".pt", ".pth", ".pkl", ".bin"), _stylegan),  # .bin: genforce's on the Hub
)


def file_converters(filename: str, technique: str | None = None) -> list[FileConverter]:
    """The converters that may read ``filename`` (by its suffix), only ``technique``'s if given."""
    suffix = PurePosixPath(filename).suffix.lower()
    return [c for c in FILE_CONVERTERS if suffix in c.suffixes and technique in (None, c.technique)]
