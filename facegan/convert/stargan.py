"""yunjey/stargan checkpoints -> a facegan StarGAN.

The official code (``solver.py``) saves each network's state_dict on its own,
``torch.save(self.G.state_dict(), '<step>-G.ckpt')`` and ``'<step>-D.ckpt'`` (e.g. the
pretrained CelebA model ``200000-G.ckpt``), and restores them with ``load_state_dict``.

facegan's ``models.stargan`` keeps the official layer layout and names, so the keys are the
official ones under ``generator.`` / ``discriminator.``:

- G: one ``nn.Sequential`` ``main``: ``main.0`` the 7x7 conv reading 3 + c_dim channels (the
  image and the tiled target labels), instance norms (affine, with running statistics) at
  ``main.1, 4, 7``, the stride-2 convs ``main.3, 6``, the residual blocks ``main.9`` ..
  ``main.(8 + repeat_num)`` (each ``.main.0`` conv, ``.main.1`` norm, ``.main.3`` conv,
  ``.main.4`` norm), then two transposed convs with their norms and the last 7x7 conv.
- D: ``main`` (``repeat_num`` stride-2 convs with biases), ``conv1`` (the 3x3 real/fake patch
  head) and ``conv2`` (the classifier, an S/2^repeat_num kernel giving c_dim logits).

Widths and depths come from the shapes: ``g_conv_dim`` from ``main.0.weight``, ``g_repeat_num``
from the residual blocks; ``d_conv_dim``, ``d_repeat_num`` and the image size from D (the
classifier's kernel times 2^repeat_num); without D, the image size is the caller's (default 128,
the official ``--image_size``) and D gets the official geometry (a 2x2 map, repeat_num 6 at 128 px),
freshly initialised.

The official code has no label names: ``--c_dim`` attributes in the order of ``--selected_attrs``
(CelebA: Black_Hair, Blond_Hair, Brown_Hair, Male, Young by default), trained with per-attribute
BCE, or RaFD's 8 expressions with cross-entropy. The converted label spec is one binary group
("attributes") of c_dim attributes named ``attr0`` .. unless names are given, or one categorical
group (RaFD) when asked. Its "both data sets" mode (CelebA + RaFD with a mask vector,
3 + c_dim + c2_dim + 2 input channels) is not read.

The official test script never calls ``G.eval()``: its instance norms normalise each image by its
own statistics, which ``Model.edit`` does too (the running statistics are kept, unused), so the
converted model's edits are the official test's images. Files of PyTorch before 0.4.1 have no
``num_batches_tracked``; it is set to 0.

Files are read with ``torch.load(weights_only=True)``, torch's restricted unpickler (tensors and
plain containers, never code): ``torch.save(G)`` of a whole module is refused.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from facegan.convert import common
from facegan.convert.common import load_checked, load_data_only, state_dict_of
from facegan.files import CheckpointError
from facegan.labels import BINARY, CATEGORICAL, DatasetLabels, Group, LabelError, LabelSpec
from facegan.models import stargan

SOURCE = "yunjey/stargan"
SOURCE_URL = "https://github.com/yunjey/stargan"
DEFAULT_SIZE = 128  # the official --image_size (CelebA and RaFD)
DATASET = "official"  # the converted spec's data set name
_RES = re.compile(r"main\.(\d+)\.main\.0\.weight$")
_D_CONV = re.compile(r"main\.(\d+)\.weight$")


class UntrainedDiscriminatorWarning(UserWarning):
    """No D file given: the converted D is freshly initialised, so its reading of a picture's labels means nothing."""


# ----------------------------------------------------------------------------- reading


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """One official ``<step>-G.ckpt`` / ``<step>-D.ckpt``: a state_dict, read with torch's restricted unpickler."""
    obj = load_data_only(path, f"StarGAN {what} checkpoint {path}",
                         f"save the state_dict instead, as the official solver.py does: torch.save({what}.state_dict(), path)")
    return state_dict_of(obj, f"StarGAN {what} checkpoint {path}")


def _tensor(state: Mapping, key: str, dim: int, path, what: str) -> torch.Tensor:
    t = state.get(key)
    if t is None or t.dim() != dim:
        got = "lacks" if t is None else f"has a {t.dim()}-d"
        raise CheckpointError(f"{path} {got} {key}: not the official StarGAN {what} (its keys begin "
                              f"{', '.join(list(state)[:3])})")
    return t


