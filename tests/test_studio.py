"""The StyleGAN studio (facegan.studio) as a user of the Python API uses it: codes reproduce faces,
truncation, style mixing, interpolations, variations, and the limits of one call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facegan import checks, latent
from facegan.checks import InputError
from facegan.models import stylegan
from facegan.studio import Code, Studio, span

# 16 px, 8-dim z and w, 8 channels: a face in a few ms; 6 styles (coarse 0-3, middle 4-5)
TINY = {"image_size": 16, "z_dim": 8, "w_dim": 8, "channel_base": 64, "channel_max": 8, "mbstd_group": 2}


@pytest.fixture(scope="module")
def st() -> Studio:
    torch.manual_seed(0)
    model = stylegan.Model(stylegan.Config(**TINY)).eval()
    with torch.no_grad():  # a w_avg away from 0 and noise that shows, as after training
        model.generator.mapping.w_avg.copy_(model.mapping(model.sample_latent(256))[:, 0].mean(0))
        for name, p in model.generator.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
    return Studio(model, dtype="float32")


def arr(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture, dtype=np.int16)


def close(a, b, tol: int = 1) -> bool:
    """Pictures equal within ``tol`` / 255: a face drawn in a batch may differ from the same face
    drawn alone by float rounding (the convs' algorithms depend on the batch)."""
    a, b = (np.asarray(x, dtype=np.int16) for x in (a, b))
    return a.shape == b.shape and int(np.abs(a - b).max()) <= tol


def test_a_seed_and_its_code_give_the_same_face(st):
    f = st.face(3)
    assert f.picture.size == (16, 16) and f.code == latent.random_codes(1, 8, 3)[0]
    assert (arr(st.face(f.code).picture) == arr(f.picture)).all()
    assert (arr(st.face("3").picture) == arr(f.picture)).all()  # a seed as text, as the app sends it
    assert (arr(st.face(f.code.upper()).picture) == arr(f.picture)).all() and st.code(f.code.upper()) == f.code
    assert not (arr(st.face(4).picture) == arr(f.picture)).all()
    # the code's z is the seed's z: the same face as the model draws it
    z = latent.code_to_z(f.code, 8, "normal")[None]
    assert torch.equal(st.images([f.code]), st.model.generate(z))


def test_psi_zero_gives_the_average_face_for_every_seed(st):
    faces = st.images([0, 1, 2, 99], psi=0)
    assert (faces == faces[:1]).all()
    assert torch.allclose(faces[0], st.draw(st.model.w_avg[None, None].expand(1, st.num_ws, -1))[0], atol=1e-5)
    assert not torch.equal(*st.images([0, 1], psi=1))
    # cutoff 0 truncates nothing; cutoff 2 only the first two styles
    assert torch.equal(st.images([5], psi=0, cutoff=0), st.images([5]))
    assert not torch.equal(st.images([5], psi=0, cutoff=2), st.images([5]))
    assert torch.equal(st.images([5], psi=0.5, cutoff=" "), st.images([5], psi=0.5, cutoff=None))  # the app's empty box
    assert torch.equal(st.images([5], psi=0.5, cutoff="all"), st.images([5], psi=0.5, cutoff=6))


def test_noise_modes(st):
    const = st.images([7])
    assert torch.equal(const, st.images([7], noise="const"))
    r1, r1_again, r2 = (st.images([7], noise="random", noise_seed=s) for s in (1, 1, 2))
    assert torch.equal(r1, r1_again) and not torch.equal(r1, r2) and not torch.equal(r1, const)
    # seeded noise is the same for a face drawn alone or in a batch
    assert torch.allclose(st.images([3, 7], noise="random", noise_seed=1)[1:], r1, atol=1e-5)
    assert not torch.equal(st.images([7], noise="none"), const)


def test_mixing_with_the_same_source_reproduces_it(st):
    m = st.mix([4], [4], "coarse")
    assert close(m.pictures[0][0], st.face(4).picture)
    m = st.mix("1, 2, 3", "4, 5", "middle")
    assert len(m.cells()) == 6 and [len(r) for r in m.pictures] == [2, 2, 2]
    assert m.layers == [4, 5] and m.row_labels == ["seed 1", "seed 2", "seed 3"] and m.column_labels[1] == "seed 5"
    assert m.cells()[1][1] == "seed 1 → seed 5"
    # cell (r, c): the column's face with the row's styles at the layers, as Model.mix makes it
    ws = st._broadcast(st.w(st.faces([2, 5])))
    want = st.draw(st.model.mix(ws[1:], ws[:1], [4, 5]))
    assert close(m.pictures[1][1], _pil(want))
    # copying every style gives the row's face; none of the other mixes is a source
    every = st.mix([2], [5], "0-5")
    assert close(every.pictures[0][0], st.face(2).picture)
    fig = m.figure(32)
    assert fig.size[0] > 3 * 32 and fig.size[1] > 4 * 32  # (1 + 2) columns, (1 + 3) rows of pictures and captions


def _pil(x: torch.Tensor) -> Image.Image:
    from facegan.images import to_pil

    return to_pil(x)[0]


@pytest.mark.parametrize(("spec", "want"), [("coarse", [0, 1, 2, 3]), ("MIDDLE", [4, 5]), ("0-2", [0, 1, 2]),
                                            ("4-", [4, 5]), ("5, 1", [1, 5]), ("0-1,3", [0, 1, 3]), ([2, 0], [0, 2])])
def test_layers(st, spec, want):
    assert st.layers(spec) == want


@pytest.mark.parametrize(("spec", "says"), [("fine", "no fine styles"), ("6", "indices 0 to 5"), ("3-1", "0 to 5"),
                                            ("x", "coarse, middle, fine"), ("", "coarse"), ([9], "0 to 5"),
                                            ("1--2", "coarse"), ([True], "0 to 5")])
def test_bad_layers_are_refused_naming_the_range(st, spec, says):
    with pytest.raises(InputError, match=says):
        st.layers(spec)


def test_span():
    assert span([0, 1, 2, 3, 7, 9, 10]) == "0-3, 7, 9-10" and span([4]) == "4"


def test_interpolation_frames(st):
    frames = st.interpolation_frames([1, 2, 3], frames=4, mode="lerp-w", loop=False, size=32)
    assert frames.shape == (2 * 4 + 1, 32, 32, 3) and frames.dtype == np.uint8
    first = np.asarray(st.face(1).picture.resize((32, 32), Image.Resampling.NEAREST))
    last = np.asarray(st.face(3).picture.resize((32, 32), Image.Resampling.NEAREST))
    assert close(frames[0], first) and close(frames[-1], last)  # from the first face to the last
    looped = st.interpolation_frames("1 2 3", frames=4, mode="slerp-z", loop=True, size=16)
    assert looped.shape == (12, 16, 16, 3) and close(looped[4], st.face(2).picture)
    # three faces side by side, each through 2 key frames: the article's GIF
    side = st.interpolation_frames([1, 2, 3, 4, 5, 6], frames=3, side_by_side=3, size=16)
    assert side.shape == (4, 16, 48, 3)
    assert close(side[0][:, 16:32], st.face(2).picture) and close(side[-1][:, 32:], st.face(6).picture)
    v = st.variations(1, 1)[0].code  # a variation is a point in W: lerp-w walks to it
    assert close(st.interpolation_frames([1, v], 2, size=16)[-1], st.face(v).picture)


def test_interpolate_writes_gif_and_mp4(st, tmp_path):
    gif, mp4 = st.interpolate("1,2", frames=3, loop=True, fps=10, size=32, out_dir=tmp_path)
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.size == (32, 32)
    assert mp4.suffix == ".mp4" and mp4.stat().st_size > 0


def test_variations_differ_but_stay_close_and_their_codes_reproduce_them(st):
    centre = st.face(11)
    around = st.variations(centre.code, count=6, step=0.2, seed=5)
    assert len(around) == 6 and [v.code for v in around] == [f"{centre.code}+5:{i}:0.2" for i in range(6)]
    pics = [arr(v.picture) for v in around]
    assert all(not (p == arr(centre.picture)).all() for p in pics)
    assert len({p.tobytes() for p in pics}) == 6
    near = np.mean([np.abs(p - arr(centre.picture)).mean() for p in pics])
    others = np.mean([np.abs(arr(st.face(s).picture) - arr(centre.picture)).mean() for s in range(20, 30)])
    assert near < 0.6 * others, (near, others)
    for v in around[:2]:  # a code reproduces its variation; a variation of a variation too
        assert close(st.face(v.code).picture, v.picture)
    again = st.variations(around[1].code, count=2, step=0.2, seed=0)
    assert again[0].code == f"{around[1].code}+0:0:0.2"
    assert close(st.face(again[0].code).picture, again[0].picture)
    # the same step whatever the count: variation i does not depend on how many were asked for
    assert st.variations(centre.code, count=2, step=0.2, seed=5)[1].code == around[1].code
    assert torch.equal(st.images([around[1].code]), st.images([st.variations(centre.code, 2, 0.2, 5)[1].code]))
    assert close(st.variations(11, 1, step=0)[0].picture, centre.picture)


def test_codes_parse_and_normalise(st):
    code = st.code(0)
    assert st.parse(f" {code.upper()}+3:1:0.50 ") == Code(code, ((3, 1, 0.5),))
    assert st.code(f"{code}+3:1:0.50") == f"{code}+3:1:0.5"
    assert st.code(f"{code}+3:1:0.1+0:0:1") == f"{code}+3:1:0.1+0:0:1"
    assert st.label(7) == "seed 7" and st.label("7") == "seed 7" and st.label(code) == code[:8] + "…"


@pytest.mark.parametrize(("face", "says"), [
    (-1, "seed must be between 0 and"), ("3.5", "seed must be a whole number"), (2**64, "seed must be between"),
    ("xyz", "16 hex digits"), ("", "give a face"), (None, "a seed or a face code"), (True, "a seed or a face code"),
    ("00" * 8 + "+1:2", r"\+<seed>:<index>:<step>"), ("00" * 8 + "+1:2:9", "step must be between 0 and 2"),
    ("00" * 8 + "+1:64:0.1", "index must be between 0 and 63"), ("00" * 8 + "+0:0:nan", r"\+<seed>"),
    ("00" * 8 + "+0:0:0.1" * 33, "at most 32 variation steps"), ("f" * 20_000, "at most 18,243"),
    (["00" * 8], "must be text"),
])
def test_bad_faces_are_refused_with_a_message(st, face, says):
    with pytest.raises(ValueError, match=says):  # InputError, or latent.CodeError for the hex
        st.face(face)


@pytest.mark.parametrize(("call", "says"), [
    (lambda st: st.face(1, psi=float("nan")), "psi must be a finite number"),
    (lambda st: st.face(1, psi=3), "psi must be between -2.0 and 2.0"),
    (lambda st: st.face(1, cutoff=7), r"cutoff \(truncated styles\) must be between 0 and 6"),
    (lambda st: st.face(1, noise="loud"), "noise is one of const, random, none"),
    (lambda st: st.face(1, noise="random", noise_seed=-1), "noise seed must be between"),
    (lambda st: st.mix(list(range(17)), [1], "coarse"), "row faces: 1 to 16 faces"),
    (lambda st: st.mix([1], [], "coarse"), "column faces: 1 to 16 faces"),
    (lambda st: st.interpolation_frames([1], 4), "faces: 2 to 32 faces"),
    (lambda st: st.interpolation_frames(list(range(33)), 4), "faces: 2 to 32 faces"),
    (lambda st: st.interpolation_frames([1, 2, 3], 4, side_by_side=2), "faces: 4 to 32"),
    (lambda st: st.interpolation_frames([1, 2, 3, 4, 5], 4, side_by_side=2), "a multiple of 2"),
    (lambda st: st.interpolation_frames([1, 2], 121), "frames per face must be between 2 and 120"),
    (lambda st: st.interpolation_frames(list(range(32)), 120), "at most 600 frames"),
    (lambda st: st.interpolation_frames(list(range(32)), 48, side_by_side=4), "1200 faces"),
    (lambda st: st.interpolation_frames([1, 2], 4, mode="cubic"), "lerp-w or slerp-z"),
    (lambda st: st.interpolation_frames([1, st.variations(1, 1)[0].code], 4, mode="slerp-z"), "use lerp-w"),
    (lambda st: st.interpolation_frames([1, 2], 4, side_by_side=9), "side by side must be between 1 and 8"),
    (lambda st: st.interpolate([1, 2], 4, fps=0), "fps must be between 1 and 60"),
    (lambda st: st.variations(1, count=65), "variations must be between 1 and 64"),
    (lambda st: st.variations(1, step=-0.1), "step must be between 0 and 2"),
    (lambda st: st.variations("00" * 8 + "+0:0:0.1" * 32), "already 32 variation steps"),
])
def test_bounds_are_refused(st, call, says):
    with pytest.raises(InputError, match=says):
        call(st)


def test_limits_are_the_shared_ones():
    assert checks.MAX_MIX_SIDE == 16 and checks.MAX_VARIATIONS == 64 and checks.MAX_ANIMATION_FRAMES == 600


def test_a_studio_needs_a_stylegan():
    from facegan.models import dcgan

    with pytest.raises(ValueError, match="needs a StyleGAN model"):
        Studio(dcgan.Model(dcgan.Config(ngf=8, ndf=8)))


# -- edits along SeFa's closed-form directions ------------------------------------------------

# the tiny model's style i -> the affine SeFa reads for it (style i's conv; the last style the last toRGB)
SEFA_AFFINES = {0: "b4.conv1", 1: "b8.conv0", 2: "b8.conv1", 3: "b16.conv0", 4: "b16.conv1", 5: "b16.torgb"}


def numpy_sefa(model, layers) -> tuple[np.ndarray, np.ndarray]:
    """SeFa as genforce/sefa's factorize_weight computes it, written again from the state dict:
    (eigenvalues descending, eigenvectors as rows)."""
    state = model.state_dict()
    a = np.concatenate([state[f"generator.synthesis.{SEFA_AFFINES[i]}.affine.weight"].double().numpy() / np.sqrt(8)
                        for i in layers])  # the effective weight: weight * weight_gain (1 / sqrt(w_dim))
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    values, vectors = np.linalg.eig(a.T @ a)
    order = np.argsort(-values.real)
    return values.real[order], vectors.real[:, order].T


@pytest.mark.parametrize(("layers", "indices"), [("coarse", [0, 1, 2, 3]), ("middle", [4, 5]), ("all", list(range(6))),
                                                 ("1,4", [1, 4])])
def test_sefa_directions_are_the_eigenvectors_of_the_normalised_affine_weights(st, layers, indices):
    found = st.sefa(layers)
    assert found.layers == tuple(indices) and len(found) == 8  # w_dim directions: the layers have >= 8 channels
    v, ev = found.vectors.double().numpy(), found.eigenvalues.numpy()
    assert np.allclose(v @ v.T, np.eye(8), atol=1e-6)  # unit norm, orthogonal
    assert (np.diff(ev) < 0).all()  # the strongest first
    want_values, want_vectors = numpy_sefa(st.model, indices)
    assert np.allclose(ev, want_values, rtol=1e-9, atol=1e-9)
    assert np.allclose(np.abs((v * want_vectors).sum(1)), 1, atol=1e-6)  # the same vectors, up to sign ...
    assert (v[np.arange(8), np.abs(v).argmax(1)] > 0).all()  # ... which is fixed: the largest component positive
    rows = sum(st.model.style_affines()[i].weight.shape[0] for i in indices)
    assert found.total == pytest.approx(rows) and found.share(0) == pytest.approx(ev[0] / rows)


def test_sefa_keeps_only_the_directions_that_change_a_style(st):
    last = st.sefa("5")  # the last toRGB alone: 4 channels, so 4 directions; the rest of W changes nothing there
    assert len(last) == 4 and last.vectors.shape == (4, 8)
    values, vectors = numpy_sefa(st.model, [5])
    assert np.allclose(last.eigenvalues.numpy(), values[:4]) and np.allclose(values[4:], 0, atol=1e-9)
    assert np.allclose(np.abs((last.vectors.double().numpy() * vectors[:4]).sum(1)), 1, atol=1e-6)
    assert st.sefa("0-3") is st.sefa("coarse")  # computed once per layer selection


def test_an_edit_of_strength_zero_is_the_face_bit_for_bit(st):
    code = st.variations(4, 2, 0.3, 1)[1].code
    for face, rendering in ((3, {}), (code, {"psi": 0.7, "cutoff": 2}), (5, {"noise": "random", "noise_seed": 3})):
        want = arr(st.face(face, **rendering).picture)
        for layers in ("coarse", "middle", "all"):
            assert (arr(st.edit(face, 2, layers, 0, **rendering).picture) == want).all()
        strip = st.edit_strip(face, 1, "coarse", 5, 5, **rendering)
        assert strip.strengths[2] == 0 and (arr(strip.pictures[2]) == want).all()


def test_an_edit_moves_w_along_the_direction_in_the_chosen_styles_only(st):
    code = st.parse(6)
    found = st.sefa("coarse")
    w = st.w([code])[0]
    ws = st.edited_ws(code, found, 1, [2.5, -4.0])
    assert ws.shape == (2, 6, 8)
    assert torch.equal(ws[:, 4:], w.expand(2, 2, 8))  # the middle styles are the face's own, bit for bit
    assert torch.allclose(ws[0, :4] - w, 2.5 * found.vectors[1].expand(4, 8), atol=1e-6)
    assert torch.allclose(ws[1, :4] - w, -4.0 * found.vectors[1].expand(4, 8), atol=1e-6)
    # as drawn: the same pictures as drawing those ws; a large strength changes the face, a small one a little
    e = st.edit(6, 1, "coarse", 2.5)
    assert (arr(e.picture) == arr(_pil(st.draw(ws[:1])))).all()
    assert e.layers == [0, 1, 2, 3] and e.direction == 1 and e.directions == 8 and e.strength == 2.5
    assert e.eigenvalue == pytest.approx(float(found.eigenvalues[1])) and 0 < e.share < 1
    face = arr(st.face(6).picture)
    small = np.abs(arr(st.edit(6, 0, "coarse", 0.5).picture) - face).mean()
    large = np.abs(arr(st.edit(6, 0, "coarse", 20).picture) - face).mean()
    assert 0 < small < large and large > 20, (small, large)
    assert not (arr(st.edit(6, 0, "coarse", 20).picture) == arr(st.edit(6, 1, "coarse", 20).picture)).all()


def test_an_edit_strip_goes_from_minus_to_plus_strength(st):
    strip = st.edit_strip(7, 0, "middle", -3, 7)
    assert strip.strengths == [-3, -2, -1, 0, 1, 2, 3] and strip.layers == [4, 5] and len(strip.pictures) == 7
    for s, p in zip(strip.strengths, strip.pictures):  # each face is what edit draws at its strength
        assert (arr(p) == arr(st.edit(7, 0, "middle", s).picture)).all()
    assert len({arr(p).tobytes() for p in strip.pictures}) == 7
    fig = strip.figure(32)
    assert fig.size[0] == 7 * (32 + 4) + 4 and fig.size[1] > 32  # one row of 7 captioned faces


@pytest.mark.parametrize(("call", "says"), [
    (lambda st: st.edit(1, 8, "coarse", 1), r"direction \(styles 0-3 have 8\) must be between 0 and 7, got 8"),
    (lambda st: st.edit(1, 4, "5", 1), r"direction \(styles 5 have 4\) must be between 0 and 3"),
    (lambda st: st.edit(1, -1, "coarse", 1), "must be between 0 and 7"),
    (lambda st: st.edit(1, 1.5, "coarse", 1), r"direction .* must be a whole number"),
    (lambda st: st.edit(1, "1e999", "coarse", 1), r"direction .* must be a whole number"),
    (lambda st: st.edit(1, True, "coarse", 1), r"direction .* must be a whole number"),
    (lambda st: st.edit(1, 0, "fine", 1), "no fine styles"),
    (lambda st: st.edit(1, 0, "0-9", 1), "style indices 0 to 5"),
    (lambda st: st.edit(1, 0, "x" * 5000, 1), "layers is 5,000 characters long"),
    (lambda st: st.edit(1, 0, "coarse", 20.5), r"strength must be between -20.0 and 20.0"),
    (lambda st: st.edit(1, 0, "coarse", float("nan")), "strength must be a finite number"),
    (lambda st: st.edit(1, 0, "coarse", "-inf"), "strength must be a finite number"),
    (lambda st: st.edit(1, 0, "coarse", None), "strength must be a number"),
    (lambda st: st.edit("nothex", 0, "coarse", 1), "16 hex digits"),
    (lambda st: st.edit(1, 0, "coarse", 1, psi=9), "psi must be between"),
    (lambda st: st.edit_strip(1, 0, "coarse", 1, steps=1), "strip steps must be between 2 and 21"),
    (lambda st: st.edit_strip(1, 0, "coarse", 1, steps=22), "strip steps must be between 2 and 21"),
])
def test_bad_edits_are_refused_naming_the_field(st, call, says):
    with pytest.raises(ValueError, match=says):  # InputError, or latent.CodeError for the hex
        call(st)
