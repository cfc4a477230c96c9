"""gitlimlab/ACGAN-PyTorch checkpoints -> a facegan AC-GAN (the "paper" backbone).

gitlimlab's ``main.py`` saves each network's state_dict after every epoch,
``torch.save(netG.state_dict(), 'netG_epoch_N.pth')`` and ``'netD_epoch_N.pth'``. Its nets
(``network.py``) are the paper's two pairs:

- ``_netG`` (``--dataset imagenet``, 128 px): ``fc1`` Linear(110, 768), viewed as (768, 1, 1),
  then ``tconv2`` .. ``tconv5`` (ConvTranspose2d k5 s2 p0, BatchNorm2d, ReLU; 768 -> 384 -> 256
  -> 192 -> 64; sides 5, 13, 29, 61) and ``tconv6`` (ConvTranspose2d(64, 3, 8, 2, 0), Tanh: 128).
- ``_netG_CIFAR10`` (``--dataset cifar10``, 32 px): ``fc1`` Linear(110, 384), ``tconv2``
  ConvT(384, 192, 4, 1, 0), ``tconv3`` (192 -> 96), ``tconv4`` (96 -> 48), each with BN and ReLU,
  ``tconv5`` ConvT(48, 3, 4, 2, 1) and Tanh. Every transposed conv has no bias.
- ``_netD`` / ``_netD_CIFAR10``: ``conv1`` .. ``conv6`` (3x3 convs without bias, strides 2, 1,
  2, 1, 2, 1, BN from conv2 on, LeakyReLU 0.2, Dropout 0.5; the stride-1 convs pad 0 at 128 px,
  1 at 32 px), then ``fc_dis`` (-> sigmoid) and ``fc_aux`` (-> softmax) on the flattened
  13x13x512 (128 px) or 4x4x512 (32 px) map.

facegan's ``models.acgan`` builds the same nets as ``backbone="paper"`` under the same names, so
the keys only gain a ``generator.`` / ``discriminator.`` prefix. Its D returns the logits:
``sigmoid`` and ``softmax`` of them are gitlimlab's outputs.

The noise: gitlimlab draws (N, 110) from N(0, 1) and writes the class one-hot over its first
num_classes entries, so fc1 reads [one_hot(y), z] with z the other 110 - num_classes entries.
facegan's G builds that vector from ``z`` (N, nz) and the class indices ``y``: the model gets
``nz = 110 - num_classes`` (100 for the 10 classes of both of gitlimlab's data sets) and the
normal prior, and its G in eval mode gives gitlimlab's images for the same noise.

The image size comes from fc1's width (768: 128 px, 384: 32 px), the number of classes from D's
``fc_aux`` when the netD is given, else from the class names or ``num_classes`` (default 10,
gitlimlab's ``--num_classes``). gitlimlab names no classes: the names are CIFAR-10's for a 32 px
model of 10 classes, else ``class0`` .., unless given. Without netD the model gets a freshly
initialised D (seed 0) and an ``UntrainedDiscriminatorWarning``: generating works, D's reading of
a face (real / fake, class) means nothing. Files of PyTorch before 0.4.1 (gitlimlab's era) have no
``num_batches_tracked``; it is set to 0.

Training a converted model further uses facegan's ``TrainStep`` (the non-saturating loss and the
class cross-entropy on logits, the paper's log-likelihoods); gitlimlab's ``main.py`` applies
``NLLLoss`` to softmax outputs (-p, not -log p, of the right class), which is not reproduced.

Files are read with ``torch.load(weights_only=True)``, torch's restricted unpickler (tensors and
plain containers, never code): ``torch.save(netG)`` of a whole module is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from facegan import latent
from facegan.convert import common
from facegan.convert.common import load_checked, load_data_only, state_dict_of
from facegan.files import CheckpointError
from facegan.models import acgan

SOURCE = "gitlimlab/ACGAN-PyTorch"
SOURCE_URL = "https://github.com/gitlimlab/ACGAN-PyTorch"
NOISE = 110  # gitlimlab's nz: fc1's input, the class one-hot included
DEFAULT_CLASSES = 10  # gitlimlab's --num_classes (CIFAR-10; its ImageNet classes_idx=(10, 20) is 10 too)
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
GROUP = "class"  # the converted model's label group
G_WIDTH = {768: 128, 384: 32}  # fc1's outputs -> the image size (_netG, _netG_CIFAR10)
D_SIDE = {128: 13, 32: 4}  # the image size -> the side of D's last map
NET_NAMES = {("G", 128): "_netG", ("G", 32): "_netG_CIFAR10", ("D", 128): "_netD", ("D", 32): "_netD_CIFAR10"}


class UntrainedDiscriminatorWarning(UserWarning):
    """No netD was given: the converted D is freshly initialised, so its real / fake and class readings mean nothing."""


# ----------------------------------------------------------------------------- reading


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """One gitlimlab ``netG_epoch_N.pth`` / ``netD_epoch_N.pth``: a state_dict, read with torch's restricted unpickler."""
    label = f"{what} {path}"
    obj = load_data_only(path, label, f"save the state_dict instead, as gitlimlab's main.py does: "
                                      f"torch.save({what}.state_dict(), path)", kind="state_dict file")
    return state_dict_of(obj, label)