def infer_generator(state: Mapping[str, torch.Tensor], path, c_dim: int) -> tuple[int, int]:
    """(g_conv_dim, g_repeat_num) of an official G, whose first conv must read 3 + ``c_dim`` channels."""
    w = _tensor(state, "main.0.weight", 4, path, "generator")
    in_ch = w.shape[1]
    if in_ch - 3 != c_dim:
        raise CheckpointError(f"{path}: main.0.weight reads {in_ch} channels, 3 + c_dim with c_dim = {in_ch - 3}, "
                              f"not --c-dim {c_dim} (a model of the official 'Both' mode reads 3 + c_dim + c2_dim + 2 "
                              f"channels: not converted)")
    blocks = sorted(int(m.group(1)) for k in state if (m := _RES.match(k)))
    if blocks != list(range(9, 9 + len(blocks))):
        raise CheckpointError(f"{path}: the residual blocks are at main.{blocks[:3]}..., not main.9, main.10, ... "
                              f"as in the official Generator")
    return int(w.shape[0]), len(blocks)


def infer_discriminator(state: Mapping[str, torch.Tensor], path, c_dim: int) -> tuple[int, int, int]:
    """(d_conv_dim, d_repeat_num, image size) of an official D with ``c_dim`` classifier outputs."""
    w = _tensor(state, "main.0.weight", 4, path, "discriminator")
    cls = _tensor(state, "conv2.weight", 4, path, "discriminator")
    if w.shape[1] != 3:
        raise CheckpointError(f"{path}: main.0.weight reads {w.shape[1]}-channel images; StarGAN's D reads RGB")
    convs = sorted(int(m.group(1)) for k in state if (m := _D_CONV.match(k)))
    if convs != list(range(0, 2 * len(convs), 2)):
        raise CheckpointError(f"{path}: the convs of main are at {convs[:4]}..., not main.0, main.2, ... as in the "
                              f"official Discriminator")
    if cls.shape[0] != c_dim:
        raise CheckpointError(f"{path}: conv2.weight (the classifier) gives {cls.shape[0]} logits, not --c-dim {c_dim}: "
                              f"a D of another model?")
    repeat = len(convs)
    return int(w.shape[0]), repeat, int(cls.shape[-1]) * 2 ** repeat


def label_spec(c_dim: int, names: Sequence[str] | None = None, categorical: bool = False,
               group: str | None = None) -> LabelSpec:
    """The converted model's labels: one group of ``c_dim`` values, binary attributes (the official
    CelebA, BCE) or one-hot categories (RaFD, cross-entropy), named ``attr0``.. unless ``names``."""
    if c_dim < 1:
        raise ValueError(f"c_dim must be positive, not {c_dim}")
    names = tuple(n.strip() for n in names) if names else tuple(f"attr{i}" for i in range(c_dim))
    if len(names) != c_dim:
        raise ValueError(f"--labels names {len(names)} labels ({', '.join(names)}), but c_dim is {c_dim}")
    kind = CATEGORICAL if categorical else BINARY
    try:
        return LabelSpec.of(DatasetLabels(DATASET, (Group(group or ("domain" if categorical else "attributes"),
                                                          names, kind),)))
    except LabelError as e:
        raise ValueError(str(e)) from None


# ----------------------------------------------------------------------------- converting


