"""Domain labels for conditional models (StarGAN): groups, label vectors and the mask vector.

A data set's labels are *groups*: a categorical group is one-hot (hair colour: one of 12),
a binary group is a set of independent on/off attributes (CelebA's "male", "young", ...).
A ``LabelSpec`` lists the groups of one or more data sets and fixes the layout of the
label vector that G reads and D's classifier predicts::

    [ data set 1's groups | data set 2's groups | ... | mask (one-hot data set) ]

The mask (StarGAN paper Sec. 3.2) is there only when there are two or more data sets,
as in the official code (one data set: no mask). An image of data set k has zeros in
the other data sets' parts; D's classifier has a logit for every group of every data
set (the vector without the mask), and each image trains only its own data set's part.

A spec is plain data (``to_dict`` / ``from_dict``), so it lives in a model's Config and
its ``config.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from facegan import checks

CATEGORICAL, BINARY = "categorical", "binary"
KINDS = (CATEGORICAL, BINARY)

# The shared anime-faces-64 set's tags.csv ("<hair> hair <eyes> eyes") and FER2013's folders.
ANIME_HAIR = ("aqua", "black", "blonde", "blue", "brown", "gray", "green", "orange", "pink", "purple", "red",
              "white")
ANIME_EYES = ("aqua", "black", "blue", "brown", "green", "orange", "pink", "purple", "red", "yellow")
FER_EXPRESSIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


class LabelError(ValueError):
    """Labels that do not fit a spec; the message says which group and value."""


@dataclass(frozen=True)
class Group:
    """One group of labels: ``categorical`` (exactly one of ``values``) or ``binary`` (each of ``values`` on or off)."""

    name: str
    values: tuple[str, ...]
    kind: str = CATEGORICAL

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        if self.kind not in KINDS:
            raise LabelError(f"group {self.name!r}: kind is one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.values:
            raise LabelError(f"group {self.name!r} has no values")
        if len(set(self.values)) != len(self.values):
            raise LabelError(f"group {self.name!r} names a value twice: {list(self.values)}")

    def __len__(self) -> int:
        return len(self.values)

    def index(self, value: str) -> int:
        try:
            return self.values.index(value)
        except ValueError:
            raise LabelError(f"{checks.quote(value)} is not one of the {len(self)} {self.name} values: "
                             f"{', '.join(self.values)}") from None


@dataclass(frozen=True)
class DatasetLabels:
    """The label groups of one data set (e.g. "anime": hair, eyes; "fer": expression)."""

    name: str
    groups: tuple[Group, ...]
    # its pictures are greyscale (FER2013): an edit towards its labels changes a colour picture's
    # lightness only, the picture keeping its own colour (facegan.images.keep_chroma)
    grey: bool = False

    def __post_init__(self):
        object.__setattr__(self, "groups", tuple(self.groups))
        if not self.groups:
            raise LabelError(f"data set {self.name!r} has no label groups")

    @property
    def dim(self) -> int:
        return sum(len(g) for g in self.groups)


@dataclass(frozen=True)
class LabelSpec:
    """The label groups of every data set a model is trained on, in label-vector order."""

    datasets: tuple[DatasetLabels, ...]

    def __post_init__(self):
        object.__setattr__(self, "datasets", tuple(self.datasets))
        if not self.datasets:
            raise LabelError("a label spec needs at least one data set")
        names = [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise LabelError(f"data set names must differ: {names}")
        groups = [g.name for d in self.datasets for g in d.groups]
        if len(set(groups)) != len(groups):  # a group is addressed by its name alone
            raise LabelError(f"group names must differ across the whole spec: {groups}")

    # -- layout ---------------------------------------------------------------

    @property
    def n_datasets(self) -> int:
        return len(self.datasets)

    @property
    def n_cls(self) -> int:
        """Length of D's classifier output: every group of every data set (the vector without the mask)."""
        return sum(d.dim for d in self.datasets)

    @property
    def dim(self) -> int:
        """Length of a label vector (G's condition): the groups, then the mask when there are 2+ data sets."""
        return self.n_cls + (self.n_datasets if self.n_datasets > 1 else 0)

    @property
    def mask_slice(self) -> slice | None:
        return slice(self.n_cls, self.dim) if self.n_datasets > 1 else None

    def dataset_index(self, dataset: str | int | None) -> int:
        if dataset is None:
            if self.n_datasets > 1:
                raise LabelError(f"say which data set: {', '.join(d.name for d in self.datasets)}")
            return 0
        if isinstance(dataset, int):
            if not 0 <= dataset < self.n_datasets:
                raise LabelError(f"data set index {dataset} out of range 0..{self.n_datasets - 1}")
            return dataset
        for k, d in enumerate(self.datasets):
            if d.name == dataset:
                return k
        raise LabelError(f"no data set {checks.quote(dataset)}; the spec has {', '.join(d.name for d in self.datasets)}")

    def dataset_slice(self, dataset: str | int) -> slice:
        k = self.dataset_index(dataset)
        start = sum(d.dim for d in self.datasets[:k])
        return slice(start, start + self.datasets[k].dim)

    def groups(self, dataset: str | int | None = None) -> list[tuple[int, Group, slice]]:
        """(data set index, group, its slice of the vector) for every group, or those of one data set."""
        out, start = [], 0
        for k, d in enumerate(self.datasets):
            for g in d.groups:
                out.append((k, g, slice(start, start + len(g))))
                start += len(g)
        if dataset is not None:
            k = self.dataset_index(dataset)
            out = [o for o in out if o[0] == k]
        return out

    def group(self, name: str) -> tuple[int, Group, slice]:
        for found in self.groups():
            if found[1].name == name:
                return found
        raise LabelError(f"no label group {checks.quote(name)}; the spec has {', '.join(g.name for _, g, _ in self.groups())}")

    # -- encode / decode ------------------------------------------------------

    def encode_many(self, rows: Iterable[Mapping[str, str | Iterable[str]]], dataset: str | int | None = None
                    ) -> torch.Tensor:
        """Label vectors (N, dim) float32 of ``dataset``'s images from one mapping per image:
        group name -> a value (categorical; every categorical group needs one) or the
        attributes that are on (binary; an absent binary group is all off)."""
        rows = list(rows)
        k = self._dataset_of_rows(dataset, rows)
        groups = self.groups(k)
        out = np.zeros((len(rows), self.dim), np.float32)
        for i, row in enumerate(rows):
            unknown = set(row) - {g.name for _, g, _ in groups}
            if unknown:
                raise LabelError(f"{sorted(unknown)} are not groups of data set {self.datasets[k].name!r} "
                                 f"({', '.join(g.name for _, g, _ in groups)})")
            for _, g, sl in groups:
                value = row.get(g.name)
                if g.kind == CATEGORICAL:
                    if value is None:
                        raise LabelError(f"no {g.name} value (one of {', '.join(g.values)})")
                    out[i, sl.start + g.index(value)] = 1
                elif value is not None:
                    on = [v for v, flag in value.items() if flag] if isinstance(value, Mapping) else \
                        [value] if isinstance(value, str) else list(value)
                    for v in on:
                        out[i, sl.start + g.index(v)] = 1
        if self.mask_slice is not None:
            out[:, self.mask_slice.start + k] = 1
        return torch.from_numpy(out)

    def encode(self, labels: Mapping[str, str | Iterable[str]], dataset: str | int | None = None) -> torch.Tensor:
        """One label vector (dim,): ``encode({"hair": "pink", "eyes": "blue"})``. The data set is
        found from the group names when not given."""
        return self.encode_many([labels], dataset)[0]

    def _dataset_of_rows(self, dataset, rows) -> int:
        if dataset is not None or self.n_datasets == 1:
            return self.dataset_index(dataset)
        names = {n for row in rows for n in row}
        owners = {k for k, g, _ in self.groups() if g.name in names}
        if len(owners) != 1:
            raise LabelError(f"say which data set: {', '.join(d.name for d in self.datasets)}")
        return owners.pop()

    def dataset_of(self, vectors: torch.Tensor) -> torch.Tensor:
        """(N, dim) label vectors -> (N,) int64 data set index (the mask's one; 0 without a mask)."""
        if self.mask_slice is None:
            return torch.zeros(vectors.shape[0], dtype=torch.long, device=vectors.device)
        return vectors[:, self.mask_slice].argmax(1)

    def decode(self, vector: torch.Tensor) -> tuple[str, dict[str, str | list[str]]]:
        """A label vector (dim,) -> (data set name, {group: value, or the list of attributes on}).
        Categorical groups read the largest entry, binary ones the entries above 0.5, so a
        vector of D's probabilities decodes too."""
        vector = torch.as_tensor(vector).detach().float().cpu()
        if vector.shape != (self.dim,):
            raise LabelError(f"a label vector of this spec has {self.dim} entries, not {tuple(vector.shape)}")
        k = int(self.dataset_of(vector[None])[0])
        labels: dict[str, str | list[str]] = {}
        for _, g, sl in self.groups(k):
            part = vector[sl]
            labels[g.name] = (g.values[int(part.argmax())] if g.kind == CATEGORICAL
                              else [v for v, x in zip(g.values, part.tolist()) if x > 0.5])
        return self.datasets[k].name, labels

    def with_value(self, vectors: torch.Tensor, group: str, value: str, on: bool | None = None,
                   fill: torch.Tensor | None = None) -> torch.Tensor:
        """A copy of ``vectors`` (N, dim) with ``group`` set to ``value``, the other groups kept.

        Categorical: ``value`` becomes the one-hot choice. Binary: attribute ``value`` is
        switched on / off (``on``), or reversed when ``on`` is None (the official sample grids).
        Rows of another data set move to the group's data set: their old labels become zeros
        (the official zero vector), and the group's other groups come from ``fill`` (N, dim)
        (e.g. D's predictions) when given, else stay zero."""
        k, g, sl = self.group(group)
        out = vectors.clone()
        if self.mask_slice is not None:
            other = self.dataset_of(vectors) != k
            moved = torch.zeros_like(out)
            if fill is not None:
                own = self.dataset_slice(k)
                moved[:, own] = fill[:, own].to(out)
            moved[:, self.mask_slice.start + k] = 1
            out = torch.where(other[:, None], moved, out)
        i = sl.start + g.index(value)
        if g.kind == CATEGORICAL:
            out[:, sl] = 0
            out[:, i] = 1
        else:
            out[:, i] = (1 - out[:, i]) if on is None else float(on)
        return out

    # -- plain data -----------------------------------------------------------

    def to_dict(self) -> dict:
        return {"datasets": [{"name": d.name, "groups": [{"name": g.name, "kind": g.kind, "values": list(g.values)}
                                                           for g in d.groups], **({"grey": True} if d.grey else {})}
                             for d in self.datasets]}

    @classmethod
    def from_dict(cls, raw: Mapping) -> LabelSpec:
        try:
            return cls(tuple(DatasetLabels(d["name"], tuple(Group(g["name"], tuple(g["values"]), g.get("kind", CATEGORICAL))
                                                            for g in d["groups"]), d.get("grey", False) is True)
                             for d in raw["datasets"]))
        except (KeyError, TypeError) as e:
            raise LabelError(f"not a label spec ({{'datasets': [{{'name', 'groups': [{{'name', 'values', 'kind'}}]}}]}}): "
                             f"{type(e).__name__} {e}") from e

    @classmethod
    def of(cls, *datasets: DatasetLabels) -> LabelSpec:
        return cls(tuple(datasets))


def anime_labels(hair: Iterable[str] = ANIME_HAIR, eyes: Iterable[str] = ANIME_EYES, name: str = "anime"
                 ) -> DatasetLabels:
    """Hair colour and eye colour groups, from tags like ``aqua hair aqua eyes``."""
    return DatasetLabels(name, (Group("hair", tuple(hair)), Group("eyes", tuple(eyes))))


def class_labels(values: Iterable[str] = FER_EXPRESSIONS, name: str = "fer", group: str = "expression",
                 grey: bool = False) -> DatasetLabels:
    """One categorical group whose values are class-folder names (FER2013's expressions by default)."""
    return DatasetLabels(name, (Group(group, tuple(values)),), grey)