def _keys(state: Mapping) -> str:
    return ", ".join(list(state)[:4]) + (", ..." if len(state) > 4 else "")


def _matrix(state: Mapping[str, torch.Tensor], key: str, path, what: str) -> torch.Tensor:
    t = state.get(key)
    if t is None or t.dim() != 2:
        other = ("a netD (conv1, fc_dis, fc_aux): pass it with --netd" if what == "netG" and "fc_aux.weight" in state
                 else "a netG (fc1, tconv2, ...): pass it as NETG" if what == "netD" and "fc1.weight" in state
                 else f"its keys are {_keys(state)}")
        got = "lacks" if t is None else f"has a {t.dim()}-d"
        raise CheckpointError(f"{what} {path} {got} {key}: not a {SOURCE} {what} state_dict ({other})")
    return t


def infer_generator(state: Mapping[str, torch.Tensor], path) -> tuple[int, int]:
    """(image size, fc1's inputs: num_classes + nz) of a gitlimlab netG, from fc1.weight."""
    w = _matrix(state, "fc1.weight", path, "netG")
    out, n_in = w.shape
    if out not in G_WIDTH:
        raise CheckpointError(f"netG {path}: fc1 makes {out} features; {SOURCE}'s _netG makes 768 (128 px) and "
                              f"_netG_CIFAR10 384 (32 px)")
    return G_WIDTH[out], int(n_in)


def infer_discriminator(state: Mapping[str, torch.Tensor], path) -> tuple[int, int]:
    """(image size, num_classes) of a gitlimlab netD, from fc_aux.weight."""
    w = _matrix(state, "fc_aux.weight", path, "netD")
    k, n_in = w.shape
    sizes = {512 * side * side: size for size, side in D_SIDE.items()}
    if n_in not in sizes:
        raise CheckpointError(f"netD {path}: fc_aux reads {n_in} features; {SOURCE}'s _netD reads 13*13*512 = 86528 "
                              f"(128 px) and _netD_CIFAR10 4*4*512 = 8192 (32 px)")
    return sizes[n_in], int(k)


def class_names(n: int, image_size: int, names: Sequence[str] | None = None) -> list[str]:
    """The converted classes: ``names`` (stripped, n of them), else CIFAR-10's for 10 classes at 32 px, else class0..."""
    if names:
        names = [str(c).strip() for c in names]
        if len(names) != n:
            raise ValueError(f"--classes names {len(names)} classes ({', '.join(names[:5])}"
                             f"{', ...' if len(names) > 5 else ''}), but the model has {n}")
        return names
    return list(CIFAR10) if n == 10 and image_size == 32 else [f"class{i}" for i in range(n)]


# ----------------------------------------------------------------------------- converting


