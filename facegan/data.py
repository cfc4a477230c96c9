"""Image data: folders of images and labelled sets, decoded once into memory.

A face set at 64-256 px fits in memory (36,740 faces at 64 px are 450 MB as uint8),
so the whole set is decoded once, kept as a uint8 tensor (on the GPU when training
there) and batches are gathered by index: no worker processes, no per-step host work.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from facegan.labels import CATEGORICAL, DatasetLabels, LabelError, LabelSpec, anime_labels, class_labels

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


def data_root() -> Path:
    """Where the project's real data sets live: $FACEGAN_DATA, else ``../shared/data`` beside the repo."""
    env = os.environ.get("FACEGAN_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def data_set(name: str) -> Path | None:
    """A named set under data_root() (e.g. "anime-faces-64"), or None when it is not there."""
    path = data_root() / name
    return path.resolve() if path.is_dir() else None


class DataError(ValueError):
    """A data set that cannot be trained on; the message says why and where."""


@dataclass
class ImageSet:
    """Decoded images: ``images`` (N, 3, H, W) uint8, ``labels`` (N,) int64 or None."""

    images: torch.Tensor
    paths: list[str]
    labels: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files that could not be read

    def __len__(self) -> int:
        return self.images.shape[0]


def list_images(root: str | os.PathLike) -> list[Path]:
    """Every image file under ``root`` (recursive), sorted so the order is reproducible."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"data folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"not a folder: {root}")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def check_folder(root: str | os.PathLike) -> int:
    """Cheap check before a job starts (headers only, no decoding): the number of readable
    image files (see ``count_readable``), or DataError when there are none."""
    found = list_images(root)
    if not found:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return count_readable(found, root)


HEADER_CHECKS = 512  # files whose header a pre-job check opens (~0.1 ms each); a bigger set is sampled


def opens(path: str | os.PathLike) -> bool:
    """Whether PIL reads the file's header as a picture with a size (no pixel is decoded)."""
    try:
        with Image.open(path) as im:
            w, h = im.size
        return w > 0 and h > 0
    except Exception:  # noqa: BLE001 - missing, not a picture, a bomb, a damaged header: not readable
        return False


def count_readable(paths: list[Path], where) -> int:
    """How many of ``paths`` are pictures, judged by their headers: every file of a set of at most
    HEADER_CHECKS, else HEADER_CHECKS of them spread evenly and the count scaled (the number of
    files when all of those open). DataError when none opens: the job would die at loading."""
    if not paths:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {where}")
    picks = [paths[i] for i in _spread(len(paths), HEADER_CHECKS)]
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        ok = sum(pool.map(opens, picks))
    if not ok:
        if len(picks) == len(paths):
            raise DataError(f"none of the {len(paths)} image files under {where} could be read")
        raise DataError(f"none of the {len(picks)} image files checked (spread over the {len(paths)} under "
                        f"{where}) could be read")
    if len(picks) == len(paths):
        return ok
    return len(paths) if ok == len(picks) else max(1, round(len(paths) * ok / len(picks)))


def load_image(path: str | os.PathLike, size: int) -> np.ndarray:
    """One image as (size, size, 3) uint8 RGB: any mode converted, short side resized, centre-cropped."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P"):  # composite transparency on white, not black
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert("RGB")
        if im.size != (size, size):
            im = ImageOps.fit(im, (size, size), Image.Resampling.LANCZOS)
        return np.asarray(im, dtype=np.uint8)


def _decode(paths: list[Path], size: int) -> tuple[list[np.ndarray | None], list[str]]:
    def one(p: Path):
        try:
            return load_image(p, size)
        except Exception:  # noqa: BLE001 - any broken file is skipped and counted, never a crash mid-run
            return None

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        arrays = list(pool.map(one, paths, chunksize=64))
    skipped = [str(p) for p, a in zip(paths, arrays) if a is None]
    return arrays, skipped


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def load_folder(root: str | os.PathLike, size: int, limit: int | None = None) -> ImageSet:
    """All images under ``root`` as an ImageSet. Raises DataError when nothing is readable."""
    paths = list_images(root)
    if limit:
        paths = paths[:limit]
    if not paths:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    arrays, skipped = _decode(paths, size)
    good = [(p, a) for p, a in zip(paths, arrays) if a is not None]
    if not good:
        raise DataError(f"none of the {len(paths)} image files under {root} could be read")
    return ImageSet(_stack([a for _, a in good]), [str(p) for p, _ in good], skipped=skipped)


def read_label_csv(csv_path: str | os.PathLike) -> dict[str, str]:
    """``filename,label`` rows (a header row is allowed). The tags.csv of anime-faces-64
    (``N,<colour> hair <colour> eyes``) is the same shape: N names ``images/N.jpg``."""
    rows: dict[str, str] = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            if len(row) < 2 or (i == 0 and row[0].strip().lower() in ("filename", "file", "image", "id")):
                continue
            rows[row[0].strip()] = row[1].strip()
    if not rows:
        raise DataError(f"no 'filename,label' rows in {csv_path}")
    return rows


def find_labelled_file(root: Path, name: str) -> Path | None:
    """The image a label CSV's ``name`` means: ``root/name`` or ``root/images/name``, as given
    or with each image extension added (``0`` -> ``images/0.jpg``); None when there is none."""
    for cand in (root / name, root / "images" / name):
        hits = [cand] if cand.suffix.lower() in IMAGE_EXTENSIONS else [cand.with_name(cand.name + e) for e in IMAGE_EXTENSIONS]
        hit = next((h for h in hits if h.is_file()), None)
        if hit:
            return hit
    return None


def load_labelled(root: str | os.PathLike, size: int, csv_path: str | os.PathLike | None = None,
                  limit: int | None = None) -> ImageSet:
    """Images named in a label CSV (default ``root/tags.csv``), with integer labels.

    A name is looked up as given, then as ``images/<name>`` and with each image extension,
    so both ``tags.csv`` (``0,aqua hair aqua eyes``) and ``faces/a.png,happy`` work.
    Images without a label are left out.
    """
    root = Path(root)
    csv_path = Path(csv_path) if csv_path else root / "tags.csv"
    if not csv_path.exists():
        raise DataError(f"label file not found: {csv_path}")
    table = read_label_csv(csv_path)
    paths, names = [], []
    for name, label in table.items():
        hit = find_labelled_file(root, name)
        if hit:
            paths.append(hit)
            names.append(label)
        if limit and len(paths) >= limit:  # no need to look for the other files
            break
    if not paths:
        raise DataError(f"none of the files named in {csv_path} exist under {root}")
    arrays, skipped = _decode(paths, size)
    keep = [i for i, a in enumerate(arrays) if a is not None]
    if not keep:
        raise DataError(f"none of the {len(paths)} labelled images under {root} could be read")
    classes = sorted({names[i] for i in keep})
    index = {c: i for i, c in enumerate(classes)}
    labels = torch.tensor([index[names[i]] for i in keep], dtype=torch.long)
    return ImageSet(_stack([arrays[i] for i in keep]), [str(paths[i]) for i in keep], labels, classes, skipped)


class Batches:
    """Shuffled, drop-last batches as a pure function of the step number.

    The order of epoch e is ``randperm(N)`` seeded by ``seed + e``, so resuming at
    step s needs no sampler state: batch s is the same whether or not the run stopped.
    The order and the flips of an epoch go to the device once per epoch, so a step does
    no host-to-device copy (which would wait for the GPU).
    """

    def __init__(self, data: ImageSet, batch_size: int, seed: int, device: torch.device | str = "cpu",
                 flip: bool = True):
        if batch_size > len(data):
            raise DataError(f"batch size {batch_size} is larger than the data set ({len(data)} images)")
        self.images = data.images.to(device)
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.batch_size, self.seed, self.flip = batch_size, seed, flip
        self.per_epoch = len(data) // batch_size
        self._epoch, self._perm, self._flips = -1, None, None

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Batch number ``step``: images (B, 3, H, W) float in [-1, 1], labels (B,) or None."""
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed + epoch)
            self._perm = torch.randperm(len(self.images), generator=g).to(self.images.device)
            self._flips = (torch.rand(len(self.images), generator=g) < 0.5).to(self.images.device)
            self._epoch = epoch
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        idx = self._perm[part]
        x = self.images[idx].float().div_(127.5).sub_(1.0)
        if self.flip:  # mirror about half the batch
            x = torch.where(self._flips[part, None, None, None], x.flip(3), x)
        y = self.labels[idx] if self.labels is not None else None
        return x, y