def convert(g_path: str | Path, c_dim: int, d_path: str | Path | None = None, image_size: int | None = None,
            labels: Sequence[str] | None = None, categorical: bool = False) -> stargan.Model:
    """An official ``<step>-G.ckpt`` (and ``<step>-D.ckpt``) -> a facegan StarGAN in eval mode.

    ``c_dim`` is the official ``--c_dim`` (checked against the weights); ``labels`` names the
    c_dim labels (the official ``--selected_attrs``; default ``attr0``..); ``categorical`` makes
    them one one-hot group (RaFD) instead of binary attributes (CelebA). ``image_size`` comes from
    D when given (a size asked for must match it), else defaults to 128. Without D, D is freshly
    initialised and a warning says so. Raises ``CheckpointError`` for files that are not such
    checkpoints, ``ValueError`` for arguments that cannot work.
    """
    spec = label_spec(c_dim, labels, categorical)
    g_state = read_state_dict(g_path, "G")
    g_conv_dim, g_repeat = infer_generator(g_state, g_path, c_dim)
    d_state = None
    if d_path is not None:
        d_state = read_state_dict(d_path, "D")
        d_conv_dim, d_repeat, found_size = infer_discriminator(d_state, d_path, c_dim)
        if image_size is not None and image_size != found_size:
            raise CheckpointError(f"{d_path} is a D for {found_size}x{found_size} images (its classifier's "
                                  f"{found_size // 2 ** d_repeat}x{found_size // 2 ** d_repeat} kernel after "
                                  f"{d_repeat} stride-2 convs), not {image_size}")
        image_size = found_size
    else:
        image_size = DEFAULT_SIZE if image_size is None else image_size
        if image_size < 8 or image_size % 4:
            raise ValueError(f"the image size must be a multiple of 4, at least 8, not {image_size}")
        d_conv_dim = g_conv_dim  # the official defaults: g_conv_dim = d_conv_dim = 64
        d_repeat = 1  # the official geometry: halve until a 2x2 map (6 at 128 px)
        while image_size % 2 ** (d_repeat + 1) == 0 and image_size // 2 ** (d_repeat + 1) >= 2:
            d_repeat += 1
    cfg = stargan.Config(image_size=image_size, g_conv_dim=g_conv_dim, d_conv_dim=d_conv_dim, g_repeat_num=g_repeat,
                         d_repeat_num=d_repeat, labels=spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the fresh D (without a D file) is the same every time
        model = stargan.Model(cfg)
    load_checked(model.generator, g_state, str(g_path),
                 f"the official StarGAN Generator (conv_dim {g_conv_dim}, c_dim {c_dim}, repeat_num {g_repeat}, "
                 "read from main.*)")
    if d_state is not None:
        load_checked(model.discriminator, d_state, str(d_path),
                     f"the official StarGAN Discriminator ({image_size} px, conv_dim {d_conv_dim}, c_dim {c_dim}, "
                     f"repeat_num {d_repeat})")
    else:
        warnings.warn("no D checkpoint given: the converted discriminator is freshly initialised, so its reading of "
                      "a picture's labels (which the editor keeps for the labels not edited) means nothing; pass the "
                      "matching <step>-D.ckpt with --d-ckpt", UntrainedDiscriminatorWarning, stacklevel=2)
    return model.eval()


def provenance(g_path: str | Path, d_path: str | Path | None = None) -> dict:
    """What ``config.json`` records about the source (``hub.save_pretrained(extra_config=...)``)."""
    return common.provenance(SOURCE, g_path, d_path, "its label reading means nothing", ("G", "D"))


def model_card(model: stargan.Model, g_path: str | Path, d_path: str | Path | None = None) -> str:
    """A README.md for the converted checkpoint: where it came from and how to edit with it."""
    c = model.config
    info = provenance(g_path, d_path)["converted_from"]
    _, group, _ = c.labels.groups()[0]
    d_line = (f"- D: `{info['D']}` (sha256 `{info['D_sha256']}`)" if d_path else
              "- D: **none**. D is freshly initialised (seed 0): its reading of a picture's labels, which the "
              "editor keeps for the labels not edited, means nothing. Convert again with `--d-ckpt`.")
    first = group.values[0]
    example = (f'{{"{group.name}": ["{first}"]}}' if group.kind == BINARY else f'{{"{group.name}": "{first}"}}')
    return f"""---
library_name: facegan
tags: [gan, stargan, image-to-image, converted]
---

# StarGAN converted from {SOURCE}

A StarGAN trained with the official code, [{SOURCE}]({SOURCE_URL}), converted to facegan's
checkpoint format by `facegan convert stargan`.

- G: `{info['G']}` (sha256 `{info['G_sha256']}`)
{d_line}
- {c.image_size}x{c.image_size} RGB images in [-1, 1]; G conv_dim {c.g_conv_dim}, {c.g_repeat_num} residual blocks;
  D conv_dim {c.d_conv_dim}, {c.d_repeat_num} stride-2 convs
- labels: one {group.kind} group `{group.name}`: {', '.join(group.values)}

The conversion is exact: `Model.edit` gives the official test script's images (G in train mode:
each image normalised by its own statistics) for the same inputs and target labels, and the
discriminator gives the official D's outputs.

## Use

```
facegan edit stargan face.jpg --checkpoint <this folder> --group {group.name} --out grid.png
```

```python
from facegan import hub
model = hub.load_folder("<this folder>")
y = model.edit(x, {example})  # x: (N, 3, {c.image_size}, {c.image_size}) RGB in [-1, 1]
```

As the official code, crop the face (CelebA: 178x178 centre crop), resize to {c.image_size}x{c.image_size}
and scale to [-1, 1].
"""
