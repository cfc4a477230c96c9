"""znxlwm/UGATIT-pytorch checkpoints -> a facegan U-GAT-IT.

The official PyTorch code's ``UGATIT.save()`` writes one file per save,
``<dataset>_params_<step:07d>.pt`` (e.g. ``selfie2anime_params_0100000.pt``; also
``<dataset>_params_latest.pt`` every 1000 steps), a dict of the six networks' state_dicts::

    torch.save({"genA2B": genA2B.state_dict(), "genB2A": genB2A.state_dict(),
                "disGA": disGA.state_dict(), "disGB": disGB.state_dict(),
                "disLA": disLA.state_dict(), "disLB": disLB.state_dict()}, path)

facegan's ``models.ugatit`` keeps the official attribute names (``DownBlock``, ``gap_fc``,
``FC``, ``UpBlock1_K``, ``UpBlock2``, ``model``, ``conv``, ...) and the same old-style spectral
norm (``weight_orig`` / ``weight_u`` / ``weight_v``), so the conversion renames the top-level
names only::

    genA2B.* -> generator.a2b.*        disGA.* -> discriminator.ga.*   (global, 7 layers)
    genB2A.* -> generator.b2a.*        disGB.* -> discriminator.gb.*
                                       disLA.* -> discriminator.la.*   (local, 5 layers)
                                       disLB.* -> discriminator.lb.*

The ``Config`` comes from the shapes: ``ch`` is ``DownBlock.1.weight``'s output channels (the
first 7x7 conv), ``n_res`` the number of ``UpBlock1_K`` blocks, and the variant is light when
``FC.0.weight`` reads the pooled ``4 * ch`` features. The full variant's MLP reads the whole
bottleneck map, ``(S / 4)^2 * 4 * ch`` inputs, so its image size S is in the file (and a size
asked for must be it); the light generator is fully convolutional, so its image size is the
caller's (default 256, the official ``--img_size``). The training settings are the official
defaults (Adam 1e-4, betas (0.5, 0.999), weight decay 1e-4, loss weights 1 / 10 / 10 / 1000,
lr decay; training images resized to S + 30 then randomly cropped).

The conversion is exact: in eval mode each facegan generator gives the official network's
(image, CAM logits, heatmap) and each discriminator its (patch logits, CAM logits, heatmap).
One caveat the file cannot tell: until its fix for issue #30 (August 2019) the official AdaILN / ILN
took the variance of the variance (``torch.var(torch.var(x, 2), 3)``) instead of the variance
over H, W (and C, H, W); a checkpoint trained with that code converts, but translates like the
fixed code, not like the code that trained it.

Without the four discriminators in the file, or with ``generators_only``, the model is
generator-only (``Config.discriminators = False``): it translates, but cannot be trained on.
Files of PyTorch's spectral norm before its version 1 (a stored ``weight``, no ``weight_v``)
are accepted; torch's own load hook recomputes ``weight_v`` from them.

The file is read with ``torch.load(weights_only=True)``, torch's restricted unpickler (tensors
and plain containers only, never code): a file that pickles whole modules is refused.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from facegan.convert.common import listed, load_data_only, state_dict_of
from facegan.files import CheckpointError, sha256_of
from facegan.models import ugatit

SOURCE = "znxlwm/UGATIT-pytorch"
SOURCE_URL = "https://github.com/znxlwm/UGATIT-pytorch"
DEFAULT_SIZE = 256  # the official --img_size (the paper's)
LOAD_MARGIN = 30  # the official training resize: img_size + 30, then a random img_size crop
GENERATORS = {"genA2B": "generator.a2b", "genB2A": "generator.b2a"}
DISCRIMINATORS = {"disGA": "discriminator.ga", "disGB": "discriminator.gb",
                  "disLA": "discriminator.la", "disLB": "discriminator.lb"}
NETS = {**GENERATORS, **DISCRIMINATORS}  # official name -> facegan prefix
_UPBLOCK = re.compile(r"UpBlock1_(\d+)\.")


class IgnoredEntriesWarning(UserWarning):
    """The file holds entries besides the six networks (e.g. a fork's optimiser states): not converted."""


# ----------------------------------------------------------------------------- reading


def read_checkpoint(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """A ``UGATIT.save()`` file -> {official network name: its state_dict}, read with torch's
    restricted unpickler; genA2B and genB2A must be there, the discriminators may not be."""
    obj = load_data_only(path, f"U-GAT-IT checkpoint {path}",
                         "save state_dicts instead, as UGATIT.save() does: torch.save({'genA2B': genA2B.state_dict(), "
                         "'genB2A': genB2A.state_dict(), ...}, path)")
    expected = ", ".join(NETS)
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not the dict of state_dicts that "
                              f"UGATIT.save() writes ({expected})")
    if obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        first = ", ".join(list(obj)[:3])
        raise CheckpointError(f"{path} is a single state_dict ({first}, ...), not the dict of state_dicts that "
                              f"UGATIT.save() writes ({expected}): save both generators as it does")
    missing = [name for name in GENERATORS if name not in obj]
    if missing:
        found = ", ".join(map(repr, list(obj)[:6])) or "nothing"
        raise CheckpointError(f"{path} lacks {' and '.join(missing)}: a UGATIT-pytorch checkpoint has both "
                              f"generators ({expected}); this file has {found}")
    ignored = [k for k in obj if k not in NETS]
    if ignored:
        warnings.warn(f"{path}: ignoring entries that are not UGATIT.save()'s networks: "
                      f"{', '.join(map(repr, ignored[:5]))}", IgnoredEntriesWarning, stacklevel=3)
    nets = {}
    for name in NETS:
        if name not in obj:
            continue
        state = state_dict_of(obj[name], f"{path}: {name}", verb="is")
        nets[name] = state
    return nets


def infer_config(gen: Mapping[str, torch.Tensor], path, size: int | None = None,
                 discriminators: bool = True) -> ugatit.Config:
    """The ``Config`` of an official generator's state_dict (genA2B's): ch, n_res, light, image size."""
    tensors = {}
    for key, dim in (("DownBlock.1.weight", 4), ("FC.0.weight", 2)):
        t = gen.get(key)
        if t is None or t.dim() != dim:
            what = "lacks" if t is None else f"has a {t.dim()}-d"
            raise CheckpointError(f"genA2B in {path} {what} {key}: not a UGATIT-pytorch ResnetGenerator "
                                  f"(its keys begin {', '.join(list(gen)[:3])})")
        tensors[key] = t
    ch, in_ch = tensors["DownBlock.1.weight"].shape[:2]
    if in_ch != 3:
        raise CheckpointError(f"genA2B in {path} reads {in_ch}-channel images (--img_ch {in_ch}); "
                              f"facegan's U-GAT-IT is RGB only (--img_ch 3)")
    n_res = len({int(m.group(1)) for k in gen if (m := _UPBLOCK.match(k))})
    c = 4 * ch  # the bottleneck width
    fc_in = tensors["FC.0.weight"].shape[1]
    light = fc_in == c
    if light:
        image_size = DEFAULT_SIZE if size is None else size
        if image_size < 4 or image_size % 4:
            raise ValueError(f"the image size must be a positive multiple of 4, not {image_size}")
    else:
        side = math.isqrt(fc_in // c)
        if fc_in % c or side * side * c != fc_in:
            raise CheckpointError(f"genA2B in {path}: FC.0.weight has {fc_in} inputs, neither 4 * ch = {c} (the light "
                                  f"variant) nor (S/4)^2 * 4 * ch for an image size S (the full one); ch = {ch}")
        image_size = 4 * side
        if size is not None and size != image_size:
            raise CheckpointError(f"{path} is a full (not light) U-GAT-IT trained at {image_size}x{image_size}: its "
                                  f"MLP reads the whole {side}x{side} bottleneck map (FC.0.weight has {fc_in} = "
                                  f"{side}^2 * {c} inputs), so it works at that size only, not at {size}")
    if discriminators and image_size < 96:
        raise ValueError(f"image size {image_size} is too small for the discriminators (the global one needs at "
                         f"least 96 px): convert generators only, or ask for a larger size")
    return ugatit.Config(image_size=image_size, ch=ch, n_res=n_res, light=light, discriminators=discriminators,
                         load_margin=LOAD_MARGIN)


# ----------------------------------------------------------------------------- converting


def _ref_name(key: str) -> str:
    """facegan name -> the official one (generator.a2b.X -> genA2B.X, discriminator.la.X -> disLA.X)."""
    for name, prefix in NETS.items():
        if key.startswith(prefix + "."):
            return name + key[len(prefix):]
    return key


def _load_into(model: ugatit.Model, nets: dict[str, dict[str, torch.Tensor]], path) -> None:
    """Rename, check every tensor's presence and shape against ``model``, and load (assigning)."""
    own = model.state_dict()
    mapped = {f"{NETS[name]}.{key}": (f"{name}.{key}", value) for name, state in nets.items()
              for key, value in state.items()}
    # PyTorch's spectral norm before its version 1 stored the normalised X.weight and no X.weight_v;
    # torch's load hook solves for weight_v from weight, weight_orig and weight_u.
    legacy = {k: own[k + "_orig"].shape for k in mapped
              if k not in own and k + "_orig" in own and k + "_v" not in mapped
              and k + "_orig" in mapped and k + "_u" in mapped}
    c = model.config
    shape = f"ch={c.ch}, n_res={c.n_res}, {'light' if c.light else f'full at {c.image_size}x{c.image_size}'}"
    unexpected = [ref for k, (ref, _) in mapped.items() if k not in own and k not in legacy]
    if unexpected:
        raise CheckpointError(f"{path} has tensors the official U-GAT-IT networks ({shape}, read from genA2B) do "
                              f"not: {listed(unexpected)}")
    missing = [_ref_name(k) for k in own if k not in mapped and not (k.endswith("_v") and k[:-2] in legacy)]
    if missing:
        raise CheckpointError(f"{path} lacks tensors of the official U-GAT-IT networks ({shape}, read from genA2B): "
                              f"{listed(missing)}")
    expected = {k: legacy[k] if k in legacy else own[k].shape for k in mapped}
    wrong = [f"{ref} {tuple(v.shape)} (expected {tuple(expected[k])})"
             for k, (ref, v) in mapped.items() if v.shape != expected[k]]
    if wrong:
        raise CheckpointError(f"{path}: tensor shapes do not fit a U-GAT-IT with {shape} (read from genA2B): "
                              f"{listed(wrong, 3)}")
    broken = [ref for k, (ref, v) in mapped.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f"{path} has NaN/inf values in {listed(broken, 3)} (a diverged run?)")
    dtype = {k: own[k + "_orig" if k in legacy else k].dtype for k in mapped}
    # assign: the model was built on the meta device, the loaded tensors become its weights
    model.load_state_dict({k: v.to(dtype[k]) for k, (_, v) in mapped.items()}, strict=True, assign=True)


def convert(path: str | Path, size: int | None = None, generators_only: bool = False) -> ugatit.Model:
    """A UGATIT-pytorch ``<dataset>_params_<step>.pt`` -> a facegan U-GAT-IT in eval mode.

    ``size`` is the model's image size: for the light variant any multiple of 4 (default 256,
    the official default; at least 96 with the discriminators); for the full variant it is read
    from the weights, and a ``size`` given must match it. The discriminators are converted when
    the file has all four, unless ``generators_only``; a file with none gives a generator-only
    model. Raises ``CheckpointError`` for anything that is not such a checkpoint (``ValueError``
    for a size that cannot work).
    """
    nets = read_checkpoint(path)
    present = [name for name in DISCRIMINATORS if name in nets]
    if generators_only:
        nets = {name: state for name, state in nets.items() if name in GENERATORS}
    elif present and len(present) < len(DISCRIMINATORS):
        absent = [name for name in DISCRIMINATORS if name not in nets]
        raise CheckpointError(f"{path} has {', '.join(present)} but not {', '.join(absent)}: convert all four "
                              f"discriminators or none (generators only)")
    cfg = infer_config(nets["genA2B"], path, size, discriminators=bool(present) and not generators_only)
    for name, state in nets.items():  # the official code makes all six networks ch wide (ndf = ngf = ch)
        first = state.get("DownBlock.1.weight" if name in GENERATORS else "model.1.weight_orig")
        if first is not None and first.dim() == 4 and first.shape[0] != cfg.ch:
            raise CheckpointError(f"{path}: {name} has ch={first.shape[0]}, genA2B ch={cfg.ch}; the official code "
                                  f"makes all six networks one ch wide")
    with torch.device("meta"):  # no random init of weights that are replaced (the full MLP is ~1 GB at 256 px)
        model = ugatit.Model(cfg)
    _load_into(model, nets, path)
    return model.eval()


def provenance(path: str | Path, model: ugatit.Model) -> dict:
    """What ``config.json`` records about the source (``hub.save_pretrained(extra_config=...)``)."""
    return {"converted_from": {
        "source": SOURCE,
        "file": Path(path).name, "sha256": sha256_of(path),
        "variant": "light" if model.config.light else "full",
        "discriminators": "converted" if model.config.discriminators else "not included (generator-only)",
    }}


def model_card(model: ugatit.Model, path: str | Path) -> str:
    """A README.md for the converted checkpoint: where it came from and how to translate with it."""
    c = model.config
    info = provenance(path, model)["converted_from"]
    s = c.image_size
    size_line = (f"- full U-GAT-IT: its MLP reads the whole {s // 4}x{s // 4} bottleneck map, so it translates "
                 f"{s}x{s} images only (the size it was trained at)" if not c.light else
                 f"- U-GAT-IT light: fully convolutional; `image_size` {s} was chosen at conversion "
                 f"(`--size`), the official code trains at its `--img_size` (256 by default)")
    d_line = ("- discriminators: converted (disGA, disGB global; disLA, disLB local)" if c.discriminators else
              "- discriminators: **not included**: a generator-only checkpoint, it translates but cannot be trained")
    return f"""---
library_name: facegan
tags: [gan, ugatit, image-to-image, converted]
---

# U-GAT-IT converted from {SOURCE}

A U-GAT-IT trained with the official PyTorch code, [{SOURCE}]({SOURCE_URL}), converted to facegan's
checkpoint format by `facegan convert ugatit`. What it translates depends on the data it was trained
on: domain A -> B is `generator.a2b` (the official genA2B; selfie -> anime for selfie2anime), B -> A
`generator.b2a` (genB2A).

- file: `{info['file']}` (sha256 `{info['sha256']}`)
- ch={c.ch}, n_res={c.n_res}, image_size={s}, RGB images in [-1, 1]
{size_line}
{d_line}

The conversion is exact: in eval mode facegan's networks give the official networks' outputs (images,
CAM logits, heatmaps) for the same inputs. Checkpoints trained with the official code before its
AdaILN/ILN fix for issue #30 (August 2019: it took the variance of the variance) load, but translate like
the fixed code.

## Use

```python
from facegan import hub
model = hub.load_folder("<this folder>")
b, attention = model.translate(a, "a2b")  # a: (N, 3, {s}, {s}) RGB in [-1, 1]; attention in [0, 1]
```

As the official test code, resize the inputs to {s}x{s} and scale them to [-1, 1].
"""