# ----------------------------------------------------------------------------- two domains (unpaired)

DOMAIN_FOLDERS = ("trainA", "trainB", "testA", "testB")


@dataclass
class TwoDomainSet:
    """Unpaired images of two domains (CycleGAN / U-GAT-IT layout), each an ImageSet.

    ``test_a`` / ``test_b`` are the held-out images (for sample grids and metrics) or None.
    Images are decoded at ``load_size`` >= the model size, for random crops in training.
    """

    a: ImageSet
    b: ImageSet
    test_a: ImageSet | None = None
    test_b: ImageSet | None = None

    def __len__(self) -> int:  # an "epoch" is one pass over the larger domain
        return max(len(self.a), len(self.b))

    @property
    def skipped(self) -> list[str]:
        return [p for s in (self.a, self.b, self.test_a, self.test_b) if s is not None for p in s.skipped]


def check_two_domain(root: str | os.PathLike) -> int:
    """Cheap check of a two-domain folder: the smaller training domain's image count, or DataError."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}")
    missing = [d for d in DOMAIN_FOLDERS[:2] if not (root / d).is_dir()]
    if missing:
        raise DataError(f"{root} is not a two-domain data set: it needs the folders trainA/ and trainB/ "
                        f"(and optionally testA/, testB/); missing {', '.join(missing)}")
    return min(check_folder(root / d) for d in DOMAIN_FOLDERS[:2])


def load_two_domain(root: str | os.PathLike, size: int, load_size: int | None = None,
                    limit: int | None = None) -> TwoDomainSet:
    """``root/trainA``, ``root/trainB`` (required) and ``root/testA``, ``root/testB`` (optional).

    Training images are decoded at ``load_size`` (default ``size``), test images at ``size``.
    """
    root = Path(root)
    check_two_domain(root)
    a, b = (load_folder(root / d, load_size or size, limit) for d in DOMAIN_FOLDERS[:2])
    tests = [load_folder(root / d, size, limit) if (root / d).is_dir() and list_images(root / d) else None
             for d in DOMAIN_FOLDERS[2:]]
    return TwoDomainSet(a, b, *tests)


class PairBatches:
    """Unpaired batches (a, b) as a pure function of the step number, like ``Batches``.

    Each domain is shuffled on its own (seeds ``seed + epoch`` and ``seed + 7919 + epoch``),
    mirrored at random and randomly cropped to ``size`` from the decoded ``load_size`` (the
    U-GAT-IT / CycleGAN augmentation: resize a little larger, random crop).
    """

    def __init__(self, data: TwoDomainSet, batch_size: int, seed: int, device: torch.device | str = "cpu",
                 flip: bool = True, size: int | None = None):
        self.size = size or data.a.images.shape[-1]
        self.domains = [Batches(data.a, batch_size, seed, device, flip),
                        Batches(data.b, batch_size, seed + 7919, device, flip)]
        self.seed = seed

    def crop(self, x: torch.Tensor, step: int, domain: int) -> torch.Tensor:
        h, w = x.shape[-2:]
        if (h, w) == (self.size, self.size):
            return x
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step * 2 + domain)
        ys = torch.randint(0, h - self.size + 1, (len(x),), generator=g).tolist()
        xs = torch.randint(0, w - self.size + 1, (len(x),), generator=g).tolist()
        return torch.stack([im[:, y:y + self.size, x0:x0 + self.size] for im, y, x0 in zip(x, ys, xs)])

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step``: (a, b), each (B, 3, size, size) float in [-1, 1]."""
        a, b = (self.crop(batches(step)[0], step, i) for i, batches in enumerate(self.domains))
        return a, b


