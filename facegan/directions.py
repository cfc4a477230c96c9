"""Directions in StyleGAN's W that mean something: moving a face along one changes one thing
about it (pose, hair length, smile, hair colour ...), the sliders of the studio's "Edit along a
direction". Two kinds: SeFa's, found from the weights, numbered; and labelled ones ("hair: blue"),
fitted to what a classifier reads in the model's faces (``labelled``, below).

Closed form, no labels, no sampling: SeFa (Shen & Zhou 2021, "Closed-Form Factorization of
Latent Semantics in GANs", Sec. 3.2). A style layer turns w into its styles by an affine map
A w + b, so moving w by n changes the styles by A n; the directions that change the chosen
layers' styles most are the top eigenvectors of A^T A, A the chosen layers' affine weights
stacked (rows, w_dim). As genforce/sefa, each row of A (one style channel) is first scaled to
unit norm, so every channel counts alike whatever its layer's scale, and the eigenvalues sum to
the number of rows: an eigenvalue over that sum is the direction's share.

Labelled: InterFaceGAN (Shen, Gu, Tang & Zhou 2020, "Interpreting the Latent Space of GANs for
Semantic Face Editing"). Faces are sampled, a tag classifier reads them (``facegan.attributes``:
12 hair and 10 eye colours), and for each colour a linear boundary in W separates the faces read
as it most confidently from those read as it least (Sec. 2.2: their linear SVM, here an
L2-regularised logistic regression written with torch, ``fit_boundary``); its unit normal is the
direction. Sec. 2.3's conditional manipulation removes from "hair: blue" its components along the
eye colours' normals, so that moving the hair crosses no eye boundary. Saved as
``directions.safetensors`` (the tensors, the names and how they were made as JSON metadata); a
checkpoint folder holding one ships them (``shipped``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file


@dataclass(frozen=True)
class Directions:
    """SeFa's directions for the styles ``layers``, the strongest first."""

    layers: tuple[int, ...]
    vectors: torch.Tensor  # (k, w_dim) float32 on the CPU: unit norm, orthogonal
    eigenvalues: torch.Tensor  # (k,) float64, descending, > 0

    def __len__(self) -> int:
        return len(self.vectors)

    def share(self, index: int) -> float:
        """Direction ``index``'s eigenvalue over the sum of all of them (the rows of A), in [0, 1]."""
        return float(self.eigenvalues[index] / self.total)

    @property
    def total(self) -> float:
        return float(self.eigenvalues.sum())


def affine_matrix(model, layers) -> torch.Tensor:
    """A: the effective weights (weight * weight_gain) of the affines of the styles ``layers``
    (indices, see ``Model.style_affines``), stacked, each row scaled to unit norm; (rows, w_dim) float64."""
    affines = model.style_affines()
    a = torch.cat([affines[i].weight.detach().double().cpu() * affines[i].weight_gain for i in layers])
    return a / a.norm(dim=1, keepdim=True).clamp_min(1e-30)  # a dead channel (a zero row) stays zero


def sefa(model, layers) -> Directions:
    """The eigenvectors of A^T A (``affine_matrix``) by eigenvalue, largest first, as directions in W.

    Only the eigenvalues above 1e-9 of the largest are kept: with fewer style channels than
    w_dim (a single late layer) the rest span A's null space, where moving w changes nothing.
    An eigenvector's sign is arbitrary; here its largest component is positive, so a direction
    (and "+3 along direction 0") is the same on every machine."""
    layers = tuple(layers)
    a = affine_matrix(model, layers)
    values, vectors = torch.linalg.eigh(a.T @ a)  # ascending; columns
    values, vectors = values.flip(0), vectors.flip(1).T.contiguous()
    keep = values > 1e-9 * values[0].clamp_min(1e-300)
    values, vectors = values[keep], vectors[keep]
    sign = vectors.gather(1, vectors.abs().argmax(1, keepdim=True)).sign()
    return Directions(layers, (vectors * sign).float(), values)


# ----------------------------------------------------------------------------- labelled directions

FILE_NAME = "directions.safetensors"  # a checkpoint folder with this file ships its labelled directions
_TENSORS = ("vectors", "normals", "offsets", "accuracy", "read")


def normalise_name(name: str) -> str:
    """ " Hair:Blue " -> "hair: blue": a labelled direction's name as stored."""
    group, sep, value = str(name).partition(":")
    return f"{' '.join(group.split()).lower()}{': ' if sep else ''}{' '.join(value.split()).lower()}"


