"""facegan.editor: framing (anime, then photo, else the whole picture), grids and edits of every
kind of label group, the labels not asked for kept as D reads them, clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegan import faces
from facegan.editor import NO_FACE, Editor, labelled_grid, parse_target
from facegan.labels import BINARY, DatasetLabels, Group, LabelError, LabelSpec, anime_labels
from facegan.models import stargan

ROOT = Path(__file__).resolve().parent.parent
ASTRONAUT = ROOT / "assets" / "examples" / "astronaut.jpg"
SPEC = LabelSpec.of(anime_labels(("black", "blue", "pink"), ("green", "red")),
                    DatasetLabels("celeb", (Group("attrs", ("Male", "Young"), BINARY),)))


@pytest.fixture(scope="module")
def editor() -> Editor:
    torch.manual_seed(0)
    return Editor(stargan.Model(stargan.Config(image_size=32, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1,
                                               d_repeat_num=4, labels=SPEC)), dtype="float32")  # exact


def noise(w=90, h=60, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_framing_anime_then_photo_else_the_whole_picture(editor):
    photo = Image.open(ASTRONAUT)
    auto = editor.frame(photo, "auto")
    assert auto.kind == "photo" and len(auto.faces) == 1 and auto.face == 0 and not auto.notice
    assert auto.square.size == (32, 32)
    want = faces.square(faces.crop(photo, faces.detect(photo, "photo")[0], "photo"), 32)
    assert np.array_equal(np.asarray(auto.square), np.asarray(want))
    assert editor.frame(photo, "none").faces == []
    with pytest.raises(ValueError, match=r"face 2 asked for, but 1 face"):
        editor.frame(photo, "photo", 2)
    fallback = editor.frame(noise(), "anime")
    assert fallback.notice == NO_FACE and fallback.face is None
    assert np.array_equal(np.asarray(fallback.square), np.asarray(editor.frame(noise(), "none").square))
    with pytest.raises(ValueError, match="crop is one of auto, anime, photo, none"):
        editor.frame(photo, "cat")


def test_grid_of_a_categorical_and_a_binary_group(editor):
    pic = noise()
    r = editor.grid(pic, "hair", "none", display=48)
    assert [label for _, label in r.pictures] == ["black", "blue", "pink"]
    assert r.input.size == (48, 48) and all(p.size == (48, 48) for p, _ in r.pictures)
    assert set(r.read) == {"hair", "eyes"}  # D's reading, of the group's data set
    x = torch.from_numpy(np.asarray(editor.frame(pic, "none").square, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    model = editor.model
    read = model.classify(x, "anime")
    want = model.edit(x, SPEC.with_value(read, "hair", "pink"))
    small = editor.grid(pic, "hair", "none", display=32).pictures[2][0]  # at the model's size: its own pixels
    assert np.abs(np.asarray(small, np.float32) - ((want[0].permute(1, 2, 0) + 1) * 127.5).numpy()).max() <= 0.51
    assert r.grid.width > 4 * 48 and r.grid.height > 48  # the input and 3 pictures, captions under them

    b = editor.grid(pic, "attrs", "none")
    on = set(b.read["attrs"])
    assert [label for _, label in b.pictures] == [("-" if a in on else "+") + a for a in ("Male", "Young")]
    with pytest.raises(LabelError, match="no label group 'wings'"):
        editor.grid(pic, "wings", "none")


def test_edit_sets_the_groups_asked_for_and_keeps_the_rest(editor):
    pic = noise(seed=1)
    r = editor.edit(pic, '{"hair": "blue"}', "none")
    assert r.target == {**r.read, "hair": "blue"}  # eyes as read
    assert r.side_by_side.width > 2 * r.output.width - 1
    two = editor.edit(pic, {"hair": "blue", "eyes": "red"}, "none")
    assert two.target == {"hair": "blue", "eyes": "red"}
    # a binary group: the attributes on, or some switched and the others as read
    assert editor.edit(pic, {"attrs": ["Young"]}, "none").target == {"attrs": ["Young"]}
    assert editor.edit(pic, {"attrs": []}, "none").target == {"attrs": []}
    read = editor.edit(pic, {}, "none").read  # nothing asked: the first data set, as read
    assert set(read) == {"hair", "eyes"}
    switched = editor.edit(pic, {"attrs": {"Male": True}}, "none")
    assert "Male" in switched.target["attrs"]
    assert ("Young" in switched.target["attrs"]) == ("Young" in switched.read["attrs"])


@pytest.mark.parametrize(("target", "says"), [
    ('{"hair": "gold"}', "'gold' is not one of the 3 hair values"),
    ('{"hair": ["blue"]}', "hair takes one value"),
    ('{"hair": "blue", "attrs": []}', "groups of different data sets (anime, celeb)"),
    ('{"attrs": {"Male": 1}}', "switched with true or false"),
    ('{"attrs": {"Bald": true}}', "'Bald' is not one of the"),
    ('{"attrs": 3}', "takes the attributes that are on"),
    ("hair=blue", "not JSON"),
    ("[]", "must be a JSON object"),
    ("  ", "give a JSON object"),
])
def test_bad_targets_are_named(editor, target, says):
    with pytest.raises(ValueError, match=None) as e:
        editor.edit(noise(), target, "none")
    assert says in str(e.value)


def test_parse_target_and_labelled_grid():
    assert parse_target('{"hair": "blue"}') == {"hair": "blue"}
    tiles = [(Image.new("RGB", (40, 40), c), "a very long caption indeed") for c in ("red", "blue", "green")]
    grid = labelled_grid(tiles, columns=2)
    assert grid.size[0] == 2 * 44 + 4 and grid.size[1] > 2 * 44
    with pytest.raises(ValueError, match="no pictures"):
        labelled_grid([])
    with pytest.raises(ValueError, match="StarGAN model"):
        Editor(torch.nn.Linear(1, 1))


def test_keep_chroma_by_hand():
    """keep_chroma: the edited picture's BT.601 lightness, the source's colour differences B - Y, R - Y."""
    from facegan.images import keep_chroma

    source = torch.tensor([0.6, -0.2, 0.1])[None, :, None, None]  # a colour pixel
    y_source = 0.299 * 0.6 + 0.587 * -0.2 + 0.114 * 0.1  # 0.0734
    edited = torch.full((1, 3, 1, 1), -0.3)  # a grey one: Y = -0.3
    got = keep_chroma(source, edited)[0, :, 0, 0]
    y = 0.299 * got[0] + 0.587 * got[1] + 0.114 * got[2]
    assert float(y) == pytest.approx(-0.3, abs=1e-6)
    assert float(got[2] - y) == pytest.approx(0.1 - y_source, abs=1e-6)  # B - Y as the source's
    assert float(got[0] - y) == pytest.approx(0.6 - y_source, abs=1e-6)  # R - Y
    assert torch.equal(keep_chroma(edited, edited), edited)  # grey stays grey


def test_an_edit_towards_a_grey_data_set_keeps_the_pictures_colour(tmp_path):
    """Issue #22: a model mixing colour anime faces with greyscale FER2013 photos must not pull a
    colour picture towards grey. An expression edit (the fer set is grey) keeps the input's colour
    differences (within the 8-bit rounding), a hair edit (colour set) is G's own; the grey flag
    survives config.json and is read from a folder of greyscale pictures."""
    from facegan import data
    from facegan.labels import class_labels

    fer = class_labels(("happy", "sad"), grey=True)
    spec = LabelSpec.of(anime_labels(("blue", "red"), ("green", "brown")), fer)
    assert LabelSpec.from_dict(spec.to_dict()) == spec and LabelSpec.from_dict(spec.to_dict()).datasets[1].grey
    old = spec.to_dict()
    del old["datasets"][1]["grey"]
    assert not LabelSpec.from_dict(old).datasets[1].grey  # a checkpoint from before: as it was

    torch.manual_seed(0)
    ed = Editor(stargan.Model(stargan.Config(image_size=32, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1,
                                             d_repeat_num=4, labels=spec)).eval(), dtype="float32")
    rng = np.random.default_rng(0)
    small = rng.uniform(60, 200, (4, 4, 3))  # a smooth colour picture, well inside [0, 255]
    picture = Image.fromarray(np.kron(small, np.ones((8, 8, 1))).astype(np.uint8))

    def chroma(p: Image.Image) -> np.ndarray:
        a = np.asarray(p.convert("RGB"), np.float64)
        y = a @ np.array([0.299, 0.587, 0.114])
        return np.stack([a[..., 2] - y, a[..., 0] - y], -1)

    happy = ed.edit(picture, {"expression": "happy"}, crop="none", display=None)
    out = np.asarray(happy.output, np.int16)
    inside = ((out > 0) & (out < 255)).all(-1)  # where the [-1, 1] clamp left the colour alone
    assert inside.mean() > 0.5
    assert np.abs(chroma(happy.output) - chroma(happy.input))[inside].max() <= 1.5  # 8-bit rounding of 3 channels
    size = [np.linalg.norm(chroma(p), axis=-1).mean() for p in (happy.output, happy.input)]
    assert abs(size[0] / size[1] - 1) < 0.1  # the figure: mean chroma within 10 % of the source's
    assert np.abs(np.asarray(happy.output, np.int16) - np.asarray(happy.input, np.int16)).max() > 5  # G changed it
    blue = ed.edit(picture, {"hair": "blue"}, crop="none", display=None)
    assert np.abs(chroma(blue.output) - chroma(blue.input)).max() > 5  # an untrained G: its own colours
    for i, name in enumerate(("happy", "sad")):
        (tmp_path / "grey" / name).mkdir(parents=True)
        (tmp_path / "colour" / name).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / "grey" / name / f"{i}.png")
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "colour" / name / f"{i}.png")
    assert data.labels_of(tmp_path / "grey").grey and not data.labels_of(tmp_path / "colour").grey