# ----------------------------------------------------------------------------- labelled sets (conditional models)

TAG_PATTERN = re.compile(r"^\s*(.+?)\s+hair\s+(.+?)\s+eyes\s*$")


@dataclass
class LabelledSet:
    """Decoded images with label vectors (``facegan.labels``), from one or more data sets (StarGAN).

    ``images`` (N, 3, S, S) uint8; ``labels`` (N, spec.dim) float32 label vectors, the mask
    included when there are two or more data sets; ``dataset`` (N,) int64, the index in
    ``spec.datasets`` of the set each image comes from.
    """

    images: torch.Tensor
    labels: torch.Tensor
    dataset: torch.Tensor
    spec: LabelSpec
    paths: list[str]
    skipped: list[str] = field(default_factory=list)  # files that could not be read

    def __len__(self) -> int:
        return self.images.shape[0]

    def part(self, k: int) -> ImageSet:
        """The images of data set ``k``, their label vectors as ``labels`` (for ``Batches``)."""
        idx = (self.dataset == k).nonzero().flatten()
        return ImageSet(self.images[idx], [self.paths[i] for i in idx.tolist()], self.labels[idx])


def _spread(n: int, limit: int | None) -> list[int]:
    """``limit`` indices spread evenly over range(n): the labelled sets are sorted by class, so
    their first N images would hold only one or two classes."""
    if not limit or limit >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(limit - 1, 1)) for i in range(limit)})


