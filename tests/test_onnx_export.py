"""facegan export-onnx: each generator as one ONNX graph, run by onnxruntime and compared with what
facegan's PyTorch model draws for the same inputs (float32 within 1e-4; --fp16 within 2/255)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")

from facegan import hub, onnx_export  # noqa: E402
from facegan.models import acgan, dcgan, stylegan  # noqa: E402

TINY_SG = {"image_size": 16, "z_dim": 16, "w_dim": 16, "channel_base": 64, "channel_max": 16}


def tiny(technique: str):
    torch.manual_seed(0)
    if technique == "dcgan":
        return dcgan.Model(dcgan.Config(ngf=8, ndf=8)).eval()
    if technique == "acgan":
        return acgan.Model(acgan.Config(ngf=8, ndf=8, classes=["red", "blue", "green"])).eval()
    model = stylegan.Model(stylegan.Config(**TINY_SG)).eval()
    with torch.no_grad():  # a w_avg away from zero, so that truncation moves the faces
        model.generator.mapping.w_avg.copy_(model.mapping(model.sample_latent(64))[:, 0].mean(0) + 0.3)
    return model


def run(path, feeds: dict) -> np.ndarray:
    return ort.InferenceSession(str(path)).run(None, {k: np.asarray(v) for k, v in feeds.items()})[0]


def cases(technique: str, model):
    """(ONNX inputs, what facegan's PyTorch model draws for them), for a few inputs."""
    g = torch.Generator().manual_seed(1)
    out = []
    for i in range(2):
        z = model.sample_latent(1, generator=g)
        with torch.no_grad():
            if technique == "dcgan":
                out.append(({"z": z.numpy()}, model.generate(z)))
            elif technique == "acgan":
                y = torch.tensor([i + 1])
                out.append(({"z": z.numpy(), "class": y.numpy()}, model.generate(z, y)))
            else:
                psi = 0.7 if i == 0 else 1.3
                offset = torch.randn(model.num_ws, model.config.w_dim, generator=g) * 0.5 * i  # 0, then a move
                ws = model.mapping(z, psi) + offset  # the model's own truncation, then the offset
                out.append(({"z": z.numpy(), "psi": np.float32(psi), "offset": offset.numpy()},
                            model.synthesis(ws, "const").float()))
    return out


@pytest.mark.parametrize("technique", onnx_export.TECHNIQUES)
def test_the_graph_draws_what_the_model_draws(technique, tmp_path):
    model = tiny(technique)
    path = onnx_export.export(model, tmp_path / "f32")
    half = onnx_export.export(model, tmp_path / "f16", fp16=True)
    assert half.stat().st_size < path.stat().st_size  # the weights at half the bytes (the bundled ones: 0.5x)
    info = json.loads((tmp_path / "f32" / onnx_export.INFO_NAME).read_text())
    assert info["technique"] == technique and info["image_size"] == model.config.image_size
    for feeds, want in cases(technique, model):
        want = want.numpy()
        got = run(path, feeds)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-4
        pixels = np.abs(np.clip(run(half, feeds), -1, 1) - np.clip(want, -1, 1)).max() * 127.5
        assert pixels <= 2.0, pixels


def test_the_stylegan_offset_moves_the_styles(tmp_path):
    """A graph that ignored ``offset`` or ``psi`` would pass no case above with a move; checked apart too."""
    model = tiny("stylegan")
    path = onnx_export.export(model, tmp_path)
    z = model.sample_latent(1, generator=torch.Generator().manual_seed(3)).numpy()
    still = np.zeros((model.num_ws, model.config.w_dim), np.float32)
    base = run(path, {"z": z, "psi": np.float32(1), "offset": still})
    moved = run(path, {"z": z, "psi": np.float32(1), "offset": still + 0.5})
    average = run(path, {"z": z, "psi": np.float32(0), "offset": still})
    with torch.no_grad():
        w_avg = model.w_avg.expand(1, model.num_ws, -1)
        assert np.abs(average - model.synthesis(w_avg, "const").numpy()).max() <= 1e-4  # psi 0: the average face
    assert np.abs(moved - base).max() > 0.01


def test_the_cli_writes_the_graph_and_refuses_a_translator(tmp_path, capsys):
    from conftest import one_line_error

    from facegan import cli

    folder = hub.save_pretrained(tiny("dcgan"), tmp_path / "ckpt")
    assert cli.main(["export-onnx", "dcgan", "--checkpoint", str(folder), "--out", str(tmp_path / "web")]) == 0
    assert (tmp_path / "web" / "generator.onnx").is_file() and (tmp_path / "web" / "onnx.json").is_file()
    capsys.readouterr()
    line = one_line_error(capsys, "export-onnx", "ugatit", "--out", tmp_path / "x")
    assert "ugatit translates pictures" in line and not (tmp_path / "x").exists()
