"""facegan.classgrid: faces of chosen classes from an AC-GAN, their codes, interpolations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facegan import latent
from facegan.classgrid import ClassGrid
from facegan.labels import LabelError
from facegan.models import acgan


@pytest.fixture(scope="module")
def cg() -> ClassGrid:
    torch.manual_seed(0)
    model = acgan.Model(acgan.Config(nz=8, ngf=8, ndf=8, classes=["red", "green", "blue"])).eval()
    return ClassGrid(model, dtype="float32")


def test_a_row_per_class_and_the_same_latent_down_each_column(cg):
    g = cg.grid(["blue", "red"], columns=4, seed=3)
    assert g.classes == ["blue", "red"] and len(g.codes) == 4 and [len(r) for r in g.pictures] == [4, 4]
    z = torch.stack([latent.code_to_z(h, cg.nz, cg.prior) for h in g.codes])
    for row, cls in zip(g.pictures, g.classes):
        want = cg.model.generate(z, cls)
        got = torch.stack([torch.from_numpy(np.asarray(p, np.float32)).permute(2, 0, 1) / 127.5 - 1 for p in row])
        assert (got - want).abs().max() <= 1.01 / 127.5  # exactly the model's faces, rounded to 8 bits
    cells = g.cells()
    assert [c for _, c in cells[:4]] == [f"blue:{h}" for h in g.codes]
    assert cg.grid(None, 2, 0).classes == ["red", "green", "blue"]  # none chosen: all
    assert cg.grid(["red"], 3, 3).codes == g.codes[:3]  # a seed gives the same latents


def test_a_code_reproduces_its_face(cg):
    g = cg.grid(["green"], 2, 7)
    pic, code = g.cells()[1]
    assert np.array_equal(np.asarray(cg.face(code)), np.asarray(pic))
    assert np.array_equal(np.asarray(cg.face(code.upper().replace("GREEN", "green"))), np.asarray(pic))
    with pytest.raises(LabelError, match="'purple' is not one of the 3 .*red, green, blue"):
        cg.face("purple:" + "00" * cg.nz)
    with pytest.raises(ValueError, match="<class>:<16 hex digits>"):
        cg.face("no colon")
    with pytest.raises(ValueError, match="16 hex digits"):
        cg.face("red:abc")


def test_interpolation_walks_from_one_face_to_the_other_in_every_class(cg):
    g = cg.grid(["red", "blue"], 2, 1)
    a, b = g.codes
    frames = cg.interpolation_frames(f"red:{a}", b, ["red", "blue"], steps=5, mode="lerp", loop=False, size=64)
    assert frames.shape == (6, 64, 128, 3) and frames.dtype == np.uint8
    assert np.abs(frames[0, :, :64].astype(int) - np.asarray(g.pictures[0][0], int)).max() <= 1  # red, latent a
    assert np.abs(frames[-1, :, 64:].astype(int) - np.asarray(g.pictures[1][1], int)).max() <= 1  # blue, latent b
    assert np.abs(frames[2].astype(int) - frames[3].astype(int)).mean() > 0  # it moves


def test_a_model_without_classes_is_refused():
    from facegan.models import dcgan

    with pytest.raises(ValueError, match="class-conditional"):
        ClassGrid(dcgan.Model(dcgan.Config(ngf=8, ndf=8)))
