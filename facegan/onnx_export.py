"""Generators as ONNX graphs, for drawing faces where PyTorch is not (the visitor's browser, with
onnxruntime-web): DCGAN, AC-GAN and StyleGAN, each one graph with torch's own exporter
(``torch.onnx.export(dynamo=True)``), written as one ``generator.onnx`` file (weights inside) and an
``onnx.json`` that says what goes in and what comes out.

The graphs, batch 1 (what a slider move draws):

- dcgan: ``z`` (1, nz) float32 -> ``image`` (1, 3, 64, 64) in about [-1, 1];
- acgan: ``z`` (1, nz), ``class`` (1,) int64 -> ``image``;
- stylegan: ``z`` (1, z_dim), ``psi`` () float32, ``offset`` (num_ws, w_dim) float32 -> ``image``: the
  mapping, truncation of every style towards W's average by ``psi``, then ``offset`` added to the styles
  (a direction times its strength in the styles it moves: zeros for none), then the synthesis with
  the checkpoint's fixed noise (the studio's "const": a code is always the same face), clamped to [-1, 1]
  as the model's own ``synthesis``.

``fp16=True`` stores the weights as float16 with a Cast to float32 in front of each use: half the
bytes to download, the arithmetic float32 as before (pictures within 2/255 of PyTorch's float32).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from facegan import models

TECHNIQUES = ("dcgan", "acgan", "stylegan")
GRAPH_NAME = "generator.onnx"
INFO_NAME = "onnx.json"
OPSET = 18


class _StyleGAN(nn.Module):
    """z, psi, offset -> image: the studio's single face (truncation of all styles, the fixed noise)."""

    def __init__(self, model):
        super().__init__()
        self.mapping, self.synthesis = model.generator.mapping, model.generator.synthesis

    def forward(self, z: torch.Tensor, psi: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        ws = self.mapping(z, 1.0, None)  # (1, num_ws, w_dim)
        avg = self.mapping.w_avg
        ws = avg + psi * (ws - avg) + offset[None]
        return self.synthesis(ws, "const", None).clamp(-1, 1)  # as Model.synthesis


class _ACGAN(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.generator = model.generator

    def forward(self, z: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        return self.generator(z, cls)


def graph_of(model) -> tuple[nn.Module, dict[str, torch.Tensor], dict]:
    """(the module exported, example inputs by name, what ``onnx.json`` says of them)."""
    technique = models.technique_of(model)
    if technique not in TECHNIQUES:
        raise ValueError(f"export-onnx draws {', '.join(TECHNIQUES)}; {technique} translates pictures")
    z = torch.zeros(1, model.latent_dim)
    info = {"technique": technique, "image_size": model.config.image_size, "z_dim": model.latent_dim,
            "prior": getattr(model.config, "prior", "uniform"), "output": "image (1, 3, S, S), about [-1, 1]"}
    if technique == "dcgan":
        return model.generator, {"z": z}, {**info, "inputs": {"z": [1, model.latent_dim]}}
    if technique == "acgan":
        return _ACGAN(model), {"z": z, "class": torch.zeros(1, dtype=torch.long)}, {
            **info, "classes": model.classes, "inputs": {"z": [1, model.latent_dim], "class": [1]}}
    if model.config.architecture != "stylegan2":
        raise ValueError("export-onnx exports StyleGAN2 checkpoints (a converted StyleGAN v1 is drawn on the server)")
    offset = torch.zeros(model.num_ws, model.config.w_dim)
    return _StyleGAN(model), {"z": z, "psi": torch.tensor(1.0), "offset": offset}, {
        **info, "num_ws": model.num_ws, "w_dim": model.config.w_dim,
        "inputs": {"z": [1, model.latent_dim], "psi": [], "offset": [model.num_ws, model.config.w_dim]}}


EXPORT_VERSION = 1  # raised when the graphs change, so that kept ones are made again


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weights_key(model) -> str:
    """A name for ``model``'s graph: the sha256 of its technique, settings, every tensor of its
    generator and this exporter's version (a changed checkpoint or exporter: a new name)."""
    module, _, info = graph_of(model)
    h = hashlib.sha256(json.dumps([EXPORT_VERSION, OPSET, info], sort_keys=True, default=str).encode())
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def export(model, out: str | os.PathLike, fp16: bool = False) -> Path:
    """``model``'s generator as ``out/generator.onnx`` (+ ``out/onnx.json``); returns the graph's path."""
    import onnx

    module, inputs, info = graph_of(model)
    module = module.float().eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / GRAPH_NAME
    with torch.no_grad():
        program = torch.onnx.export(module, tuple(inputs.values()), dynamo=True, opset_version=OPSET,
                                    input_names=list(inputs), output_names=["image"], verbose=False)
    graph = program.model_proto
    if fp16:
        graph = weights_as_float16(graph)
    tmp = path.with_name(f".{path.name}.tmp")
    onnx.save_model(graph, tmp)  # one file: the weights inside (a few MB)
    os.replace(tmp, path)
    info = {**info, "weights": "float16 (cast to float32 when used)" if fp16 else "float32", "opset": OPSET}
    (out / INFO_NAME).write_text(json.dumps(info, indent=1) + "\n")
    return path


def weights_as_float16(graph):
    """Every float32 weight stored as float16, with a Cast back to float32 before its first use."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    g = graph.graph
    casts, kept = [], []
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=f"{init.name}__cast"))
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return graph
