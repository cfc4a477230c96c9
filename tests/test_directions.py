"""Labelled directions (facegan.directions.labelled, InterFaceGAN) and the tag classifier they read
faces with (facegan.attributes), as a user of the Python API uses them: fit, save, load, edit by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import ROOT
from PIL import Image
from torch import nn

from facegan import attributes, directions
from facegan.checks import InputError
from facegan.directions import LabelledDirections
from facegan.models import stylegan
from facegan.studio import Studio

# 16 px, 16-dim w (a quarter of it holds the 3 + 2 other-group normals: both groups are conditioned)
TINY = {"image_size": 16, "z_dim": 8, "w_dim": 16, "channel_base": 64, "channel_max": 8, "mbstd_group": 2}
FACES = sorted((ROOT / "assets" / "examples").glob("facegan-anime-*.png"))  # made by our DCGAN, not dataset images


class LinearReader(nn.Module):
    """A "classifier" whose logits are known linear functions of the picture: hair "blue" is the
    picture's mean blue minus red, "red" the opposite; eyes "dark" the lower half's darkness."""

    def __init__(self):
        super().__init__()
        self.groups = {"hair": ("blue", "red", "other"), "eyes": ("dark", "light")}
        self.image_size = 16
        self.unused = nn.Parameter(torch.zeros(1))  # (a module with parameters, as the real one)

    @staticmethod
    def tint(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 2] - x[:, 0]).mean((1, 2))

    def forward(self, x):
        t, d = 40 * self.tint(x), -40 * x[:, :, 8:].mean((1, 2, 3))
        return [torch.stack([t, -t, torch.zeros_like(t)], 1), torch.stack([d, -d], 1)]


@pytest.fixture(scope="module")
def model() -> stylegan.Model:
    torch.manual_seed(0)
    m = stylegan.Model(stylegan.Config(**TINY)).eval()
    with torch.no_grad():
        m.generator.mapping.w_avg.copy_(m.mapping(m.sample_latent(256))[:, 0].mean(0))
    return m


@pytest.fixture(scope="module")
def found(model) -> LabelledDirections:
    return directions.labelled(model, LinearReader(), n=400, seed=0)


def test_fit_boundary_recovers_a_known_hyperplane():
    g = torch.Generator().manual_seed(0)
    normal = torch.nn.functional.normalize(torch.randn(12, generator=g), dim=0)
    x = torch.randn(600, 12, generator=g) * 2
    y = (x @ normal + 0.5 > 0).float()
    a, b = directions.fit_boundary(x, y)
    assert float(a @ normal.double() / a.norm()) > 0.95  # the normal, pointing to label 1
    assert float(((x.double() @ a + b > 0).float() == y).float().mean()) > 0.97


def test_labelled_finds_directions_that_raise_the_labels_probability(model, found):
    assert found.names == ("hair: blue", "hair: red", "hair: other", "eyes: dark", "eyes: light")
    assert found.vectors.shape == (5, 16) and torch.allclose(found.vectors.norm(dim=1), torch.ones(5))
    blue, red = found.vectors[found.index("hair: blue")], found.vectors[found.index("hair: red")]
    assert float(blue @ red) < -0.5  # opposite labels, opposite directions
    assert (found.accuracy[:2] > 0.8).all(), found.accuracy
    # faces not fitted on (seed 1): along +blue the reader's blue rises, along -blue it falls
    w = model.mapping(model.sample_latent(32, torch.Generator().manual_seed(1)))
    tint = {s: LinearReader.tint(model.synthesis(w + s * blue)) for s in (-2.0, 0.0, 2.0)}
    assert float((tint[2.0] > tint[0.0]).float().mean()) >= 0.9
    assert float((tint[-2.0] < tint[0.0]).float().mean()) >= 0.9
    # conditional manipulation: "hair: blue" moves no eye boundary, and the other way round
    assert found.info["conditioned_on"] == {"hair": ["eyes"], "eyes": ["hair"]}
    assert (found.vectors[:3] @ found.normals[3:].T).abs().max() < 1e-5
    assert (found.vectors[3:] @ found.normals[:3].T).abs().max() < 1e-5


def test_unconditional_directions_are_the_boundaries_normals(model, found):
    plain = directions.labelled(model, LinearReader(), n=400, seed=0, conditional=False)
    assert plain.info["conditioned_on"] == {} and torch.allclose(plain.vectors, plain.normals)
    assert torch.equal(plain.normals, found.normals)  # the same fit; only the orthogonalisation differs
    assert not torch.allclose(plain.vectors, found.vectors)


def test_labelled_is_reproducible_and_saves_and_loads_exactly(model, found, tmp_path):
    again = directions.labelled(model, LinearReader(), n=400, seed=0)
    assert torch.equal(again.vectors, found.vectors)
    path = found.save(tmp_path / "ckpt")
    assert path == tmp_path / "ckpt" / directions.FILE_NAME
    back = directions.shipped(tmp_path / "ckpt")
    assert back.names == found.names and back.info == found.info
    for k in ("vectors", "normals", "offsets", "accuracy", "read"):
        assert torch.equal(getattr(back, k), getattr(found, k)), k
    assert directions.shipped(tmp_path) is None  # a folder without the file ships none
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a file of labelled directions"):
        LabelledDirections.load(tmp_path / "broken.safetensors")


def test_studio_edits_by_name(model, found):
    st = Studio(model, dtype="float32", labelled=found)
    face = st.face(3).picture
    same = st.edit(3, "hair: blue", strength=0)
    assert (np.asarray(same.picture) == np.asarray(face)).all()  # strength 0: the face, bit for bit
    e = st.edit(3, " Hair:Blue ", strength=4)
    assert e.direction == "hair: blue" and e.layers == list(range(st.num_ws))  # all styles by default
    assert e.eigenvalue is None and e.accuracy == pytest.approx(float(found.accuracy[0]))
    assert not (np.asarray(e.picture) == np.asarray(face)).all()
    code = st.parse(3)
    ws = st.edited_ws(code, found, "hair: blue", [4.0], [0, 1])
    w = st.w([code])[0]
    assert torch.allclose(ws[0, :2], (w + 4 * found.vectors[0]).expand(2, -1))
    assert torch.equal(ws[0, 2:], w.expand(st.num_ws - 2, -1))  # the other styles untouched
    strip = st.edit_strip(3, "hair: blue", "coarse", 3, 5)
    assert strip.direction == "hair: blue" and strip.layers == st.layers("coarse")
    # SeFa's numbers still work, as numbers or their text
    assert st.edit(3, 1, strength=2).direction == 1 and st.edit(3, "1", strength=2).layers == st.layers("coarse")


def test_bad_direction_names_are_refused_with_the_names(model, found):
    st = Studio(model, dtype="float32", labelled=found)
    with pytest.raises(InputError, match=r"no direction 'hair: teal'.*are hair: blue, red, other; eyes: dark, light$"):
        st.edit(3, "hair: teal")
    with pytest.raises(InputError, match="must be a whole number"):
        st.edit(3, "2.5")
    bare = Studio(model, dtype="float32")
    with pytest.raises(InputError, match="this checkpoint has no labelled directions"):
        bare.edit(3, "hair: blue")
    small = directions.labelled(stylegan.Model(stylegan.Config(**{**TINY, "w_dim": 8})), LinearReader(), n=20)
    with pytest.raises(ValueError, match="8-dim W do not fit this checkpoint's 16-dim W"):
        bare.labelled = small


def test_compute_labelled_on_a_studio(model):
    st = Studio(model, dtype="float32")
    seen = []
    got = st.compute_labelled(n=40, classifier=LinearReader(), progress=lambda f, text: seen.append(f))
    assert st.labelled is got and st.direction_names()[0] == "hair: blue"
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_the_bundled_classifier_reads_our_dcgan_faces():
    net = attributes.load_classifier()
    assert [(g, len(v)) for g, v in net.groups.items()] == [("hair", 12), ("eyes", 10)]
    assert (attributes.BUNDLED / "model.safetensors").stat().st_size < 1.5 * 2**20
    x = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB").resize((64, 64), Image.BICUBIC),
                                                 np.float32)).permute(2, 0, 1) / 127.5 - 1 for f in FACES])
    hair, eyes = attributes.probabilities(net, x)
    assert hair.shape == (2, 12) and eyes.shape == (2, 10)
    assert torch.allclose(hair.sum(1), torch.ones(2)) and torch.allclose(eyes.sum(1), torch.ones(2))
    read = {f.name[14:18]: (net.groups["hair"][int(h.argmax())], net.groups["eyes"][int(e.argmax())])
            for f, h, e in zip(FACES, hair, eyes)}
    # 5dfc: yellow hair, brownish-red eyes; 732d: white-pink hair, blue eyes (look at the pictures)
    assert read["5dfc"][0] == "blonde" and read["5dfc"][1] in ("orange", "red", "brown")
    assert read["732d"][0] in ("white", "pink", "gray") and read["732d"][1] in ("blue", "aqua")
    # any picture size: a 256 px face reads as its 64 px copy does, near enough
    big = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB"), np.float32)).permute(2, 0, 1)
                       / 127.5 - 1 for f in FACES])
    assert (attributes.probabilities(net, big)[0].argmax(1) == hair.argmax(1)).all()
    assert torch.equal(attributes.predict(net, x), torch.stack([hair.argmax(1), eyes.argmax(1)], 1))
