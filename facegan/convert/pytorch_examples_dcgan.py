"""pytorch/examples ``dcgan/main.py`` checkpoints -> a facegan DCGAN.

The reference saves ``torch.save(netG.state_dict(), "netG_epoch_N.pth")`` (and netD) after
every epoch. Its networks are the DCGAN paper's, like facegan's, as one ``nn.Sequential``
called ``main``::

    netG.main   0 ConvT(nz, 8g, 4, 1, 0)  1 BN  2 ReLU   3 ConvT(8g, 4g)  4 BN  5 ReLU
                6 ConvT(4g, 2g)  7 BN  8 ReLU   9 ConvT(2g, g)  10 BN  11 ReLU
                12 ConvT(g, nc)  13 Tanh                         (every conv bias=False)
    netD.main   0 Conv(nc, d)  1 LReLU   2 Conv(d, 2d)  3 BN  4 LReLU   5 Conv(2d, 4d)  6 BN  7 LReLU
                8 Conv(4d, 8d)  9 BN  10 LReLU   11 Conv(8d, 1, 4, 1, 0)  12 Sigmoid

so ``netG.main.K`` is ``generator.net.K``, ``netD.main.K`` is ``discriminator.features.K``
for K <= 10 and ``netD.main.11`` is ``discriminator.head``. facegan's G has a bias on its
last transposed conv and D on its first conv and head; the reference has none, so they are
set to zero, and the reference's final Sigmoid is what ``Model.score`` applies to D's
logits. The conversion is exact: the facegan G in eval mode gives the reference netG's
images for the same z, and ``Model.score`` its netD's outputs.

The reference samples z ~ N(0, 1) of shape (N, nz, 1, 1), nz = 100 by default, so the
model gets ``Config.prior = "normal"`` (its codes are 2 * nz hex digits; see ``latent.py``).

Without netD the model gets a freshly initialised D (seeded, so conversions are
reproducible): it generates exactly like the reference, but D's scores, and so ranking
faces by D, mean nothing. ``convert`` warns with ``UntrainedDiscriminatorWarning``.

The files are read with ``torch.load(weights_only=True)``, torch's restricted unpickler
(tensors and plain containers only, never code): a file that pickles a whole module
(``torch.save(netG)``) is refused with a message saying how to save a state_dict instead.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

from facegan import latent
from facegan.convert import common
from facegan.convert.common import load_data_only, state_dict_of
from facegan.files import CheckpointError
from facegan.models import dcgan

SOURCE = "pytorch/examples dcgan/main.py"
SOURCE_URL = "https://github.com/pytorch/examples/tree/main/dcgan"

# facegan parameters the reference does not have: zero biases (its convs are bias=False).
ZERO_BIASES = ("generator.net.12.bias", "discriminator.features.0.bias", "discriminator.head.bias")
G_CONVS = (0, 3, 6, 9, 12)  # indices of netG.main's transposed convs
D_CONVS = (0, 2, 5, 8, 11)  # indices of netD.main's convs (11 is the 1-channel head)
_KEY = re.compile(r"main\.(\d+)\.(\w+)")


class UntrainedDiscriminatorWarning(UserWarning):
    """No netD was given: the model's D is freshly initialised, so its scores mean nothing."""


# ----------------------------------------------------------------------------- reading