def _labelled_set(paths: list[Path], rows: list[dict], ds: DatasetLabels, size: int, where) -> LabelledSet:
    arrays, skipped = _decode(paths, size)
    keep = [i for i, a in enumerate(arrays) if a is not None]
    if not keep:
        raise DataError(f"none of the {len(paths)} labelled images under {where} could be read")
    spec = LabelSpec.of(ds)
    try:
        vectors = spec.encode_many([rows[i] for i in keep])
    except LabelError as e:
        raise DataError(f"{where}: {e}") from e
    return LabelledSet(_stack([arrays[i] for i in keep]), vectors, torch.zeros(len(keep), dtype=torch.long), spec,
                       [str(paths[i]) for i in keep], skipped)


def _check_values(ds: DatasetLabels, found: dict[str, set[str]], where) -> None:
    for g in ds.groups:
        unknown = sorted(found.get(g.name, set()) - set(g.values))
        if unknown:
            raise DataError(f"{where}: {g.name} {', '.join(map(repr, unknown))} not among the model's {len(g)} "
                            f"{g.name} values ({', '.join(g.values)})")


def _parse_tags(csv_path: Path) -> list[tuple[str, dict[str, str]]]:
    parsed = []
    for name, text in read_label_csv(csv_path).items():
        m = TAG_PATTERN.match(text)
        if not m:
            raise DataError(f"{csv_path}: the tag of {name!r} is {text!r}, not '<colour> hair <colour> eyes'")
        parsed.append((name, {"hair": m.group(1), "eyes": m.group(2)}))
    return parsed


def load_anime_tags(root: str | os.PathLike, size: int, labels: DatasetLabels | None = None,
                    csv_path: str | os.PathLike | None = None, limit: int | None = None) -> LabelledSet:
    """Anime faces with hair and eye colour groups, from ``root/tags.csv`` rows
    ``N,<colour> hair <colour> eyes`` naming ``root/images/N.jpg``.

    ``labels`` fixes the colours and their order (a model's spec); without it they are the
    sorted colours the file uses. Images without a tag row are left out; ``limit`` keeps that
    many rows spread evenly over the file (which is sorted by hair colour).
    """
    root = Path(root)
    csv_path = Path(csv_path) if csv_path else root / "tags.csv"
    if not csv_path.is_file():
        raise DataError(f"tag file not found: {csv_path} (expected rows 'N,<colour> hair <colour> eyes')")
    parsed = _parse_tags(csv_path)
    found = {g: {row[g] for _, row in parsed} for g in ("hair", "eyes")}
    if labels is None:
        labels = anime_labels(sorted(found["hair"]), sorted(found["eyes"]))
    elif [g.name for g in labels.groups] != ["hair", "eyes"]:
        raise DataError(f"a tags.csv set has the label groups hair and eyes, not {[g.name for g in labels.groups]}")
    _check_values(labels, found, csv_path)
    parsed = [parsed[i] for i in _spread(len(parsed), limit)]
    paths, rows = [], []
    for name, row in parsed:
        if hit := find_labelled_file(root, name):
            paths.append(hit)
            rows.append(row)
    if not paths:
        raise DataError(f"none of the files named in {csv_path} exist under {root} (nor under {root / 'images'})")
    return _labelled_set(paths, rows, labels, size, root)