@dataclass(frozen=True)
class LabelledDirections:
    """InterFaceGAN's directions (Shen et al. 2020, Sec. 2.2): for each colour of each group a
    tag classifier reads (``facegan.attributes``), a linear boundary in W between the faces it
    reads as that colour most and least confidently; the direction is the boundary's unit
    normal, pointing towards the colour. ``names[i]`` ("hair: blue") goes with row i of each tensor."""

    names: tuple[str, ...]
    vectors: torch.Tensor  # (k, w_dim) float32, unit: the edit directions (conditioned, see info["conditioned_on"])
    normals: torch.Tensor  # (k, w_dim) float32, unit: the boundaries' normals as fitted
    offsets: torch.Tensor  # (k,) float32: a boundary is normals[i] @ w + offsets[i] = 0, > 0 on the colour's side
    accuracy: torch.Tensor  # (k,) float32 in [0, 1]: the boundary on the chosen faces it was not fitted on (NaN: none)
    read: torch.Tensor  # (k,) int64: how many of the n faces the classifier read as that colour (its argmax)
    info: dict  # how they were made: n, seed, psi, share, classifier, seconds, conditioned_on

    def __len__(self) -> int:
        return len(self.names)

    @property
    def w_dim(self) -> int:
        return self.vectors.shape[1]

    def groups(self) -> dict[str, list[str]]:
        """{"hair": ["hair: aqua", ...], "eyes": [...]}, in order."""
        out: dict[str, list[str]] = {}
        for name in self.names:
            out.setdefault(name.partition(":")[0], []).append(name)
        return out

    def listing(self) -> str:
        """The names, short: "hair: aqua, black, ...; eyes: aqua, ..."."""
        return "; ".join(f"{g}: {', '.join(n.partition(': ')[2] for n in names)}" for g, names in self.groups().items())

    def find(self, name) -> int | None:
        """The row of ``name`` (any case and spacing: "Hair:Blue"), or None."""
        if not isinstance(name, str):
            return None
        key = normalise_name(name)
        return self.names.index(key) if key in self.names else None

    def index(self, name) -> int:
        """The row of ``name``; a ValueError listing the names otherwise."""
        i = self.find(name)
        if i is None:
            shown = repr(name[:60]) if isinstance(name, str) else type(name).__name__
            raise ValueError(f"no labelled direction {shown}: the names are {self.listing()}")
        return i

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``directions.safetensors`` into the folder ``path`` (or to the file ``path`` if it
        ends in .safetensors), by a rename: a reader never sees half a file."""
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {k: getattr(self, k).detach().cpu().contiguous() for k in _TENSORS}
        meta = {"format": "pt", "names": json.dumps(list(self.names)), "info": json.dumps(self.info)}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            save_file(tensors, tmp, metadata=meta)
            tmp.chmod(0o644)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> LabelledDirections:
        """What ``save`` wrote (a folder holding ``directions.safetensors``, or the file); a
        ValueError saying what is wrong otherwise."""
        path = Path(path)
        if path.is_dir():
            path = path / FILE_NAME
        try:
            with safe_open(path, "pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in _TENSORS}
            names = tuple(json.loads(meta["names"]))
            info = json.loads(meta.get("info", "{}"))
        except Exception as e:  # no file, a damaged one, a tensor or a name missing
            raise ValueError(f"{path} is not a file of labelled directions: {type(e).__name__}: {e}") from e
        k = len(names)
        v = tensors["vectors"]
        if (v.ndim != 2 or len(v) != k or tensors["normals"].shape != v.shape
                or any(tensors[t].shape != (k,) for t in ("offsets", "accuracy", "read"))
                or not all(isinstance(n, str) for n in names) or len(set(names)) != k or not isinstance(info, dict)):
            raise ValueError(f"{path}: its names and tensors do not fit together")
        return cls(names, v.float(), tensors["normals"].float(), tensors["offsets"].float(),
                   tensors["accuracy"].float(), tensors["read"].long(), info)


def shipped(folder: str | os.PathLike) -> LabelledDirections | None:
    """The labelled directions a checkpoint folder ships (its ``directions.safetensors``), or None."""
    path = Path(folder) / FILE_NAME
    return LabelledDirections.load(path) if path.is_file() else None


def fit_boundary(x: torch.Tensor, y: torch.Tensor, l2: float | None = None, steps: int = 300
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-regularised logistic regression by L-BFGS: (N, d) features, (N,) labels in {0, 1} ->
    (a (d,), b ()) float64, the boundary a @ x + b = 0 (positive: label 1). ``l2`` (on a only)
    defaults to 1 / N, the mean-loss form of scikit-learn's LogisticRegression(C=1)."""
    x, y = x.detach().double(), y.detach().double()
    l2 = 1.0 / len(x) if l2 is None else l2
    a = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], lr=1.0, max_iter=steps, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ a + b, y) + 0.5 * l2 * a.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return a.detach(), b.detach()