def read_state_dict(path: str | Path, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """A reference ``.pth`` -> its state_dict, read with torch's restricted unpickler."""
    obj = load_data_only(path, f"{what} {path}", "save a state_dict instead, torch.save(net.state_dict(), path), "
                         "as dcgan/main.py does", kind="state_dict file")
    return state_dict_of(obj, f"{what} {path}")


def _conv_weights(state: dict[str, torch.Tensor], what: str, path) -> dict[int, torch.Tensor]:
    """main.K.weight of every 4-D tensor (the convs), by K; every key must be main.K.<name>."""
    odd = [k for k in state if not _KEY.fullmatch(k)]
    if odd:
        raise CheckpointError(f"{what} {path} is not a pytorch/examples DCGAN state_dict: expected keys "
                              f"main.<layer>.<name>, found {', '.join(odd[:4])}")
    return {int(_KEY.fullmatch(k).group(1)): v for k, v in state.items() if k.endswith(".weight") and v.dim() == 4}


def _check_layers(convs: dict[int, torch.Tensor], expected: tuple[int, ...], what: str, path, kind: str) -> None:
    n = len(convs)
    if n != len(expected):
        size = f", a {4 * 2 ** (n - 1)}x{4 * 2 ** (n - 1)} {kind}" if n > 1 else ""
        raise CheckpointError(f"{what} {path} has {n} conv layers{size}; facegan's DCGAN is the 64x64 one "
                              f"with {len(expected)} (other image sizes are not supported)")
    if tuple(sorted(convs)) != expected:
        raise CheckpointError(f"{what} {path} has its convs at main.{sorted(convs)}, not at main.{list(expected)}: "
                              f"not the pytorch/examples DCGAN layout")


def _infer_g(state, path) -> tuple[int, int]:
    convs = _conv_weights(state, "netG", path)
    _check_layers(convs, G_CONVS, "netG", path, "generator")
    first, last = convs[0], convs[12]
    if first.shape[2:] != (4, 4):
        k = first.shape[-1]
        raise CheckpointError(f"netG {path}: its first layer makes {k}x{k} maps, so it generates "
                              f"{16 * k}x{16 * k} images; facegan's DCGAN is 64x64 only (4x4)")
    nz, ngf, nc = first.shape[0], last.shape[0], last.shape[1]
    if nc != 3:
        raise CheckpointError(f"netG {path} makes {nc}-channel images; facegan's DCGAN is RGB only (nc=3)")
    if first.shape[1] != 8 * ngf:
        raise CheckpointError(f"netG {path}: its first layer has {first.shape[1]} channels and its last {ngf}; "
                              f"the reference's are 8 * ngf and ngf")
    return nz, ngf


def _infer_d(state, path) -> int:
    convs = _conv_weights(state, "netD", path)
    _check_layers(convs, D_CONVS, "netD", path, "discriminator")
    first = convs[0]
    if first.shape[1] != 3:
        raise CheckpointError(f"netD {path} reads {first.shape[1]}-channel images; facegan's DCGAN is RGB only (nc=3)")
    return first.shape[0]


# ----------------------------------------------------------------------------- converting


def _mapped(state: dict[str, torch.Tensor], net: str) -> dict[str, tuple[str, torch.Tensor]]:
    """Reference names -> {facegan name: (reference name, tensor)}."""
    out = {}
    for key, value in state.items():
        k, name = _KEY.fullmatch(key).groups()
        k = int(k)
        if net == "G":
            target = f"generator.net.{k}.{name}"
        else:
            target = f"discriminator.head.{name}" if k == 11 else f"discriminator.features.{k}.{name}"
        out[target] = (key, value)
    return out


def _load_into(model: dcgan.Model, mapped: dict[str, tuple[str, torch.Tensor]], prefix: str, what: str, path) -> None:
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    unexpected = [ref for k, (ref, _) in mapped.items() if k not in own]
    if unexpected:
        raise CheckpointError(f"{what} {path} has tensors the pytorch/examples DCGAN does not: "
                              f"{', '.join(unexpected[:5])}")
    optional = {k for k in own if k in ZERO_BIASES or k.endswith(".num_batches_tracked")}
    missing = [k for k in own if k not in mapped and k not in optional]
    if missing:
        raise CheckpointError(f"{what} {path} lacks tensors of the pytorch/examples DCGAN: "
                              f"{', '.join(_ref_name(k) for k in missing[:5])}")
    wrong = [f"{ref} {tuple(v.shape)} (expected {tuple(own[k].shape)})"
             for k, (ref, v) in mapped.items() if v.shape != own[k].shape]
    if wrong:
        raise CheckpointError(f"{what} {path}: tensor shapes do not fit a DCGAN with "
                              f"nz={model.config.nz}, ngf={model.config.ngf}, ndf={model.config.ndf}: "
                              f"{', '.join(wrong[:3])}" + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""))
    broken = [ref for k, (ref, v) in mapped.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f"{what} {path} has NaN/inf values in {', '.join(broken[:3])} (a diverged run?)")
    new = {k: torch.zeros_like(v) for k, v in own.items() if k in optional}  # zero biases; old files lack counters
    new.update({k: v.to(own[k].dtype) for k, (_, v) in mapped.items()})
    model.load_state_dict(new, strict=False)


def _ref_name(key: str) -> str:
    """facegan name -> the reference's (generator.net.K.x, discriminator.features.K.x -> main.K.x)."""
    parts = key.split(".")
    return f"main.11.{parts[2]}" if parts[1] == "head" else f"main.{parts[2]}.{parts[3]}"


def _expect(name: str, given: int | None, found: int, path) -> None:
    if given is not None and given != found:
        raise CheckpointError(f"{path} has {name}={found}, not the {name}={given} asked for")