def convert(netg_path: str | Path, netd_path: str | Path | None = None, classes: Sequence[str] | None = None,
            num_classes: int | None = None) -> acgan.Model:
    """gitlimlab ``netG_epoch_N.pth`` (+ ``netD_epoch_N.pth``) -> a facegan AC-GAN (``backbone="paper"``) in eval mode.

    The image size is read from netG's fc1, num_classes from netD's fc_aux when given (``classes``
    and ``num_classes``, if given too, must agree with it), else from ``classes``, else
    ``num_classes`` (default 10, gitlimlab's); nz = fc1's inputs - num_classes. Without netD, D is
    freshly initialised (seed 0) and an ``UntrainedDiscriminatorWarning`` says so. Raises
    ``CheckpointError`` for files that are not such checkpoints, ``ValueError`` for arguments
    that cannot work.
    """
    if classes is not None and not classes:
        classes = None
    if num_classes is not None and classes is not None and num_classes != len(classes):
        raise ValueError(f"--classes names {len(classes)} classes, --num-classes says {num_classes}")
    g_state = read_state_dict(netg_path, "netG")
    size, n_in = infer_generator(g_state, netg_path)
    d_state = None
    if netd_path is not None:
        d_state = read_state_dict(netd_path, "netD")
        d_size, k = infer_discriminator(d_state, netd_path)
        if d_size != size:
            raise CheckpointError(f"netD {netd_path} is a {NET_NAMES['D', d_size]} for {d_size} px images, but netG "
                                  f"{netg_path} is a {NET_NAMES['G', size]} for {size} px: not one model")
        given = num_classes if num_classes is not None else (len(classes) if classes is not None else None)
        if given is not None and given != k:
            raise CheckpointError(f"netD {netd_path}: fc_aux gives {k} class scores, not the {given} classes asked for")
    else:
        k = num_classes if num_classes is not None else (len(classes) if classes is not None else DEFAULT_CLASSES)
    nz = n_in - k
    if k < 2 or nz < 1:
        raise CheckpointError(f"netG {netg_path}: fc1 reads {n_in} entries, the {k} one-hot class entries and "
                              f"{nz} of noise: it needs at least 2 classes and 1 noise entry")
    names = class_names(k, size, classes)
    cfg = acgan.Config(nz=nz, image_size=size, backbone=acgan.PAPER, head="ac", group=GROUP, classes=names,
                       prior="normal", lr=2e-4, beta1=0.5, beta2=0.999)  # gitlimlab's Adam settings
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the fresh D (without netD) is the same every time
        model = acgan.Model(cfg)
    load_checked(model.generator, g_state, f"netG {netg_path}",
                 f"{SOURCE}'s {NET_NAMES['G', size]} ({size} px, fc1 reads {n_in})")
    if d_state is not None:
        load_checked(model.discriminator, d_state, f"netD {netd_path}",
                     f"{SOURCE}'s {NET_NAMES['D', size]} ({size} px, {k} classes)")
    else:
        warnings.warn("no netD given: the converted discriminator is freshly initialised, so its real/fake and class "
                      "readings mean nothing; pass the matching netD_epoch_N.pth with --netd",
                      UntrainedDiscriminatorWarning, stacklevel=2)
    return model.eval()


def provenance(netg_path: str | Path, netd_path: str | Path | None = None) -> dict:
    """What ``config.json`` records about the source (``hub.save_pretrained(extra_config=...)``)."""
    return common.provenance(SOURCE, netg_path, netd_path, "its readings mean nothing")


def model_card(model: acgan.Model, netg_path: str | Path, netd_path: str | Path | None = None) -> str:
    """A README.md for the converted checkpoint: where it came from, its classes and latents."""
    c = model.config
    info = provenance(netg_path, netd_path)["converted_from"]
    k, size = len(c.classes), c.image_size
    d_line = (f"- netD: `{info['netD']}` (sha256 `{info['netD_sha256']}`)" if netd_path else
              "- netD: **none**. D is freshly initialised (seed 0): its real / fake scores and class readings "
              "mean nothing. Convert again with `--netd`.")
    q = f"{latent.bytes_to_z([255], 'normal').item():.2f}"
    two = ",".join(c.classes[:2])
    return f"""---
library_name: facegan
tags: [gan, acgan, class-conditional, image-generation, converted]
---

# AC-GAN converted from {SOURCE}

An AC-GAN trained with [{SOURCE}]({SOURCE_URL}), converted to facegan's checkpoint format by
`facegan convert acgan`. What it draws depends on its training data (gitlimlab trains on CIFAR-10
at 32 px or ten ImageNet classes at 128 px).

- netG: `{info['netG']}` (sha256 `{info['netG_sha256']}`)
{d_line}
- the paper's {NET_NAMES['G', size]} / {NET_NAMES['D', size]} (`backbone: "paper"`), {size}x{size} RGB in [-1, 1]
- {k} classes: {', '.join(c.classes)}

The conversion is exact: in eval mode G gives gitlimlab's images for the same noise, and the
sigmoid / softmax of D's logits are gitlimlab's netD outputs.

## Latents

gitlimlab's noise is {NOISE} entries of N(0, 1) whose first {k} are overwritten by the class
one-hot; facegan's z is the other {c.nz} (`"prior": "normal"`), and G builds [one_hot(y), z]
itself. A face's code is its class and {2 * c.nz} hex digits, one byte b per dimension,
z = Phi^-1((b + 0.5) / 256) (about -{q} to {q}).

```
facegan generate acgan --checkpoint <this folder> --classes {two} --count 8 --out grid.png
```

```python
from facegan import hub
model = hub.load_folder("<this folder>")
z = model.sample_latent(8)
x = model.generate(z, "{c.classes[0]}")  # (8, 3, {size}, {size}) in [-1, 1]
```
"""
