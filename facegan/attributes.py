"""Hair and eye colours read from a face picture: the small CNN that benchmarks/stargan_quality.py
trains on the tagged real anime faces (anime-faces-64, a fixed 2,000 held out), so that the
benchmarks score what a GAN draws and ``facegan.directions.labelled`` labels its faces.

The trained one ships as ``checkpoints/anime-tags-64`` (``BUNDLED``): ``config.json`` (``"kind":
"tag-classifier"``, the picture size, the groups and their values in the heads' order),
``model.safetensors`` (conv weights int8 with a float32 scale per output channel, as
``hub.save_pretrained(int8=True)``; the rest float16) and a README.md card. It is not a GAN, so
it is not in ``checkpoints/manifest.json``; ``load_classifier`` reads it, no pickles.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from facegan import hub

KIND = "tag-classifier"
BUNDLED = hub.ROOT / "checkpoints" / "anime-tags-64"


class Classifier(nn.Module):
    """Four stride-2 convs, global average pooling, one linear head per label group.

    ``sizes``: the number of values of each group; ``groups``: their names and values in the
    heads' order (``{"hair": ("aqua", ...), "eyes": (...)}``; numbered when not given);
    ``image_size``: the pictures it was trained on (others are resized by ``probabilities``)."""

    def __init__(self, sizes: Sequence[int], groups: dict[str, Sequence[str]] | None = None, image_size: int = 64):
        super().__init__()
        sizes = [int(k) for k in sizes]
        if groups is None:
            groups = {f"group {j}": [str(v) for v in range(k)] for j, k in enumerate(sizes)}
        if [len(v) for v in groups.values()] != sizes:
            raise ValueError(f"groups {list(groups)} have {[len(v) for v in groups.values()]} values, the heads {sizes}")
        self.groups = {name: tuple(values) for name, values in groups.items()}
        self.image_size = int(image_size)
        layers, c = [], 3
        for i, out in enumerate((32, 64, 128, 256)):
            layers += [nn.Conv2d(c, out, 3, 2, 1, bias=i == 0)] + ([nn.BatchNorm2d(out)] if i else []) + \
                      [nn.LeakyReLU(0.2), nn.Conv2d(out, out, 3, 1, 1, bias=False), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3))
        self.heads = nn.ModuleList(nn.Linear(c, k) for k in sizes)

    @property
    def sizes(self) -> list[int]:
        return [len(v) for v in self.groups.values()]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, 3, S, S) in [-1, 1] -> one (N, k) logits per group."""
        f = self.features(x)
        return [h(f) for h in self.heads]


def _batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i:i + size]


@torch.no_grad()
def predict(net: Classifier, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(N, 3, S, S) in [-1, 1] -> (N, groups) int64: each group's most likely value."""
    outs = [torch.stack([o.argmax(1) for o in net(part)], 1) for part in _batches(x, batch)]
    return torch.cat(outs)


@torch.no_grad()
def probabilities(net: Classifier, x: torch.Tensor, batch: int = 256) -> list[torch.Tensor]:
    """(N, 3, S, S) about [-1, 1], any size -> one (N, k) float32 softmax per group, on the CPU.

    A generator's pictures are clamped to [-1, 1] (the real faces it was trained on are) and
    resized to the classifier's size (bilinear, antialiased)."""
    device = next(net.parameters()).device
    out: list[list[torch.Tensor]] = [[] for _ in net.groups]
    for part in _batches(x, batch):
        part = part.to(device, torch.float32).clamp(-1, 1)
        if part.shape[-1] != net.image_size or part.shape[-2] != net.image_size:
            part = F.interpolate(part, (net.image_size, net.image_size), mode="bilinear", align_corners=False,
                                 antialias=True)
        for j, logits in enumerate(net(part)):
            out[j].append(logits.float().softmax(1).cpu())
    return [torch.cat(o) for o in out]


def save_classifier(net: Classifier, folder: str | os.PathLike, card: str | None = None,
                    extra_config: dict | None = None) -> Path:
    """``config.json`` + ``model.safetensors`` (int8 conv weights, the rest float16; BatchNorm's
    counter integer) + ``README.md`` into ``folder``, renamed into place when complete."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    tmp.chmod(0o755)
    try:
        state = {}
        for k, v in net.state_dict().items():
            v = v.detach().cpu()
            if v.is_floating_point() and v.ndim >= 2 and v.numel() >= hub.INT8_MIN_NUMEL:
                v, state[k + hub.SCALE_SUFFIX] = hub.quantize_int8(v)
            elif v.is_floating_point():
                v = v.half()
            state[k] = v.contiguous()
        save_file(state, tmp / hub.WEIGHTS_NAME, metadata={"format": "pt"})
        (tmp / hub.WEIGHTS_NAME).chmod(0o644)
        config = {"kind": KIND, "image_size": net.image_size, "groups": {k: list(v) for k, v in net.groups.items()},
                  **(extra_config or {})}
        (tmp / hub.CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        if card:
            (tmp / hub.CARD_NAME).write_text(card)
        hub.replace_dir(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_classifier(folder: str | os.PathLike = BUNDLED, device: str | torch.device = "cpu") -> Classifier:
    """The classifier of a folder ``save_classifier`` wrote (default: the bundled one), in eval mode."""
    folder = Path(folder)
    config = hub.read_config(folder)
    groups = config.get("groups")
    if config.get("kind") != KIND or not isinstance(groups, dict) or not groups:
        raise hub.CheckpointError(f"{folder / hub.CONFIG_NAME} is not a tag classifier's config "
                                  f'(kind "{KIND}" and its groups)')
    net = Classifier([len(v) for v in groups.values()], groups, config.get("image_size", 64))
    try:
        raw = load_file(folder / hub.WEIGHTS_NAME)
    except Exception as e:  # safetensors' own error for a damaged file, or no file
        raise hub.CheckpointError(f"{folder / hub.WEIGHTS_NAME} is not a readable safetensors file: {e}") from e
    state = {k: v for k, v in raw.items() if not k.endswith(hub.SCALE_SUFFIX)}
    for k, scale in raw.items():
        if k.endswith(hub.SCALE_SUFFIX):
            state[k.removesuffix(hub.SCALE_SUFFIX)] = hub.dequantize_int8(raw[k.removesuffix(hub.SCALE_SUFFIX)], scale)
    own = net.state_dict()
    if own.keys() != state.keys() or any(state[k].shape != v.shape for k, v in own.items()):
        raise hub.CheckpointError(f"{folder / hub.WEIGHTS_NAME} does not match the classifier its config describes")
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return net.to(device).eval()
