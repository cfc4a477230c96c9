"""Editing a user's picture with a StarGAN model (what the app's StarGAN tab and ``facegan edit`` call).

``Editor(model).grid(picture, "hair")`` crops the face (optional), resizes it to the model's
size and translates it to every value of one label group: the input plus one labelled picture
per domain, and one composed labelled grid to download. ``Editor(model).edit(picture,
{"hair": "blue", "eyes": "red"})`` gives one picture with those labels.

The groups a request does not name keep the picture's own labels as the model's
discriminator reads them (``Model.classify``), as ``Model.grid`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import torch
from PIL import Image, ImageDraw, ImageFont

from facegan import checks, faces, models
from facegan import images as img_lib
from facegan.labels import BINARY, CATEGORICAL, LabelError

CROPS = faces.CROPS
NO_FACE = "No face found: edited the centre of the whole picture (turn cropping off to skip detection)."
Framing = faces.Framing


@dataclass
class EditGrid:
    """Every domain of one group: pictures upscaled to ``display``, each with its caption."""

    group: str
    input: Image.Image
    pictures: list[tuple[Image.Image, str]]  # (picture, domain label), in the group's order
    grid: Image.Image  # the input and every domain, labelled, as one picture
    read: dict  # the input's labels as D reads them ({group: value or attributes on})
    faces: list[faces.Box] = field(default_factory=list)
    face: int | None = None
    notice: str = ""


@dataclass
class Edit:
    """One edit: the input and the result upscaled to ``display``, side by side, and the labels."""

    input: Image.Image
    output: Image.Image
    side_by_side: Image.Image  # input | result, labelled
    read: dict  # the input's labels as D reads them
    target: dict  # the labels the result was made with (the asked-for ones, the rest as read)
    faces: list[faces.Box] = field(default_factory=list)
    face: int | None = None
    notice: str = ""
    painted: float | None = None  # an attention-mask model's share of the picture it repainted


def parse_target(target: str | Mapping) -> dict:
    """Target labels from a mapping or its JSON text, ``'{"hair": "blue", "eyes": "red"}'``
    (checked against a model by ``Editor.check``); size and nesting bounded (facegan.checks)."""
    if isinstance(target, Mapping):
        return dict(target)
    if isinstance(target, str) and not target.strip():
        raise ValueError('target labels: give a JSON object such as {"hair": "blue", "eyes": "red"}')
    return checks.json_object(target, "target labels", '{"hair": "blue", "eyes": "red"}')


def describe(labels: Mapping) -> str:
    """``{"hair": "blue", "eyes": "red"}`` -> ``hair blue, eyes red`` (binary groups: the attributes on)."""
    parts = []
    for group, value in labels.items():
        if isinstance(value, str):
            parts.append(f"{group} {value}")
        else:
            parts.append(f"{group}: {', '.join(value) if value else 'none on'}")
    return ", ".join(parts)


class Editor:
    """Edit pictures with a StarGAN ``Model`` (``model.edit``, ``model.classify``, ``model.labels``)."""

    def __init__(self, model: torch.nn.Module, dtype: str | torch.dtype = "auto"):
        """``dtype``: "auto" runs the networks in bfloat16 autocast where the hardware computes it
        natively (2.2x faster grids on an AVX512-BF16 CPU; pictures within 3/255), else float32."""
        if not (hasattr(model, "edit") and hasattr(model, "classify") and hasattr(model, "labels")):
            raise ValueError(f"an Editor needs a StarGAN model, not {type(model).__module__}.{type(model).__name__}")
        self.model = model.eval()
        self.spec = model.labels
        self.size = model.config.image_size
        self.device = next(model.parameters()).device
        self.precision = models.checked_precision(dtype, self.device, self._probe)
        self.dtype = self.precision.dtype

    def _probe(self, dtype: torch.dtype) -> torch.Tensor:
        """A fixed picture edited to every value of the model's first label group, in ``dtype``, as ``edit_grid``."""
        k, g, _ = self.spec.groups()[0]
        x = models.probe_pictures(1, self.size).to(self.device)
        with models.autocast(self.device, dtype):
            return self.model.grid(x, g.name, self.model.classify(x, k).float())[0].float()

    # -- the label groups ---------------------------------------------------------

    @property
    def groups(self) -> list[str]:
        return [g.name for _, g, _ in self.spec.groups()]

    def values(self, group: str) -> tuple[str, ...]:
        return self.spec.group(group)[1].values

    def check(self, target: str | Mapping) -> tuple[dict, int]:
        """``target`` as a dict, checked (group names, values, one data set), and its data set's index."""
        target = parse_target(target)
        datasets = set()
        for name, value in target.items():
            if not isinstance(name, str):
                raise LabelError(f"label group names are strings, not {checks.quote(name)}")
            k, g, _ = self.spec.group(name)  # LabelError naming the groups there are
            datasets.add(k)
            if g.kind == CATEGORICAL:
                if not isinstance(value, str):
                    raise LabelError(f"{name} takes one value ({', '.join(g.values)}), not {checks.quote(value)}")
                g.index(value)
            elif isinstance(value, Mapping):
                for attr, on in value.items():
                    g.index(attr)
                    if not isinstance(on, bool):
                        raise LabelError(f"{name}: {checks.quote(attr)} is switched with true or false, not {checks.quote(on)}")
            else:
                on = [value] if isinstance(value, str) else value
                if not isinstance(on, list | tuple) or not all(isinstance(v, str) for v in on):
                    raise LabelError(f"{name} takes the attributes that are on (a name, a list of names, or "
                                     f'{{"name": true/false}}) from {", ".join(g.values)}; not {checks.quote(value)}')
                for v in on:
                    g.index(v)
        if len(datasets) > 1:
            names = ", ".join(self.spec.datasets[k].name for k in sorted(datasets))
            raise LabelError(f"{', '.join(target)} are groups of different data sets ({names}): edit the groups "
                             f"of one data set at a time")
        return target, datasets.pop() if datasets else 0

    def target(self, read: torch.Tensor, target: str | Mapping) -> torch.Tensor:
        """Label vectors (N, dim): ``read`` (D's reading, of the target's data set) with the groups
        of ``target`` set.

        A categorical group takes one value (``"blue"``). A binary group takes the attributes
        that are on (a name or a list: the others off), or ``{"Male": true, "Young": false}``
        (the attributes named switched, the others as read). Every group named must belong to
        one data set."""
        target, k = self.check(target)
        if target and bool((self.spec.dataset_of(read) != k).any()):
            raise LabelError(f"the labels read are not of data set {self.spec.datasets[k].name!r}, the target's")
        c = read.clone()
        for name, value in target.items():
            _, g, sl = self.spec.group(name)
            if g.kind == CATEGORICAL:
                c = self.spec.with_value(c, name, value)
            elif isinstance(value, Mapping):
                for attr, on in value.items():
                    c[:, sl.start + g.index(attr)] = float(on)
            else:
                c[:, sl] = 0
                for v in [value] if isinstance(value, str) else value:
                    c[:, sl.start + g.index(v)] = 1
        return c

    # -- framing ------------------------------------------------------------------

    def frame(self, picture: Image.Image, crop: str = "auto", face: int = 0) -> Framing:
        """The square model-size input: a face crop (anime detector for illustrations, photo for
        photos; ``auto``: anime, then photo), else the centre square of the whole picture."""
        return faces.frame(picture, self.size, crop, face, no_face=NO_FACE)

    def _tensor(self, square: Image.Image) -> torch.Tensor:
        return img_lib.from_pil([square]).to(self.device)

    def _show(self, x: torch.Tensor, display: int | None) -> list[Image.Image]:
        pics = img_lib.to_pil(x)
        if display and display != self.size:
            pics = [p.resize((display, display), Image.Resampling.LANCZOS) for p in pics]
        return pics

    # -- editing ------------------------------------------------------------------

    def _coloured(self, x: torch.Tensor, out: torch.Tensor, dataset: int) -> torch.Tensor:
        """An edit towards a greyscale data set's labels (``DatasetLabels.grey``: FER2013's
        expressions) changes the lightness only: the input keeps its colour (a grey input stays grey)."""
        if not self.spec.datasets[dataset].grey:
            return out
        return img_lib.keep_chroma(x.float().expand_as(out), out)

    @torch.no_grad()
    def grid(self, picture: Image.Image, group: str, crop: str = "auto", face: int = 0, display: int | None = 256,
             columns: int = 8, grid_size: int | None = None) -> EditGrid:
        """The input and one picture per value of ``group`` (a binary group: each attribute
        reversed, as the official grids), the other groups as D reads the input. Pictures at
        ``display`` px (None: the model's size), the labelled grid's at ``grid_size`` (default: the same)."""
        k, g, sl = self.spec.group(group)
        framed = self.frame(picture, crop, face)
        x = self._tensor(framed.square)
        with models.autocast(self.device, self.dtype):
            read = self.model.classify(x, k).float()
            outs = self._coloured(x, self.model.grid(x, group, read)[0].float(), k)  # (K, 3, S, S)
        if g.kind == BINARY:
            on = read[0, sl].tolist()
            captions = [f"{'-' if on[i] > 0.5 else '+'}{v}" for i, v in enumerate(g.values)]
        else:
            captions = list(g.values)
        shown = self._show(torch.cat([x, outs]), display)
        _, read_labels = self.spec.decode(read[0])
        big = shown if (grid_size or display) == display else self._show(torch.cat([x, outs]), grid_size)
        tiles = [(big[0], "input"), *zip(big[1:], captions)]
        return EditGrid(group, shown[0], list(zip(shown[1:], captions)), labelled_grid(tiles, columns), read_labels,
                        framed.faces, framed.face, framed.notice)

    @torch.no_grad()
    def edit(self, picture: Image.Image, target: str | Mapping, crop: str = "auto", face: int = 0,
             display: int | None = 256) -> Edit:
        """One picture with the ``target`` labels (``{"hair": "blue", "eyes": "red"}``); the groups not
        named keep the input's labels as D reads them."""
        target, dataset = self.check(target)  # before the (slower) face detection
        framed = self.frame(picture, crop, face)
        x = self._tensor(framed.square)
        with models.autocast(self.device, self.dtype):
            read = self.model.classify(x, dataset).float()
            c = self.target(read, target)
            out, attention = self.model.edit(x, c, with_attention=True)
            out = self._coloured(x, out.float(), dataset)
        shown = self._show(torch.cat([x, out]), display)
        _, read_labels = self.spec.decode(read[0])
        _, target_labels = self.spec.decode(c[0])
        side = labelled_grid([(shown[0], "input"), (shown[1], describe(target_labels))], 2)
        painted = None if attention is None else attention.float().mean().item()
        return Edit(shown[0], shown[1], side, read_labels, target_labels, framed.faces, framed.face, framed.notice,
                    painted)


# ----------------------------------------------------------------------------- labelled pictures


@cache
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def labelled_grid(tiles: list[tuple[Image.Image, str]], columns: int = 8, pad: int = 4) -> Image.Image:
    """Pictures of one size with a caption under each, ``columns`` to a row, on white."""
    if not tiles:
        raise ValueError("no pictures to lay out")
    w, h = tiles[0][0].size
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    font = _font(max(10, min(18, w // 9)))
    caption_h = round(font.size * 1.6) if hasattr(font, "size") else 16
    out = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + caption_h + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for i, (pic, text) in enumerate(tiles):
        r, col = divmod(i, columns)
        x0, y0 = pad + col * (w + pad), pad + r * (h + caption_h + pad)
        out.paste(pic.convert("RGB").resize((w, h)) if pic.size != (w, h) else pic.convert("RGB"), (x0, y0))
        while text and draw.textlength(text, font=font) > w and len(text) > 2:  # too long: shorten with an ellipsis
            text = text[:-2].rstrip() + "…"
        tw = draw.textlength(text, font=font)
        draw.text((x0 + (w - tw) / 2, y0 + h + caption_h * 0.2), text, fill=(20, 20, 20), font=font)
    return out
