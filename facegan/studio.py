"""The StyleGAN studio as a Python API (what the app's StyleGAN tab and ``facegan interpolate`` call).

A face is named by a seed or by its code, and a code reproduces it exactly:

- a seed ``s`` is the face of code ``latent.random_codes(1, z_dim, s)[0]``;
- a code is z as hex, one byte per dimension under the model's normal prior (``latent.py``:
  byte b -> the normal quantile of (b + 0.5) / 256), 2 * z_dim hex digits (256 for the CPU preset);
- a projected face (``facegan.project``: a picture of your own found in W) is ``w:`` and its
  point in W as float16, 4 hex digits per value (512 for the CPU preset's 128-dim W), or, when
  projected in W+ (one w per style), ``wp:`` and the num_ws x w_dim values (at most
  MAX_WPLUS_VALUES of them: the CPU preset's 10 x 128, not a 512-dim model's, whose W+ latent
  stays a file). Such a code is the point itself, so it draws exactly what the projection drew,
  with the checkpoint's const noise; a seed or a z code goes through the mapping;
- a variation (a small step in W, below) appends ``+<seed>:<index>:<step>`` to the code of the
  face it was made from, so a face picked from a variations grid, and a variation of it, and so
  on (at most ``checks.MAX_VARIATION_STEPS`` steps), is still a short text that reproduces it.

What a code names is a point in W (the mapping's output, untruncated); how it is drawn is the
rendering: truncation ``psi`` towards W's average in the first ``cutoff`` styles (None: all),
and the noise, ``"const"`` (the checkpoint's fixed noise, the default), ``"random"`` (drawn from
``noise_seed``, the same for every picture drawn with that seed) or ``"none"``. The same code
and rendering give the same picture.

- ``face(3, psi=0.7)``: one face and its code.
- ``mix(rows, columns, "coarse")``: StyleGAN's Figure 3. Cell (r, c) is column face c with the
  styles at the chosen layers copied from row face r (``Model.mix``); ``.figure()`` is the
  labelled grid with the sources along the top and the left.
- ``interpolation_frames([1, 2, 3], frames=24, mode="lerp-w")``: one face morphing through the
  faces of a list, lerp in W or slerp in Z (not for a projected face: it has no z);
  ``side_by_side=3`` reads the list three at a time,
  so three faces walk side by side (the article's three-face GIF). ``interpolate`` writes the
  GIF and the MP4.
- ``variations(code, count=8, step=0.3, seed=0)``: faces around one face. Variation i moves the
  face's W by ``step`` times (W of the face of ``latent.random_codes(i + 1, z_dim, seed)[i]`` -
  W's average): a step towards another face's features, in units of that face's distance from
  the average face.
- ``project(picture, steps=200, space="w")``: your own picture found in W (``facegan.project``),
  with the code that makes it a face like any other here.
- ``edit(3, direction=0, layers="coarse", strength=3)``: the face moved along one of SeFa's
  closed-form directions (``facegan.directions``) of the chosen styles, in those styles only;
  ``edit(3, direction="hair: blue", strength=3)`` along a labelled direction (InterFaceGAN's,
  fitted to a hair / eye colour classifier: ``Studio(model, labelled=...)``, a checkpoint's
  ``directions.safetensors``, or ``compute_labelled()``), in all styles unless ``layers`` says;
  ``edit_strip`` lays the face out from -strength to +strength, labelled.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from facegan import checks, latent, models
from facegan import images as img_lib
from facegan.checks import InputError, quote
from facegan.directions import Directions, LabelledDirections, normalise_name, sefa
from facegan.directions import labelled as fit_labelled
from facegan.latent import MAX_WPLUS_VALUES, SPACES, latent_code

MODES = ("lerp-w", "slerp-z")  # interpolation: linear in W (any code), spherical in Z (z codes without variations)
NOISE_MODES = ("const", "random", "none")
_VARIATION_CHARS = 58  # "+" 19 digits ":" 4 digits ":" 32 characters
# the longest code: a W+ code's prefix and 4 hex digits per value, and 32 variation parts (a z code is at
# most 2 * 1024 digits, a W code 4 * 1024)
MAX_CODE_CHARS = len(SPACES["w+"]) + 4 * MAX_WPLUS_VALUES + checks.MAX_VARIATION_STEPS * _VARIATION_CHARS
MAX_LIST_CHARS = checks.MAX_MORPH_FACES * (MAX_CODE_CHARS + 1)  # a text of faces
_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?")
_VARIATION = re.compile(r"(\d{1,19}):(\d{1,4}):([0-9.eE+-]{1,32})")
MAX_CACHED_LAYER_SETS = 64  # SeFa factorisations a Studio keeps (one per layer selection asked for)


class Code(NamedTuple):
    """A parsed face code: its hex (z's bytes, or W's / W+'s float16 values, as ``space`` says)
    and the variation steps (seed, index, step) applied in W."""

    hex: str
    steps: tuple[tuple[int, int, float], ...] = ()
    space: str = "z"  # "z" (a seed's or a z code: through the mapping), "w" or "w+" (a projected face)

    @property
    def text(self) -> str:
        return SPACES[self.space] + self.hex + "".join(f"+{s}:{i}:{_number(step)}" for s, i, step in self.steps)


def _number(x: float) -> str:
    """The shortest text that reads back as ``x`` exactly (0.3, not 0.30000000000000004)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


@dataclass(frozen=True)
class Rendering:
    """How StyleGAN faces are drawn: truncation ``psi`` towards W's average (1: none, 0: the average
    face) of the first ``cutoff`` styles (None: all), and the noise maps, "const" (the checkpoint's:
    a code is always the same face), "random" (drawn from ``noise_seed``) or "none". Made and checked
    once by ``Studio.rendering``, then passed on as one value (``render=``)."""

    psi: float = 1.0
    cutoff: int | None = None
    noise: str = "const"
    noise_seed: int = 0


@dataclass
class Face:
    picture: Image.Image  # at the model's size
    code: str


@dataclass
class Mixing:
    """StyleGAN's Figure 3: cell [r][c] is column face c with row face r's styles at ``layers``."""

    rows: list[str]  # the row faces' codes
    columns: list[str]
    row_labels: list[str]  # "seed 3", or a code's first digits
    column_labels: list[str]
    layers: list[int]
    row_pictures: list[Image.Image]
    column_pictures: list[Image.Image]
    pictures: list[list[Image.Image]]  # [row][column]

    def cells(self) -> list[tuple[Image.Image, str]]:
        """(picture, caption) row by row, for a gallery."""
        return [(p, f"{rl} → {cl}") for rl, row in zip(self.row_labels, self.pictures)
                for cl, p in zip(self.column_labels, row)]

    def figure(self, size: int = 128) -> Image.Image:
        """The labelled grid: the column faces along the top, the row faces down the left, the
        mixes between; every picture enlarged to ``size`` px so that the captions are legible."""
        from facegan.editor import labelled_grid  # (its fonts; not needed for the rest)

        def big(p: Image.Image) -> Image.Image:
            return p if p.size == (size, size) else p.resize((size, size), Image.Resampling.LANCZOS)

        corner = Image.new("RGB", (size, size), (255, 255, 255))
        # the corner says what the rows give (its font has no arrows)
        tiles = [(corner, f"row styles {span(self.layers)}"),
                 *((big(p), lb) for p, lb in zip(self.column_pictures, self.column_labels))]
        for label, pic, row in zip(self.row_labels, self.row_pictures, self.pictures):
            tiles += [(big(pic), label), *((big(p), "") for p in row)]
        return labelled_grid(tiles, columns=len(self.columns) + 1)


@dataclass
class Edit:
    """A face moved along direction ``direction`` of the styles ``layers`` by ``strength``: a
    SeFa direction (a number) or a labelled one (its name, "hair: blue")."""

    picture: Image.Image  # at the model's size
    code: str  # the face's own code (the edit is not part of it)
    layers: list[int]
    direction: int | str
    strength: float
    directions: int  # how many the layers have (SeFa), or how many labelled directions there are
    eigenvalue: float | None  # SeFa's; None for a labelled direction
    share: float | None  # of the layers' eigenvalues, in [0, 1]; None for a labelled direction
    accuracy: float | None = None  # a labelled direction's boundary on held-out faces, in [0, 1]


@dataclass
class EditStrip:
    """The face along one direction: ``pictures[i]`` at ``strengths[i]``, from -s to +s."""

    code: str
    layers: list[int]
    direction: int | str
    strengths: list[float]
    pictures: list[Image.Image]

    def figure(self, size: int = 128) -> Image.Image:
        """One row, each face enlarged to ``size`` px and captioned with its strength."""
        from facegan.editor import labelled_grid  # (its fonts; not needed for the rest)

        tiles = [(p if p.size == (size, size) else p.resize((size, size), Image.Resampling.LANCZOS), f"{s:+.3g}" if s else "0")
                 for p, s in zip(self.pictures, self.strengths)]
        return labelled_grid(tiles, columns=len(tiles))


def span(layers: list[int]) -> str:
    """[0, 1, 2, 3, 7] -> "0-3, 7"."""
    parts, start = [], None
    for i, x in enumerate(layers):
        if start is None:
            start = x
        if i + 1 == len(layers) or layers[i + 1] != x + 1:
            parts.append(str(start) if start == x else f"{start}-{x}")
            start = None
    return ", ".join(parts)


class Studio:
    """Faces, style mixing, interpolations and variations of a StyleGAN2 ``Model``."""

    def __init__(self, model: torch.nn.Module, dtype: str | torch.dtype = "auto", batch: int = 32,
                 labelled: LabelledDirections | None = None):
        """``dtype``: "auto" draws in bf16 autocast where the hardware computes it natively (as the
        Explorer; pictures within a few 1/255 of float32), "float32" exactly. ``labelled``: the
        checkpoint's labelled directions (``facegan.directions.shipped(folder)``), if any."""
        if not hasattr(model, "mix") or not hasattr(model, "num_ws"):
            raise ValueError(f"a Studio needs a StyleGAN model, not {type(model).__name__}")
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.precision = models.checked_precision(dtype, self.device, self._probe)
        self.dtype = self.precision.dtype
        self.nz = model.latent_dim
        self.num_ws = model.num_ws
        self.w_dim = model.config.w_dim
        self.size = model.config.image_size
        self.prior = latent.check_prior(model.config.prior)
        self.batch = batch
        self._sefa: dict[tuple[int, ...], Directions] = {}
        self._labelled: LabelledDirections | None = None
        self.labelled = labelled

    def _probe(self, dtype: torch.dtype) -> torch.Tensor:
        """4 fixed faces drawn in ``dtype`` as the studio draws (autocast, the fixed noise)."""
        ws = self.model.mapping(models.probe_latents(4, self.model.latent_dim).to(self.device))
        with models.autocast(self.device, dtype):
            return self.model.synthesis(ws, "const", None).float()

    # -- faces: seeds and codes ---------------------------------------------------

    def is_seed(self, face) -> bool:
        """Whether ``face`` is meant as a seed: a number, or a text of one that is not 2 * z_dim
        digits long (a code's length). Anything else is read as a code. Raises for no face at all."""
        if isinstance(face, bool) or face is None:
            raise InputError(f"a face is a seed or a face code, got {quote(face)}")
        if isinstance(face, (int, float)):
            return True
        text = checks.text(face, "face", MAX_CODE_CHARS).strip()
        if not text:
            raise InputError("give a face: a seed (a whole number) or a face code")
        return len(text) != 2 * self.nz and bool(_NUMBER.fullmatch(text))

    def seed_code(self, seed: int, name: str = "seed") -> str:
        return latent.random_codes(1, self.nz, checks.whole(seed, name, 0, checks.MAX_SEED))[0]

    def parse(self, face: int | str) -> Code:
        """A seed (a whole number, or its text) or a face code -> its Code; InputError (a
        ValueError naming what is wrong) otherwise. A text of exactly 2 * z_dim hex digits is a
        code, ``w:`` / ``wp:`` and hex a projected face's."""
        if self.is_seed(face):
            return Code(self.seed_code(face, "face: a seed"))
        text = checks.text(face, "face", MAX_CODE_CHARS).strip()
        head, *parts = text.split("+")
        space, hexes = self._head(head.strip())
        if len(parts) > checks.MAX_VARIATION_STEPS:
            raise InputError(f"a face code has at most {checks.MAX_VARIATION_STEPS} variation steps, got {len(parts)}")
        steps = []
        for part in parts:
            m = _VARIATION.fullmatch(part.strip())
            if not m:
                raise InputError(f"a variation in a face code is +<seed>:<index>:<step>, e.g. +0:3:0.3; got "
                                 f"{quote('+' + part)}")
            steps.append((checks.whole(m[1], "a variation's seed", 0, checks.MAX_SEED),
                          checks.whole(m[2], "a variation's index", 0, checks.MAX_VARIATIONS - 1),
                          checks.real(m[3], "a variation's step", 0, checks.MAX_STEP)))
        return Code(hexes, tuple(steps), space)

    def _head(self, head: str) -> tuple[str, str]:
        """A code's part before its variations -> (space, normalised hex); a CodeError says what a code is."""
        low = head.lower()
        if low.startswith(SPACES["w+"]):
            n = self.num_ws * self.w_dim
            if n > MAX_WPLUS_VALUES:
                raise InputError(f"this checkpoint's W+ ({self.num_ws} x {self.w_dim} values) is too large for a "
                                 f"face code (at most {MAX_WPLUS_VALUES} values): use its latent file, or a W projection")
            values = latent.hex_to_floats(head[len(SPACES["w+"]):], n, f"a W+ code (wp:) of this checkpoint "
                                                                        f"({self.num_ws} x {self.w_dim} values)")
            return "w+", latent.floats_to_hex(values)
        if low.startswith(SPACES["w"]):
            values = latent.hex_to_floats(head[len(SPACES["w"]):], self.w_dim,
                                          f"a W code (w:) of this checkpoint ({self.w_dim} values)")
            return "w", latent.floats_to_hex(values)
        return "z", latent.bytes_to_code(latent.code_to_bytes(head, self.nz))

    def latent_code(self, values: torch.Tensor) -> str | None:
        """``latent_code`` for this studio's checkpoint."""
        return latent_code(values, self.num_ws, self.w_dim)

    def code(self, face: int | str) -> str:
        """A seed or a code -> the code, normalised."""
        return self.parse(face).text

    def label(self, face: int | str) -> str:
        """A short caption: "seed 3" for a seed, else the code's first digits (and its steps)."""
        if self.is_seed(face):
            return f"seed {checks.whole(face, 'seed', 0, checks.MAX_SEED)}"
        code = self.parse(face)
        return SPACES[code.space] + code.hex[:8] + "…" + (f" +{len(code.steps)}" if code.steps else "")

    def faces(self, faces, what: str = "faces", most: int = checks.MAX_FACES, at_least: int = 1,
              why: str = "") -> list[Code]:
        """A list of seeds / codes, or one text of them separated by commas, spaces or new lines;
        ``why``: what sets the bounds, said in the message."""
        if isinstance(faces, str):
            faces = checks.text(faces, what, MAX_LIST_CHARS).replace(",", " ").split()
        if not isinstance(faces, (list, tuple)):
            raise InputError(f"{what}: seeds or face codes, separated by commas")
        if not at_least <= len(faces) <= most:
            raise InputError(f"{what}: {at_least} to {most} faces (seeds or face codes{why}), got {len(faces):,}")
        return [self.parse(f) for f in faces]

    # -- W and rendering ------------------------------------------------------------

    def _map(self, z: torch.Tensor) -> torch.Tensor:
        """(N, z_dim) -> W (N, w_dim), float32, untruncated."""
        return self.model.mapping(z.to(self.device)).float()[:, 0]

    def _z(self, codes: list[Code]) -> torch.Tensor:
        return latent.codes_to_z([c.hex for c in codes], self.nz, self.prior)

    def direction(self, seed: int, index: int) -> torch.Tensor:
        """Variation ``index`` of ``seed``: W of that face minus W's average, (w_dim,)."""
        code = latent.random_codes(index + 1, self.nz, seed)[index]
        return self._map(latent.code_to_z(code, self.nz, self.prior)[None])[0] - self.model.w_avg.float()

    @torch.inference_mode()
    def ws(self, codes: list[Code]) -> torch.Tensor:
        """Codes -> their styles, (N, num_ws, w_dim) float32: a seed's or a z code's w (through
        the mapping) or a W code's in every style, a W+ code's own; variation steps applied."""
        out = torch.empty(len(codes), self.num_ws, self.w_dim, device=self.device)
        mapped = [i for i, c in enumerate(codes) if c.space == "z"]
        if mapped:
            out[mapped] = self._map(self._z([codes[i] for i in mapped]))[:, None]
        for i, code in enumerate(codes):
            if code.space != "z":
                n = self.w_dim if code.space == "w" else self.num_ws * self.w_dim
                out[i] = latent.hex_to_floats(code.hex, n).to(self.device).view(-1, self.w_dim)
            for seed, index, step in code.steps:
                out[i] += step * self.direction(seed, index)
        return out

    def w(self, codes: list[Code]) -> torch.Tensor:
        """Codes -> their points in W, (N, w_dim) float32 (variation steps applied); not for W+ codes."""
        if any(c.space == "w+" for c in codes):
            raise InputError("a W+ face (wp: code) has a w per style, not one point in W")
        return self.ws(codes)[:, 0]

    def rendering(self, psi: float = 1.0, cutoff: int | None = None, noise: str = "const", noise_seed: int = 0,
                  render: Rendering | None = None) -> Rendering:
        """The rendering of these values, checked for this checkpoint (cutoff at most its styles);
        ``render``, when given, is taken instead (checked again: it may come from another studio)."""
        if render is not None:
            if (psi, cutoff, noise, noise_seed) != (1.0, None, "const", 0):
                raise InputError("give the rendering as render= or as psi, cutoff, noise, noise_seed, not both")
            psi, cutoff, noise, noise_seed = render.psi, render.cutoff, render.noise, render.noise_seed
        psi = checks.real(psi, "psi", -checks.MAX_PSI, checks.MAX_PSI)
        if isinstance(cutoff, str) and cutoff.strip().lower() in ("", "all"):
            cutoff = None  # the app's empty box
        if cutoff is not None:
            cutoff = checks.whole(cutoff, "cutoff (truncated styles)", 0, self.num_ws)
        if noise not in NOISE_MODES:
            raise InputError(f"noise is one of {', '.join(NOISE_MODES)}, not {quote(noise)}")
        return Rendering(psi, cutoff, noise, checks.whole(noise_seed, "noise seed", 0, checks.MAX_SEED))

    @torch.inference_mode()
    def draw(self, ws: torch.Tensor, psi: float = 1.0, cutoff: int | None = None, noise: str = "const",
             noise_seed: int = 0, *, render: Rendering | None = None) -> torch.Tensor:
        """ws (N, num_ws, w_dim) -> images (N, 3, S, S) in [-1, 1] on the CPU, truncated and with
        the noise as the class docstring says, in batches (one by one for seeded random noise, so
        that every picture gets the same noise wherever it is drawn)."""
        r = self.rendering(psi, cutoff, noise, noise_seed, render)
        ws = ws.to(self.device, torch.float32)
        if r.psi != 1 and r.cutoff != 0:
            ws = self.model.truncate(ws, r.psi, r.cutoff)
        out = []
        with models.autocast(self.device, self.dtype):
            for part in ws.split(1 if r.noise == "random" else self.batch):
                g = torch.Generator().manual_seed(r.noise_seed) if r.noise == "random" else None
                out.append(self.model.synthesis(part, r.noise, g).float().cpu())
        return torch.cat(out)

    def _broadcast(self, w: torch.Tensor) -> torch.Tensor:
        return w[:, None].expand(-1, self.num_ws, -1)

    def images(self, faces, psi: float = 1.0, cutoff: int | None = None, noise: str = "const",
               noise_seed: int = 0, *, render: Rendering | None = None) -> torch.Tensor:
        """Seeds / codes -> (N, 3, S, S) in [-1, 1]."""
        codes = self.faces(faces)
        r = self.rendering(psi, cutoff, noise, noise_seed, render)  # checked once, before any work
        return self.draw(self.ws(codes), render=r)

    def face(self, face: int | str, psi: float = 1.0, cutoff: int | None = None, noise: str = "const",
             noise_seed: int = 0, *, render: Rendering | None = None) -> Face:
        """One face (a seed or a code) and its code."""
        code = self.parse(face)
        r = self.rendering(psi, cutoff, noise, noise_seed, render)
        return Face(img_lib.to_pil(self.images([code.text], render=r))[0], code.text)

    # -- style mixing -------------------------------------------------------------

    def layers(self, spec) -> list[int]:
        """Style layers: "coarse" (4-8 px), "middle", "fine" (fitted to the model's size:
        ``stylegan.style_groups``), "all", or
        indices and ranges as text ("0-3", "4,5", "8-") or a list; sorted, each 0 .. num_ws - 1."""
        last = self.num_ws - 1
        what = (f"layers are coarse, middle, fine, all, or style indices 0 to {last} such as 0-3 or 4,5 "
                f"(this checkpoint has {self.num_ws} styles)")
        if isinstance(spec, (list, tuple)):
            if not spec or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= last for i in spec):
                raise InputError(f"{what}; got {quote(list(spec))}")
            return sorted(set(spec))
        text = checks.text(spec, "layers", 200).strip().lower()
        if text == "all":
            return list(range(self.num_ws))
        if text in ("coarse", "middle", "fine"):
            found = self.model.style_layers(text)
            if not found:
                raise InputError(f"this {self.size} px checkpoint has no {text} styles: give indices 0 to {last}")
            return found
        out: set[int] = set()
        for part in (p.strip() for p in text.split(",")):
            m = re.fullmatch(r"(\d{1,4})?\s*(-)?\s*(\d{1,4})?", part)
            if not part or not m or (m[2] is None and m[3] is not None) or (m[1] is None and m[3] is None):
                raise InputError(f"{what}; got {quote(spec)}")
            lo = int(m[1]) if m[1] is not None else 0
            hi = (int(m[3]) if m[3] is not None else last) if m[2] else lo
            if not 0 <= lo <= hi <= last:
                raise InputError(f"{what}; got {quote(spec)}")
            out.update(range(lo, hi + 1))
        return sorted(out)

    def mix(self, rows, columns, layers="coarse", psi: float = 1.0, cutoff: int | None = None,
            noise: str = "const", noise_seed: int = 0, *, render: Rendering | None = None) -> Mixing:
        """StyleGAN's Figure 3 from row and column faces (lists of seeds / codes, or texts of them)."""
        row_faces = _items(rows)
        col_faces = _items(columns)
        r = self.faces(row_faces, "row faces", checks.MAX_MIX_SIDE)
        c = self.faces(col_faces, "column faces", checks.MAX_MIX_SIDE)
        chosen = self.layers(layers)
        rendering = self.rendering(psi, cutoff, noise, noise_seed, render)  # checked once, before any work
        w_r, w_c = self.ws(r), self.ws(c)
        mixed = self.model.mix(w_c[None].expand(len(r), -1, -1, -1).flatten(0, 1),
                               w_r[:, None].expand(-1, len(c), -1, -1).flatten(0, 1), chosen)
        pics = img_lib.to_pil(self.draw(torch.cat([w_r, w_c, mixed]), render=rendering))
        cells = pics[len(r) + len(c):]
        return Mixing([x.text for x in r], [x.text for x in c], [self.label(f) for f in row_faces],
                      [self.label(f) for f in col_faces], chosen, pics[:len(r)], pics[len(r):len(r) + len(c)],
                      [cells[i * len(c):(i + 1) * len(c)] for i in range(len(r))])

    # -- edits along closed-form directions (SeFa) and labelled ones ----------------------

    def sefa(self, layers="coarse") -> Directions:
        """SeFa's directions of the styles ``layers`` (as ``layers`` reads them), strongest
        first; computed once per layer selection."""
        chosen = tuple(self.layers(layers))
        if chosen not in self._sefa:
            if len(self._sefa) >= MAX_CACHED_LAYER_SETS:
                self._sefa.pop(next(iter(self._sefa)))
            self._sefa[chosen] = sefa(self.model, chosen)
        return self._sefa[chosen]

    # -- labelled directions (InterFaceGAN) ------------------------------------------

    @property
    def labelled(self) -> LabelledDirections | None:
        """The checkpoint's labelled directions ("hair: blue", ...), or None."""
        return self._labelled

    @labelled.setter
    def labelled(self, found: LabelledDirections | None) -> None:
        if found is not None and found.w_dim != self.w_dim:
            raise ValueError(f"labelled directions of a {found.w_dim}-dim W do not fit this checkpoint's "
                             f"{self.w_dim}-dim W")
        self._labelled = found

    def compute_labelled(self, n: int = 2000, seed: int = 0, psi: float = 1.0, classifier=None,
                         progress=None) -> LabelledDirections:
        """``facegan.directions.labelled`` for this studio's model (default: the bundled hair / eye
        colour classifier); they become ``self.labelled`` and are returned (``.save(folder)`` keeps them)."""
        self.labelled = fit_labelled(self.model, classifier, n, seed, psi, progress=progress)
        return self.labelled

    def direction_names(self) -> list[str]:
        """The labelled directions' names (empty without them)."""
        return list(self.labelled.names) if self.labelled is not None else []

    def _unknown_direction(self, text: str) -> InputError:
        if self.labelled is None:
            return InputError(f"no direction {quote(text)}: SeFa's are numbers (0: the strongest), and this checkpoint "
                              "has no labelled directions (Studio.compute_labelled, the app's Compute labelled "
                              "directions or benchmarks/stylegan_directions.py --write fit them)")
        return InputError(f"no direction {quote(text)}: SeFa's are numbers (0: the strongest); the labelled ones are "
                          f"{self.labelled.listing()}")

    def _check_edit(self, face, direction, layers, strength
                    ) -> tuple[Code, Directions | LabelledDirections, int | str, list[int], float]:
        """(code, the directions, a SeFa index or a labelled name, the styles edited, strength).
        A text that reads as a number is a SeFa index; any other text a labelled direction's name."""
        code = self.parse(face)
        if isinstance(direction, str):
            text = checks.text(direction, "direction", 200).strip()
            if self.labelled is not None and (i := self.labelled.find(text)) is not None:
                chosen = self.layers("all" if layers is None else layers)
                strength = checks.real(strength, "strength", -checks.MAX_EDIT_STRENGTH, checks.MAX_EDIT_STRENGTH)
                return code, self.labelled, self.labelled.names[i], chosen, strength
            try:
                float(text)
            except ValueError:
                raise self._unknown_direction(normalise_name(text) if ":" in text else text) from None
        found = self.sefa("coarse" if layers is None else layers)
        direction = checks.whole(direction, f"direction (styles {span(list(found.layers))} have {len(found)})", 0,
                                 len(found) - 1)
        strength = checks.real(strength, "strength", -checks.MAX_EDIT_STRENGTH, checks.MAX_EDIT_STRENGTH)
        return code, found, direction, list(found.layers), strength

    def edited_ws(self, code: Code, found: Directions | LabelledDirections, direction: int | str,
                  strengths: list[float], layers: list[int] | None = None) -> torch.Tensor:
        """ws (len(strengths), num_ws, w_dim): the face's w plus strength x the direction in
        ``layers`` (default: ``found.layers`` for SeFa's, all styles for labelled ones), the other
        styles the face's own (strength 0: the face, bit for bit)."""
        w = self.ws([code])[0]  # (num_ws, w_dim)
        if layers is None:
            layers = list(found.layers) if isinstance(found, Directions) else list(range(self.num_ws))
        mask = torch.zeros(self.num_ws, 1, dtype=torch.bool, device=w.device)
        mask[list(layers)] = True
        row = found.index(direction) if isinstance(found, LabelledDirections) else direction
        step = found.vectors[row].to(w.device)
        moved = [torch.where(mask, w + s * step, w) for s in strengths]  # (num_ws, w_dim) each
        return torch.stack(moved)

    def edit(self, face: int | str, direction: int | str = 0, layers=None, strength: float = 3.0, psi: float = 1.0,
             cutoff: int | None = None, noise: str = "const", noise_seed: int = 0, *,
             render: Rendering | None = None) -> Edit:
        """``face`` (a seed or a code) moved by ``strength`` (|strength| <= checks.MAX_EDIT_STRENGTH)
        along a unit direction in W, in the styles ``layers`` only, then drawn with the rendering as
        ``face`` draws. ``direction``: a SeFa direction of those styles (a number, 0: the strongest;
        ``layers`` default "coarse") or a labelled direction's name ("hair: blue"; default all styles)."""
        code, found, direction, chosen, strength = self._check_edit(face, direction, layers, strength)
        r = self.rendering(psi, cutoff, noise, noise_seed, render)  # checked once, before any work
        ws = self.edited_ws(code, found, direction, [strength], chosen)
        picture = img_lib.to_pil(self.draw(ws, render=r))[0]
        if isinstance(found, LabelledDirections):
            return Edit(picture, code.text, chosen, direction, strength, len(found), None, None,
                        float(found.accuracy[found.index(direction)]))
        return Edit(picture, code.text, chosen, direction, strength, len(found),
                    float(found.eigenvalues[direction]), found.share(direction))

    def edit_strip(self, face: int | str, direction: int | str = 0, layers=None, strength: float = 3.0,
                   steps: int = 7, psi: float = 1.0, cutoff: int | None = None, noise: str = "const",
                   noise_seed: int = 0, *, render: Rendering | None = None) -> EditStrip:
        """The face at ``steps`` strengths evenly from -|strength| to +|strength| (the middle one,
        for an odd count, 0: the face itself); each picture is what ``edit`` draws at its strength."""
        code, found, direction, chosen, strength = self._check_edit(face, direction, layers, strength)
        steps = checks.whole(steps, "strip steps", 2, checks.MAX_STRIP_STEPS)
        r = self.rendering(psi, cutoff, noise, noise_seed, render)  # checked once, before any work
        s = abs(strength)
        strengths = [s * (2 * i - (steps - 1)) / (steps - 1) for i in range(steps)]  # -s, 0 (odd steps), s exactly
        ws = self.edited_ws(code, found, direction, strengths, chosen)
        # one by one, as edit draws: a face drawn in a batch may differ in the last bit
        pics = [img_lib.to_pil(self.draw(ws[i:i + 1], render=r))[0] for i in range(steps)]
        return EditStrip(code.text, chosen, direction, strengths, pics)

    # -- interpolation --------------------------------------------------------------

    @staticmethod
    def frame_count(points: int, frames: int, loop: bool) -> int:
        """Frames of a walk through ``points`` faces, ``frames`` per face (``latent.path``)."""
        return points * frames if loop else (points - 1) * frames + 1

    def interpolation_frames(self, faces, frames: int = 24, mode: str = "lerp-w", loop: bool = False,
                             side_by_side: int = 1, size: int = 128, psi: float = 1.0, cutoff: int | None = None,
                             noise: str = "const", noise_seed: int = 0, *,
                             render: Rendering | None = None) -> np.ndarray:
        """(T, size, side_by_side * size, 3) uint8: the faces' walk, ``frames`` frames from each face
        to the next (and back to the first with ``loop``). With ``side_by_side`` k the list is read k
        faces at a time: the first k faces are the first key frame, the next k the second, ..."""
        side = checks.whole(side_by_side, "side by side", 1, checks.MAX_SIDE_BY_SIDE)
        codes = self.faces(_items(faces), "faces", checks.MAX_MORPH_FACES, at_least=2 * side,
                           why=f"; at least 2 for each of the {side} walking side by side" if side > 1 else "")
        if len(codes) % side:
            raise InputError(f"{len(codes)} faces do not make key frames of {side} side by side: give a multiple "
                             f"of {side}")
        frames = checks.whole(frames, "frames per face", 2, checks.MAX_FRAMES)
        size = checks.whole(size, "size", 16, checks.MAX_DISPLAY)
        if mode not in MODES:
            raise InputError(f"interpolation is {' or '.join(MODES)}, not {quote(mode)}")
        r = self.rendering(psi, cutoff, noise, noise_seed, render)  # checked once, before any work
        points = len(codes) // side
        t = self.frame_count(points, frames, bool(loop))
        if t > checks.MAX_ANIMATION_FRAMES or t * side > checks.MAX_ANIMATION_FACES:
            raise InputError(f"{points} faces x {frames} frames{f' x {side} side by side' if side > 1 else ''} is "
                             f"{t} frames of {side * t} faces: at most {checks.MAX_ANIMATION_FRAMES} frames and "
                             f"{checks.MAX_ANIMATION_FACES} faces; fewer frames per face")
        if mode == "slerp-z" and any(c.space != "z" for c in codes):
            raise InputError("slerp in Z needs faces with a z (seeds or z codes): a projected face (a w: or wp: "
                             "code) is a point in W and has none; use lerp-w")
        if mode == "slerp-z" and any(c.steps for c in codes):
            raise InputError("slerp in Z needs faces without variation steps (a variation is a point in W): "
                             "use lerp-w")
        columns = [codes[j::side] for j in range(side)]  # face i walks in column i % side
        with torch.inference_mode():
            if mode == "lerp-w":  # elementwise: the styles flattened walk as each style would
                paths = [latent.path(self.ws(col).cpu().flatten(1), frames, "lerp", bool(loop)) for col in columns]
            else:
                paths = [self._broadcast(self._map(latent.path(self._z(col), frames, "slerp", bool(loop)))).flatten(1)
                         for col in columns]
        ws = torch.stack(paths, 1).flatten(0, 1).view(-1, self.num_ws, self.w_dim)  # (T * side, ...), frame by frame
        x = img_lib.to_uint8(self.draw(ws, render=r))
        x = img_lib.upscale(x, size).reshape(t, side, size, size, 3)
        return np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4).reshape(t, size, side * size, 3))

    def interpolate(self, faces, frames: int = 24, mode: str = "lerp-w", loop: bool = False, side_by_side: int = 1,
                    fps: int = 20, size: int = 128, psi: float = 1.0, cutoff: int | None = None,
                    noise: str = "const", noise_seed: int = 0,
                    out_dir: str | os.PathLike | None = None, *,
                    render: Rendering | None = None) -> tuple[Path, Path]:
        """A GIF and an MP4 of ``interpolation_frames``; returns their paths."""
        fps = checks.whole(fps, "fps", 1, checks.MAX_FPS)
        r = self.rendering(psi, cutoff, noise, noise_seed, render)
        video = self.interpolation_frames(faces, frames, mode, loop, side_by_side, size, render=r)
        out = Path(out_dir or ".")
        out.mkdir(parents=True, exist_ok=True)
        stem = f"stylegan-{mode}-{len(_items(faces))}-faces"
        return img_lib.save_gif(video, out / f"{stem}.gif", fps), img_lib.save_mp4(video, out / f"{stem}.mp4", fps)

    # -- variations -----------------------------------------------------------------

    def variations(self, face: int | str, count: int = 8, step: float = 0.3, seed: int = 0, psi: float = 1.0,
                   cutoff: int | None = None, noise: str = "const", noise_seed: int = 0, *,
                   render: Rendering | None = None) -> list[Face]:
        """``count`` faces around ``face``, each with the code that reproduces it (``face``'s code
        + ``+<seed>:<index>:<step>``)."""
        code = self.parse(face)
        count = checks.whole(count, "variations", 1, checks.MAX_VARIATIONS)
        step = checks.real(step, "step", 0, checks.MAX_STEP)
        seed = checks.whole(seed, "seed of the variations", 0, checks.MAX_SEED)
        if len(code.steps) >= checks.MAX_VARIATION_STEPS:
            raise InputError(f"this face is already {len(code.steps)} variation steps from its seed's face, the most "
                             "a code holds")
        r = self.rendering(psi, cutoff, noise, noise_seed, render)  # checked once, before any work
        codes = [Code(code.hex, (*code.steps, (seed, i, step)), code.space) for i in range(count)]
        pics = img_lib.to_pil(self.draw(self.ws(codes), render=r))
        return [Face(p, c.text) for p, c in zip(pics, codes)]

    # -- your own picture -------------------------------------------------------------

    def project(self, picture: Image.Image, steps: int = 200, space: str = "w", crop: str = "auto", face: int = 0,
                seed: int = 0, progress=None, **options):
        """``facegan.project.project`` of a picture with this studio's model; the projection's
        ``picture`` is then what this studio draws for its code (``face(code)``, in this studio's
        dtype), so the code reproduces what is shown. Returns a ``facegan.project.Projection``."""
        from facegan.project import project

        p = project(self.model, picture, steps, space, crop, face, seed, progress=progress, **options)
        if p.code is not None:
            p.picture = self.face(p.code).picture
        return p


def _items(faces) -> list:
    """A text of faces (commas, spaces, new lines) or a list -> a list, unchecked."""
    if isinstance(faces, str):
        return checks.text(faces, "faces", MAX_LIST_CHARS).replace(",", " ").split()
    if isinstance(faces, (int, float)) and not isinstance(faces, bool):
        return [faces]
    return list(faces) if isinstance(faces, (list, tuple)) else faces