def labelled(model, classifier=None, n: int = 2000, seed: int = 0, psi: float = 1.0, *, share: float = 0.1,
             conditional: bool = True, batch: int = 64,
             progress: Callable[[float, str], None] | None = None) -> LabelledDirections:
    """InterFaceGAN's directions of a StyleGAN ``Model`` for every value of every group of a tag
    classifier (default: the bundled anime hair / eye colour one, ``facegan.attributes``).

    ``n`` latents from ``seed`` are mapped to W (truncated by ``psi`` towards W's average) and
    drawn with the checkpoint's const noise, in batches, without gradients; the classifier reads
    each face. For each colour the ``share`` of faces it reads as that colour most confidently
    and the same number least confidently are split 4:1; a logistic regression in W (``fit_boundary``)
    is fitted on the four fifths and scored on the rest. With ``conditional`` each direction is
    then made orthogonal to the other groups' normals (InterFaceGAN Sec. 2.3, conditional
    manipulation: "hair: blue" then moves no eye colour boundary), when those span at most a
    quarter of W (a W of 8 dimensions would have nothing left). ``progress(fraction, text)`` is
    called as the faces are read."""
    from facegan import attributes

    if isinstance(n, bool) or not isinstance(n, int) or n < 10:
        raise ValueError(f"labelled directions need n >= 10 faces, got {n!r}")
    if not 0 < share <= 0.5:
        raise ValueError(f"share is in (0, 0.5], got {share!r}")
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    net = attributes.load_classifier(device=device) if classifier is None else classifier
    net.eval()
    z = model.sample_latent(n, generator=torch.Generator().manual_seed(seed))
    ws, probs = [], [[] for _ in net.groups]
    with torch.no_grad():
        for part in z.split(batch):
            w = model.mapping(part.to(device))
            if psi != 1:
                w = model.truncate(w, psi)
            for j, p in enumerate(attributes.probabilities(net, model.synthesis(w, "const"))):
                probs[j].append(p)
            ws.append(w[:, 0].float().cpu())
            if progress is not None:
                done = sum(len(x) for x in ws)
                progress(done / n, f"{done} of {n} faces drawn and read")
    w = torch.cat(ws).double()  # (n, w_dim): the points drawn
    mean, scale = w.mean(0), w.std().clamp_min(1e-12)  # one scale: the normal is the same direction in W
    x = (w - mean) / scale
    k = max(2, min(n // 2, round(share * n)))
    g = torch.Generator().manual_seed(seed)
    names, normals, offsets, accuracy, read, group_of = [], [], [], [], [], []
    for j, (group, values) in enumerate(net.groups.items()):
        p = torch.cat(probs[j])
        for v, value in enumerate(values):
            order = p[:, v].argsort(descending=True)
            chosen = torch.cat([order[:k], order[-k:]])
            y = torch.cat([torch.ones(k), torch.zeros(k)])
            shuffled = torch.randperm(2 * k, generator=g)
            held, fit = shuffled[::5], torch.cat([shuffled[i::5] for i in range(1, 5)])
            a, b = fit_boundary(x[chosen[fit]], y[fit])
            norm = a.norm()
            normal = a / norm if norm > 0 else a
            acc = float(((x[chosen[held]] @ a + b > 0).double() == y[held]).double().mean()) if len(held) else math.nan
            names.append(f"{group}: {value}")
            normals.append(normal)
            offsets.append(float(b * scale / norm - normal @ mean) if norm > 0 else 0.0)
            accuracy.append(acc)
            read.append(int((p.argmax(1) == v).sum()))
            group_of.append(group)
    normals_t = torch.stack(normals)  # (k, w_dim) float64
    vectors = normals_t.clone()
    conditioned: dict[str, list[str]] = {}
    for group in net.groups if conditional else ():  # the parameter was ignored: always conditioned
        others = normals_t[[i for i, gr in enumerate(group_of) if gr != group]]
        if not 0 < len(others) <= w.shape[1] // 4:
            continue
        q, _ = torch.linalg.qr(others.T)  # an orthonormal basis of the other groups' normals
        rows = [i for i, gr in enumerate(group_of) if gr == group]
        v = normals_t[rows] - (normals_t[rows] @ q) @ q.T
        vectors[rows] = F.normalize(v, dim=1)
        conditioned[group] = [gr for gr in net.groups if gr != group]
    info = {"n": n, "seed": seed, "psi": psi, "share": share, "per_side": k, "w_dim": int(w.shape[1]),
            "classifier": {"groups": {gr: list(vals) for gr, vals in net.groups.items()}},
            "method": "InterFaceGAN: L2 logistic regression (C=1) in W on the most / least confident faces",
            "conditioned_on": conditioned, "seconds": round(time.perf_counter() - t0, 2)}
    return LabelledDirections(tuple(names), vectors.float(), normals_t.float(), torch.tensor(offsets),
                              torch.tensor(accuracy), torch.tensor(read), info)
