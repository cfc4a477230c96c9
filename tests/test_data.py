"""Image data: messy folders, label CSVs, deterministic drop-last batches, the real face set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import N_FACES
from PIL import Image

from facegan import data
from facegan.data import Batches, DataError, ImageSet


def test_load_folder_reads_every_valid_image_recursively(face_folder):
    s = data.load_folder(face_folder, 64)
    assert len(s) == N_FACES
    assert s.images.shape == (N_FACES, 3, 64, 64) and s.images.dtype == torch.uint8
    assert s.labels is None
    # the corrupt file is skipped and counted, the text file ignored
    assert [Path(p).name for p in s.skipped] == ["broken.jpg"]
    names = [Path(p).name for p in s.paths]
    assert "broken.jpg" not in names and "notes.txt" not in names
    assert "rgb_sub.png" in names and "upper_00.JPG" in names and "alpha_01.webp" in names
    assert s.paths == sorted(s.paths)  # reproducible order
    # a second load gives the same tensor
    assert torch.equal(data.load_folder(face_folder, 64).images, s.images)


def test_load_folder_converts_modes_and_sizes(face_folder):
    s = data.load_folder(face_folder, 64)
    by_name = {Path(p).name: img for p, img in zip(s.paths, s.images)}
    grey = by_name["grey_00.png"]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])  # L -> equal channels
    original = np.asarray(Image.open(face_folder / "grey_00.png"))
    assert np.array_equal(grey[0].numpy(), original)
    # an RGB png of the right size is loaded pixel for pixel
    rgb = np.asarray(Image.open(face_folder / "rgb_08.png").convert("RGB"))
    assert np.array_equal(by_name["rgb_08.png"].permute(1, 2, 0).numpy(), rgb)
    # palette images are expanded, not loaded as indices
    pal = np.asarray(Image.open(face_folder / "palette_00.png").convert("RGB"))
    assert np.array_equal(by_name["palette_00.png"].permute(1, 2, 0).numpy(), pal)
    # resized ones are full 64x64 pictures, not black padding
    for name in ("wide_00.jpg", "tall_00.webp", "big_00.png", "small_00.jpg", "grey_01.jpg", "palette_01.png"):
        assert by_name[name].float().mean() > 10


def test_transparency_composites_on_white(tmp_path):
    folder = tmp_path / "alpha"
    folder.mkdir()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(folder / "clear.png")
    Image.new("RGBA", (64, 64), (255, 0, 0, 255)).save(folder / "red.png")
    s = data.load_folder(folder, 64)
    clear, red = s.images[0], s.images[1]
    assert (clear == 255).all()
    assert red[0].eq(255).all() and red[1].eq(0).all() and red[2].eq(0).all()


def test_load_folder_limit(face_folder):
    s = data.load_folder(face_folder, 64, limit=5)  # the first 5 files in sorted order
    assert len(s) + len(s.skipped) == 5
    assert [Path(p).name for p in s.skipped] == ["broken.jpg"]
    assert len(data.load_folder(face_folder, 64, limit=1)) == 1


def test_empty_and_missing_folders_raise_data_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    with pytest.raises(DataError, match="no images .* found under .*empty"):
        data.load_folder(empty, 64)
    with pytest.raises(DataError, match="data folder not found: .*nowhere"):
        data.load_folder(tmp_path / "nowhere", 64)
    with pytest.raises(DataError, match="not a folder"):
        data.load_folder(empty / "readme.txt", 64)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="none of the 1 image files"):
        data.load_folder(broken, 64)


def test_the_pre_job_check_opens_headers_and_counts_pictures_only(face_folder, tmp_path):
    assert data.check_folder(face_folder) == N_FACES  # broken.jpg is not counted (notes.txt never was)
    fake = tmp_path / "fake"
    fake.mkdir()
    for i in range(4):
        (fake / f"{i}.jpg").write_text("not a picture")
    with pytest.raises(DataError, match=r"none of the 4 image files under .*fake could be read"):
        data.check_folder(fake)
    (fake / "4.png").write_bytes(_png_bytes())
    assert data.check_folder(fake) == 1


def _png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 99, 199)).save(buf, "PNG")
    return buf.getvalue()


def test_a_big_folder_is_checked_by_a_sample(tmp_path):
    png = _png_bytes()
    bad, good, half = tmp_path / "bad", tmp_path / "good", tmp_path / "half"
    for folder in (bad, good, half):
        folder.mkdir()
    n = data.HEADER_CHECKS + 88
    for i in range(n):
        (bad / f"{i:04d}.png").write_bytes(b"\x89PNG but not really")
        (good / f"{i:04d}.png").write_bytes(png)
        (half / f"{i:04d}.png").write_bytes(png if i % 2 else b"junk")
    with pytest.raises(DataError, match=f"none of the {data.HEADER_CHECKS} image files checked \\(spread over the "
                                        f"{n} under .*bad\\) could be read"):
        data.check_folder(bad)
    assert data.check_folder(good) == n  # every sampled file opens: the number of files
    assert abs(data.check_folder(half) - n / 2) < n / 20  # an estimate from the sample


def test_two_domain_and_labelled_checks_open_headers_too(face_folder, tmp_path):
    two = tmp_path / "two"
    (two / "trainA").mkdir(parents=True)
    (two / "trainB").mkdir()
    for i in range(3):
        (two / "trainA" / f"{i}.png").write_bytes(_png_bytes())
        (two / "trainB" / f"{i}.jpg").write_text("text, not a face")
    with pytest.raises(DataError, match=r"none of the 3 image files under .*trainB could be read"):
        data.check_two_domain(two)
    (two / "trainB" / "ok.png").write_bytes(_png_bytes())
    assert data.check_two_domain(two) == 1

    classes = tmp_path / "classes"
    for c in ("happy", "sad"):
        (classes / c).mkdir(parents=True)
        (classes / c / "1.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"none of the 2 image files under .*classes could be read"):
        data.check_labelled(classes)
    (classes / "sad" / "2.png").write_bytes(_png_bytes())
    assert data.check_labelled(classes) == 1

    tags = tmp_path / "tags"
    (tags / "images").mkdir(parents=True)
    (tags / "tags.csv").write_text("0,blue hair red eyes\n1,pink hair red eyes\n")
    for i in range(2):
        (tags / "images" / f"{i}.jpg").write_text("no")
    with pytest.raises(DataError, match=r"none of the 2 image files under .*tags could be read"):
        data.check_labelled(tags)


def test_a_job_on_non_pictures_is_refused_before_it_starts(tmp_path):
    from facegan import jobs

    fake = tmp_path / "fake"
    fake.mkdir()
    for i in range(4):
        (fake / f"{i}.png").write_text("not a picture")
    runs = tmp_path / "runs"
    with pytest.raises(jobs.JobError, match="none of the 4 image files under"):
        jobs.start("dcgan", fake, runs / "a", steps=3, batch_size=2, root=runs)
    (fake / "ok.png").write_bytes(_png_bytes())
    with pytest.raises(jobs.JobError, match=r"batch size 2 is larger than the data set \(1 readable image\)"):
        jobs.start("dcgan", fake, runs / "a", steps=3, batch_size=2, root=runs)
    assert not (runs / "a").exists()


def _solid(path: Path, colour) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), colour).save(path)


def test_load_labelled_generic_csv(tmp_path):
    root = tmp_path / "set"
    _solid(root / "faces" / "a.png", (250, 0, 0))
    _solid(root / "faces" / "b.png", (0, 250, 0))
    _solid(root / "faces" / "c.png", (250, 0, 0))
    _solid(root / "faces" / "unlabelled.png", (0, 0, 250))
    (root / "faces" / "bad.png").write_bytes(b"garbage")
    (root / "labels.csv").write_text(
        "filename,label\nfaces/a.png,happy\nfaces/b.png,sad\nfaces/c.png, happy \nfaces/missing.png,sad\n"
        "faces/bad.png,sad\n")
    s = data.load_labelled(root, 64, root / "labels.csv")
    assert s.classes == ["happy", "sad"]
    assert [Path(p).name for p in s.paths] == ["a.png", "b.png", "c.png"]
    assert s.labels.tolist() == [0, 1, 0] and s.labels.dtype == torch.long
    assert [Path(p).name for p in s.skipped] == ["bad.png"]
    # the labels follow their images: red ones are 'happy'
    assert (s.images[s.labels == 0][:, 0] > 200).all()


def test_load_labelled_anime_faces_tags_shape(tmp_path):
    root = tmp_path / "anime"
    colours = {"0": (200, 0, 0), "1": (0, 200, 0), "2": (0, 0, 200), "3": (200, 200, 0)}
    for n, c in colours.items():
        _solid(root / "images" / f"{n}.jpg", c)
    _solid(root / "images" / "4.jpg", (9, 9, 9))  # untagged, left out
    (root / "tags.csv").write_text("0,aqua hair aqua eyes\n1,red hair blue eyes\n2,aqua hair aqua eyes\n"
                                   "3,blonde hair red eyes\n")
    s = data.load_labelled(root, 64)  # tags.csv is the default
    assert len(s) == 4
    assert s.classes == ["aqua hair aqua eyes", "blonde hair red eyes", "red hair blue eyes"]
    assert s.labels.tolist() == [0, 2, 0, 1]
    assert [Path(p).name for p in s.paths] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]
    assert s.images[2, 2].float().mean() > 150  # 2.jpg is the blue one
    assert len(data.load_labelled(root, 64, limit=2)) == 2


def test_load_labelled_errors(tmp_path):
    with pytest.raises(DataError, match="label file not found"):
        data.load_labelled(tmp_path, 64)
    (tmp_path / "tags.csv").write_text("filename,label\n")
    with pytest.raises(DataError, match="no 'filename,label' rows"):
        data.load_labelled(tmp_path, 64)
    (tmp_path / "tags.csv").write_text("x.png,a\n")
    with pytest.raises(DataError, match="none of the files named"):
        data.load_labelled(tmp_path, 64)


def _numbered_set(n: int = 10) -> ImageSet:
    """Image i is filled with the value 10 * i, and labelled i."""
    images = torch.arange(n, dtype=torch.uint8).mul(10)[:, None, None, None].expand(n, 3, 8, 8).contiguous()
    return ImageSet(images, [f"{i}.png" for i in range(n)], torch.arange(n))


def _ids(x: torch.Tensor) -> list[int]:
    return ((x[:, 0, 0, 0] + 1) * 127.5).round().div(10).round().long().tolist()


def test_batches_are_a_function_of_the_step_and_drop_last():
    ds = _numbered_set(10)
    a = Batches(ds, 3, seed=5, flip=False)
    b = Batches(ds, 3, seed=5, flip=False)
    assert a.per_epoch == 3
    # asked in another order, the same step gives the same batch
    later = [b(s) for s in (7, 2, 0)]
    for s, (x, y) in zip((7, 2, 0), later):
        xa, ya = a(s)
        assert torch.equal(xa, x) and torch.equal(ya, y)
    for step in range(9):
        x, y = a(step)
        assert x.shape == (3, 3, 8, 8) and x.dtype == torch.float32
        assert x.min() >= -1 and x.max() <= 1
        assert _ids(x) == y.tolist()  # labels stay with their images
    for epoch in range(3):
        seen = [i for s in range(3 * epoch, 3 * epoch + 3) for i in a(s)[1].tolist()]
        assert len(seen) == len(set(seen)) == 9  # drop-last: 9 distinct of 10 per epoch
    orders = [tuple(a(s)[1].tolist()) for s in range(0, 9, 3)]
    assert len(set(orders)) > 1  # each epoch is reshuffled
    assert not torch.equal(Batches(ds, 3, seed=6, flip=False)(0)[1], a(0)[1]) or \
        not torch.equal(Batches(ds, 3, seed=6, flip=False)(1)[1], a(1)[1])


def test_batches_flip_is_deterministic_and_a_mirror():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 8, 8), generator=g, dtype=torch.uint8)
    ds = ImageSet(images, [str(i) for i in range(6)], torch.arange(6))
    plain, flipped = Batches(ds, 6, seed=1, flip=False), Batches(ds, 6, seed=1, flip=True)
    mirrored = 0
    for step in range(4):
        x, y = plain(step)
        xf, yf = flipped(step)
        assert torch.equal(y, yf)
        assert torch.equal(xf, flipped(step)[0])
        for i in range(6):
            same, mirror = torch.equal(xf[i], x[i]), torch.equal(xf[i], x[i].flip(2))
            assert same or mirror
            mirrored += mirror and not same
    assert 0 < mirrored < 24
    assert flipped(0)[0].dtype == torch.float32


def test_batch_larger_than_the_set_raises():
    with pytest.raises(DataError, match="batch size 11 is larger than the data set \\(10 images\\)"):
        Batches(_numbered_set(10), 11, seed=0)
    assert Batches(_numbered_set(10), 10, seed=0).per_epoch == 1


def test_real_anime_faces_with_labels(shared_data):
    root = shared_data / "anime-faces-64"
    if not (root / "tags.csv").is_file():
        pytest.skip(f"{root} has no tags.csv")
    s = data.load_labelled(root, 64, limit=200)
    assert len(s) == 200 and s.images.shape == (200, 3, 64, 64) and not s.skipped
    assert s.labels.shape == (200,) and 0 <= s.labels.min() and s.labels.max() < len(s.classes)
    assert all(" hair " in c and c.endswith(" eyes") for c in s.classes)
    assert Path(s.paths[0]).name == "0.jpg" and Path(s.paths[0]).parent.name == "images"
    assert 20 < s.images.float().mean() < 235 and s.images.float().std() > 20  # real pictures