def convert(netg_path: str | Path, netd_path: str | Path | None = None, nz: int | None = None,
            ngf: int | None = None, ndf: int | None = None) -> dcgan.Model:
    """pytorch/examples ``netG_epoch_N.pth`` (+ ``netD_epoch_N.pth``) -> a facegan DCGAN in eval mode.

    nz, ngf and ndf are read from the tensors' shapes; when given they must match (``ndf``
    also sizes the fresh D when there is no netD; default: ngf). The model's prior is
    "normal", as the reference's. Without ``netd_path`` D is freshly initialised (seed 0)
    and an ``UntrainedDiscriminatorWarning`` says that its scores mean nothing.
    Raises ``CheckpointError`` for anything that is not such a checkpoint.
    """
    g_state = read_state_dict(netg_path, "netG")
    found_nz, found_ngf = _infer_g(g_state, netg_path)
    _expect("nz", nz, found_nz, netg_path)
    _expect("ngf", ngf, found_ngf, netg_path)
    d_state = None
    if netd_path is not None:
        d_state = read_state_dict(netd_path, "netD")
        found_ndf = _infer_d(d_state, netd_path)
        _expect("ndf", ndf, found_ndf, netd_path)
    else:
        found_ndf = ndf if ndf is not None else found_ngf
    if found_ndf < 1:
        raise CheckpointError(f"ndf must be a positive width, not {found_ndf}")

    # The reference's training settings: Adam(2e-4, (0.5, 0.999)), BCE loss, no feature matching.
    cfg = dcgan.Config(nz=found_nz, ngf=found_ngf, ndf=found_ndf, image_size=64, lr=2e-4, beta1=0.5,
                       beta2=0.999, feature_matching=0.0, prior="normal")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the fresh D (without netD) is the same every time
        model = dcgan.Model(cfg)
    _load_into(model, _mapped(g_state, "G"), "generator.", "netG", netg_path)
    if d_state is not None:
        _load_into(model, _mapped(d_state, "D"), "discriminator.", "netD", netd_path)
    else:
        warnings.warn("no netD given: the converted model's discriminator is freshly initialised, so its "
                      "scores (and ranking faces by D) mean nothing; pass the matching netD_epoch_N.pth",
                      UntrainedDiscriminatorWarning, stacklevel=2)
    return model.eval()


def provenance(netg_path: str | Path, netd_path: str | Path | None = None) -> dict:
    """What ``config.json`` records about the source (``hub.save_pretrained(extra_config=...)``)."""
    return common.provenance(SOURCE, netg_path, netd_path, "its scores mean nothing")


def model_card(model: dcgan.Model, netg_path: str | Path, netd_path: str | Path | None = None) -> str:
    """A README.md for the converted checkpoint: where it came from and how its latents work."""
    c = model.config
    info = provenance(netg_path, netd_path)["converted_from"]
    d_line = (f"- netD: `{info['netD']}` (sha256 `{info['netD_sha256']}`)" if netd_path else
              "- netD: **none**. D is freshly initialised (seed 0): D's scores, and ranking faces by "
              "them, mean nothing. Convert again with `--netd` to rank faces.")
    q = f"{latent.bytes_to_z([255], 'normal').item():.2f}"
    return f"""---
library_name: facegan
tags: [gan, dcgan, image-generation, converted]
---

# DCGAN converted from pytorch/examples

A DCGAN trained with [{SOURCE}]({SOURCE_URL}), converted to facegan's checkpoint format
by `facegan convert dcgan --from pytorch-examples`. What it generates depends on the data it
was trained on (the reference trains on CIFAR-10, LSUN, ImageNet or any image folder).

- netG: `{info['netG']}` (sha256 `{info['netG_sha256']}`)
{d_line}
- nz={c.nz}, ngf={c.ngf}, ndf={c.ndf}, 64x64 RGB images in [-1, 1]

The conversion is exact: in eval mode facegan's G gives the reference netG's images for the
same z (its BatchNorm running statistics included), and `Model.score` gives netD's output
(facegan's D returns logits; the reference's final Sigmoid is applied by `score`). The
biases facegan's layers have and the reference's do not are zero.

## Latents

The reference's prior is N(0, 1), so `config.json` says `"prior": "normal"`. A face's code is
{2 * c.nz} hex digits, one byte b per dimension, z = Phi^-1((b + 0.5) / 256) (about -{q} to {q});
random codes are samples of the prior.

```
facegan generate dcgan --checkpoint <this folder> --seed 0 --count 16 --out grid.png
```
"""
