"""Pipelines: one class per technique with the verbs users call, each made once by ``from_pretrained``.

    from facegan.pipelines import StyleGANPipeline
    pipe = StyleGANPipeline.from_pretrained()                       # the default model (Hub-pinned or bundled)
    pipe.face(3, psi=0.7).picture.save("face.png")

``from_pretrained(ref=None, device="cpu", dtype="auto")`` takes what every interface takes: nothing
(the technique's default: the manifest's Hub revision, else the bundled folder), a bundled name
(``"stargan-anime-fer-64"``, ``"stylegan-anime-64"``), a checkpoint folder, ``"repo@revision"`` or ``"repo@revision:file"`` (a
foreign file, converted once). It checks that the model is the pipeline's technique, and picks the
dtype once (``dtype="auto"``: bf16 only where it is native and draws within 2/255 of float32). The
pipeline classes are the library's wrappers (``DCGANPipeline`` is an ``Explorer``, ``StyleGANPipeline``
a ``Studio`` with the folder's shipped labelled directions, ...): the CLI and the app build them here.
"""

from __future__ import annotations

import os
from pathlib import Path

from facegan import directions, hub, models
from facegan.classgrid import ClassGrid
from facegan.editor import Editor
from facegan.explorer import Explorer
from facegan.studio import Studio
from facegan.translator import Translator


def resolve(technique: str, ref: str | os.PathLike | None = None) -> tuple[Path, str]:
    """A reference -> (the local checkpoint folder, where it came from in words). None: the
    technique's default; a manifest entry's name: that bundled model; otherwise ``hub.resolve``."""
    manifest = hub.read_manifest(hub.MANIFEST)
    text = technique if ref is None or str(ref).strip() == "" else str(ref).strip()
    # a manifest entry by its name ("stargan-anime-fer-64") or its bundled folder's ("stylegan-anime-64")
    name = next((k for k, e in manifest.items() if text in (k, e.get("bundled"))), None)
    if name is not None and not Path(text).is_dir():
        kind = manifest[name].get("technique", name)
        if kind != technique:
            raise hub.CheckpointError(f"{text!r} is a bundled {kind} model, not {technique}")
        default = hub.default_checkpoint(name)
        return default.folder, default.notice
    if ref is None or str(ref).strip() == "":
        raise hub.CheckpointError(f"no default {technique} checkpoint is bundled yet: give a checkpoint "
                                  "(a folder or <hub repo>@<revision>)")
    return hub.resolve(ref, technique), f"Loaded {ref}."


def load(technique: str, ref: str | os.PathLike | None = None, device: str = "cpu"):
    """(the model of ``ref``, its folder, the notice of where it came from), checked to be ``technique``'s."""
    folder, notice = resolve(technique, ref)
    model = hub.load_folder(folder, device)
    if models.technique_of(model) != technique:
        raise hub.CheckpointError(f"{ref} is a {models.technique_of(model)} checkpoint, not {technique}")
    return model, folder, notice


class Pretrained:
    """``from_pretrained`` for a wrapper of one technique; the made pipeline keeps ``folder`` and ``notice``."""

    technique: str
    folder: Path | None = None
    notice: str = ""

    @classmethod
    def from_pretrained(cls, ref: str | os.PathLike | None = None, *, device: str = "cpu",
                        dtype: str = "auto", **kwargs):
        model, folder, notice = load(cls.technique, ref, device)
        pipe = cls(model, dtype=dtype, **cls.from_folder(folder), **kwargs)
        pipe.folder, pipe.notice = folder, notice
        return pipe

    @classmethod
    def from_folder(cls, folder: Path) -> dict:
        """What else of the checkpoint folder the wrapper takes (StyleGAN: its labelled directions)."""
        return {}


class DCGANPipeline(Pretrained, Explorer):
    """DCGAN: faces from hex codes, D ranking, offset vectors, morphs (``facegan.explorer.Explorer``)."""

    technique = "dcgan"


class ACGANPipeline(Pretrained, ClassGrid):
    """AC-GAN: a row per class, the same latent down a column (``facegan.classgrid.ClassGrid``)."""

    technique = "acgan"


class StarGANPipeline(Pretrained, Editor):
    """StarGAN: a face picture to other labels (``facegan.editor.Editor``)."""

    technique = "stargan"


class UGATITPipeline(Pretrained, Translator):
    """U-GAT-IT: a picture into the other domain, with its CAM attention (``facegan.translator.Translator``)."""

    technique = "ugatit"


class StyleGANPipeline(Pretrained, Studio):
    """StyleGAN: truncation, mixing, interpolation, variations, directions, projection (``facegan.studio.Studio``)."""

    technique = "stylegan"

    @classmethod
    def from_folder(cls, folder: Path) -> dict:
        return {"labelled": directions.shipped(folder)}


PIPELINES = {p.technique: p for p in (DCGANPipeline, ACGANPipeline, StarGANPipeline, UGATITPipeline, StyleGANPipeline)}


def pipeline_for(technique: str) -> type:
    """The pipeline class of ``technique``: one of PIPELINES, or, for a technique another package
    adds (``models.discover``) whose model draws faces from latents (``latent_dim``, ``generate``),
    an Explorer for it (codes, faces, morphs; ranking when its model has a D that ``score``s)."""
    if technique in PIPELINES:
        return PIPELINES[technique]
    models.spec(technique)  # unknown: the registry's message
    return type(f"{technique.title()}Pipeline", (Pretrained, Explorer), {"technique": technique})