def _class_folders(root: Path) -> dict[str, list[Path]]:
    return {d.name: found for d in sorted(root.iterdir()) if d.is_dir() and (found := list_images(d))}


def load_class_folders(root: str | os.PathLike, size: int, labels: DatasetLabels | None = None,
                       limit: int | None = None) -> LabelledSet:
    """Images sorted into one folder per class, ``root/<class>/*.jpg`` (FER2013's
    ``train/happy/...``; a ``root`` holding ``train/`` uses that), as one categorical group.

    ``labels`` (one group) fixes the classes and their order; without it they are the folder
    names (data set "fer", group "expression"). Greyscale images become RGB; ``limit`` keeps
    that many images spread evenly over the classes.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}")
    if (root / "train").is_dir():  # a train/test split: train on train/
        root = root / "train"
    classes = _class_folders(root)
    if not classes:
        raise DataError(f"{root} has no class folders: expected images in {root}/<class>/ (e.g. train/happy/1.jpg)")
    if labels is None:
        labels = class_labels(sorted(classes), grey=greyscale(classes))
    if len(labels.groups) != 1 or labels.groups[0].kind != CATEGORICAL:
        raise DataError(f"class folders give one categorical label group, not {[g.name for g in labels.groups]}")
    group = labels.groups[0].name
    _check_values(labels, {group: set(classes)}, root)
    items = [(p, {group: c}) for c, found in classes.items() for p in found]
    items = [items[i] for i in _spread(len(items), limit)]
    return _labelled_set([p for p, _ in items], [r for _, r in items], labels, size, root)


def is_tag_set(root: str | os.PathLike) -> bool:
    return (Path(root) / "tags.csv").is_file()


def load_labelled_set(root: str | os.PathLike, size: int, labels: DatasetLabels | None = None,
                      limit: int | None = None) -> LabelledSet:
    """A folder with a ``tags.csv`` (hair and eye colours), else class folders."""
    if is_tag_set(root):
        return load_anime_tags(root, size, labels, limit=limit)
    return load_class_folders(root, size, labels, limit)


def labels_of(root: str | os.PathLike, name: str | None = None) -> DatasetLabels:
    """The label groups of a labelled folder without decoding it: a tags.csv's hair and eye
    colours (sorted, as ``load_anime_tags`` orders them), or the class-folder names. ``name``
    renames the data set (and a class-folder set's group, as group names must differ too)."""
    root = Path(root)
    check_labelled(root)
    if is_tag_set(root):
        parsed = _parse_tags(root / "tags.csv")
        hair, eyes = (sorted({row[g] for _, row in parsed}) for g in ("hair", "eyes"))
        return anime_labels(hair, eyes, **({"name": name} if name else {}))
    classes = _class_folders(root / "train" if (root / "train").is_dir() else root)
    return class_labels(sorted(classes), grey=greyscale(classes), **({"name": name, "group": name} if name else {}))


def greyscale(classes: Mapping[str, list[Path]], look: int = 4) -> bool:
    """Whether a class-folder set's pictures are greyscale (FER2013): the first ``look`` of each
    class all are (one channel, or three equal ones). Unreadable ones are not looked at."""
    seen = 0
    for found in classes.values():
        for path in found[:look]:
            try:
                with Image.open(path) as im:
                    if im.mode not in ("1", "L", "LA", "I", "I;16", "F"):
                        rgb = np.asarray(im.convert("RGB"), np.int16)
                        if np.abs(rgb[..., 0] - rgb[..., 1]).max() or np.abs(rgb[..., 1] - rgb[..., 2]).max():
                            return False
            except (OSError, ValueError):
                continue
            seen += 1
    return seen > 0


def label_rows(root: str | os.PathLike) -> list[dict[str, str]]:
    """Each labelled image's labels without decoding anything: a tags.csv's rows as
    ``{"hair": ..., "eyes": ...}``, or ``{"expression": <folder>}`` per image of class folders
    (the group ``labels_of`` names). For counting classes (AC-GAN's k most frequent)."""
    root = Path(root)
    if is_tag_set(root):  # the rows as written (no file looked up: 36,740 stats take seconds)
        return [row for _, row in _parse_tags(root / "tags.csv")]
    check_labelled(root)
    group = class_labels(["x"]).groups[0].name
    classes = _class_folders(root / "train" if (root / "train").is_dir() else root)
    return [{group: c} for c, found in classes.items() for _ in found]


def check_labelled(root: str | os.PathLike) -> int:
    """Cheap check (no decoding) of a labelled folder: the number of labelled images, or DataError."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}")
    if is_tag_set(root):
        found = [f for name in read_label_csv(root / "tags.csv") if (f := find_labelled_file(root, name)) is not None]
        if not found:
            raise DataError(f"none of the files named in {root / 'tags.csv'} exist under {root}")
        return count_readable(found, root)
    classes = _class_folders(root / "train" if (root / "train").is_dir() else root)
    if not classes:
        raise DataError(f"{root} is not a labelled data set: it needs a tags.csv ('N,<colour> hair <colour> eyes') "
                        "or one folder of images per class (<class>/*.jpg)")
    return count_readable([p for found in classes.values() for p in found], root)


def _resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[1] == 1:  # greyscale -> RGB
        images = images.expand(-1, 3, -1, -1)
    if images.shape[-2:] == (size, size):
        return images.contiguous()
    x = F.interpolate(images.float(), size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def mix_labelled(*sets: LabelledSet, size: int | None = None) -> LabelledSet:
    """Two (or more) labelled sets as one, for a model that learns all their labels (StarGAN's
    mask vector, paper Sec. 3.2): the spec lists every set's data sets in order, each image's
    vector keeps its own labels, zeros for the others' and the one-hot mask of its set.
    Images are resized to ``size`` (default: the first set's) and greyscale becomes RGB."""
    if len(sets) < 2:
        raise DataError("mix_labelled takes two or more labelled sets")
    try:
        spec = LabelSpec(tuple(d for s in sets for d in s.spec.datasets))
    except LabelError as e:
        raise DataError(f"cannot mix these sets: {e}") from e
    size = size or sets[0].images.shape[-1]
    images, vectors, dataset, base = [], [], [], 0
    for s in sets:
        v = torch.zeros(len(s), spec.dim)
        for k in range(s.spec.n_datasets):
            v[:, spec.dataset_slice(base + k)] = s.labels[:, s.spec.dataset_slice(k)]
        v[torch.arange(len(s)), spec.mask_slice.start + base + s.dataset] = 1
        images.append(_resize_uint8(s.images, size))
        vectors.append(v)
        dataset.append(s.dataset + base)
        base += s.spec.n_datasets
    return LabelledSet(torch.cat(images), torch.cat(vectors), torch.cat(dataset), spec,
                       [p for s in sets for p in s.paths], [p for s in sets for p in s.skipped])


class LabelledBatches:
    """Batches (images, label vectors, data set index) as a pure function of the step, like ``Batches``.

    With several data sets each batch comes from one of them in turn (step s from data set
    s mod n), as the official StarGAN's multi-data-set loop takes a CelebA batch, then a RaFD
    one; each data set is shuffled on its own.
    """

    def __init__(self, data: LabelledSet, batch_size: int, seed: int, device: torch.device | str = "cpu",
                 flip: bool = True):
        self.parts = []
        for k, ds in enumerate(data.spec.datasets):
            part = data.part(k)
            if batch_size > len(part):
                raise DataError(f"batch size {batch_size} is larger than data set {ds.name!r} ({len(part)} images)")
            self.parts.append(Batches(part, batch_size, seed + 7919 * k, device, flip))
        self.device = torch.device(device)

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch number ``step``: images (B, 3, S, S) float in [-1, 1], label vectors (B, dim), data set (B,) int64."""
        k = step % len(self.parts)
        x, y = self.parts[k](step // len(self.parts))
        return x, y, torch.full((len(x),), k, dtype=torch.long, device=x.device)
