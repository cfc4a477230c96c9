"""StarGAN (Choi et al. 2018): one generator translates a face to any domain of its label
groups (hair colour, eye colour, expression), as the official code (yunjey/stargan) builds
and trains it; the expression-editing idea of seed article 000.

Same names as every technique module: ``Config``, ``Generator``, ``Discriminator``, ``Model``
(what a checkpoint holds) and ``TrainStep`` (one optimisation step). The layers keep the
official attribute names (``main``, ``conv1``, ``conv2``) so an official checkpoint maps onto
them by adding the ``generator.`` / ``discriminator.`` prefix.

Labels: ``Config.labels`` is a ``facegan.labels.LabelSpec``; its label vector (the target
domain, tiled over the image) is G's condition, and D's second head classifies the domain.
Several data sets train one model through the mask vector (paper Sec. 3.2): each image
trains only the classifier outputs of its own data set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facegan import data as data_lib
from facegan import distributed
from facegan.labels import CATEGORICAL, LabelSpec, anime_labels
from facegan.losses import gradient_penalty
from facegan.models import Technique
from facegan.models.config_checks import BETA, LR, MAX_SIZE, MAX_WIDTH, WEIGHT, check_fields, refuse

MIN_SIZE = 8  # G halves the image twice; the converter's smallest


def default_labels() -> LabelSpec:
    """The shared anime-faces-64 set: 12 hair colours and 10 eye colours."""
    return LabelSpec.of(anime_labels())


@dataclass
class Config:
    image_size: int = 64
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6  # residual blocks in G's bottleneck
    # stride-2 convs in D. The official 6 at 128 px leaves a 2x2 map (PatchGAN outputs, and a
    # 2x2 classifier kernel); at 64 px 6 would leave 1x1 (no patches, 2048 channels), so 5
    # keeps the official geometry: image_size / 2**d_repeat_num = 2.
    d_repeat_num: int = 5
    labels: LabelSpec = field(default_factory=default_labels)  # a LabelSpec or its to_dict() form
    # G's up-sampling: "transposed" (the official 4x4 stride-2 ConvTranspose2d, whose uneven overlap
    # can paint a 2-pixel checkerboard) or "resize" (nearest x2, then a 3x3 conv: Odena et al. 2016)
    upsample: str = "transposed"
    # G's output: "image" (the official: the picture G draws) or "mask" (GANimation's attention,
    # Pumarola et al. 2018: G also draws a mask A in [0, 1], and the edit is A * drawn + (1 - A) *
    # input, so what the edit leaves alone keeps the input's own pixels: its detail and identity)
    output: str = "image"
    lambda_mask: float = 0.05  # "mask": weight of mean(A), so that G paints only what the edit needs
    # training (the official defaults, kept with the model so a checkpoint says how it was made)
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    n_critic: int = 5  # D steps per G step
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay: bool = True  # linear lr decay to 0 over the second half of training (the paper's)

    def __post_init__(self):
        check_fields(self,
                     ints={"image_size": (MIN_SIZE, MAX_SIZE), "g_conv_dim": (1, MAX_WIDTH), "d_conv_dim": (1, MAX_WIDTH),
                           "g_repeat_num": (0, 12), "d_repeat_num": (1, 12), "n_critic": (1, 100)},
                     floats={"lambda_cls": WEIGHT, "lambda_rec": WEIGHT, "lambda_gp": WEIGHT, "g_lr": LR, "d_lr": LR,
                             "beta1": BETA, "beta2": BETA, "lambda_mask": WEIGHT},
                     choices={"upsample": UPSAMPLING, "output": OUTPUTS})
        if self.image_size % 4:  # G: two stride-2 convs down, two transposed convs back
            raise refuse("image_size", f"a multiple of 4 between {MIN_SIZE} and {MAX_SIZE}", self.image_size)
        if self.image_size % 2 ** self.d_repeat_num:  # D's classifier kernel is image_size // 2**d_repeat_num
            raise refuse("image_size", f"a multiple of 2**d_repeat_num = {2 ** self.d_repeat_num} (D halves it "
                         f"{self.d_repeat_num} times)", self.image_size)
        if isinstance(self.labels, Mapping):  # from config.json / run.json
            self.labels = LabelSpec.from_dict(self.labels)
        if not isinstance(self.labels, LabelSpec):
            raise TypeError(f"labels is a LabelSpec or its dict form, not {type(self.labels).__name__}")


# ----------------------------------------------------------------------------- layers


class InstanceNorm(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d(affine=True, track_running_stats=True)``, the official layer (same
    tensors: weight, bias, running_mean, running_var, num_batches_tracked), except that in eval
    mode it still normalises each image by its own statistics and leaves the running ones alone.

    The official test script never calls ``G.eval()``, so its results come from per-image
    statistics; PyTorch's eval mode would use the running averages instead (washed-out images).
    The running statistics are still tracked in training, so checkpoints match the official."""

    def __init__(self, channels: int):
        super().__init__(channels, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        return F.instance_norm(x, None, None, self.weight, self.bias, use_input_stats=True, eps=self.eps)


class ResidualBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), InstanceNorm(dim), nn.ReLU(inplace=True),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), InstanceNorm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


UPSAMPLING = ("transposed", "resize")
OUTPUTS = ("image", "mask")


def _up(cin: int, cout: int, how: str) -> list[nn.Module]:
    """Twice the size: the official transposed conv, or nearest-neighbour enlargement and a 3x3 conv."""
    if how == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False)]
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]


# The taps each output phase of a 4x4 stride-2 transposed conv (padding 1) gives its two input
# pixels, written as sums of a 3x3 kernel applied after nearest x2 enlargement: row k of
# _PHASES is transposed tap k; taps 1, 3 make the even outputs, 0, 2 the odd ones (derived in
# resize_kernel's docstring).
_PHASES = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def resize_kernel(weight: torch.Tensor) -> torch.Tensor:
    """The 3x3 conv weight (out, in, 3, 3) that, after nearest x2 enlargement, comes nearest to a
    transposed conv's 4x4 stride-2 padding-1 weight (in, out, 4, 4), in least squares over its taps.

    Along one axis the transposed conv makes output 2j from x[j] (tap 1) and x[j-1] (tap 3), and
    output 2j+1 from x[j] (tap 2) and x[j+1] (tap 0). Enlargement then a 3x3 correlation w makes
    2j from x[j-1] (w0) and x[j] (w1 + w2), 2j+1 from x[j] (w0 + w1) and x[j+1] (w2): taps
    (t0, t1, t2, t3) = _PHASES @ w. Four taps, three weights: a kernel whose phases disagree (the
    checkerboard) has no exact match, and its least-squares one is taken, per axis (the 2-D map is
    the product of the two). Used to continue a transposed model as a resize one (``init_state``)."""
    if weight.ndim != 4 or weight.shape[2:] != (4, 4):
        raise ValueError(f"a 4x4 transposed conv weight (in, out, 4, 4), not {tuple(weight.shape)}")
    inverse = torch.linalg.pinv(_PHASES.double())  # (3, 4)
    return torch.einsum("ak,bl,iokl->oiab", inverse, inverse, weight.double()).to(weight.dtype).contiguous()


class Generator(nn.Module):
    """(image (N, 3, S, S) in [-1, 1], target label vector (N, c_dim)) -> (N, 3, S, S) in [-1, 1].

    ``output="mask"`` adds ``attention``, a 7x7 conv beside the last one on the same features, whose
    sigmoid is the share of each pixel G paints (``forward(..., with_attention=True)`` returns it)."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, not {cfg.image_size}")
        d = cfg.g_conv_dim
        layers: list[nn.Module] = [nn.Conv2d(3 + cfg.labels.dim, d, 7, 1, 3, bias=False), InstanceNorm(d),
                                   nn.ReLU(inplace=True)]
        for _ in range(2):  # down-sampling
            layers += [nn.Conv2d(d, d * 2, 4, 2, 1, bias=False), InstanceNorm(d * 2), nn.ReLU(inplace=True)]
            d *= 2
        layers += [ResidualBlock(d) for _ in range(cfg.g_repeat_num)]  # bottleneck
        for _ in range(2):  # up-sampling
            layers += [*_up(d, d // 2, cfg.upsample), InstanceNorm(d // 2), nn.ReLU(inplace=True)]
            d //= 2
        layers += [nn.Conv2d(d, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.attention = nn.Conv2d(d, 1, 7, 1, 3) if cfg.output == "mask" else None

    def forward(self, x: torch.Tensor, c: torch.Tensor, with_attention: bool = False):
        # The target domain, replicated spatially and concatenated to the image (paper Fig. 3).
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        h = torch.cat([x, c], dim=1)
        if self.attention is None:
            out, a = self.main(h), None
        else:
            h = self.main[:-2](h)
            a = torch.sigmoid(self.attention(h))
            out = a * self.main[-2:](h) + (1 - a) * x
        return (out, a) if with_attention else out


class Discriminator(nn.Module):
    """PatchGAN: (N, 3, S, S) -> (real/fake scores (N, 1, S/2^r, S/2^r), domain logits (N, n_cls))."""

    def __init__(self, cfg: Config):
        super().__init__()
        r = cfg.d_repeat_num
        if r < 1 or cfg.image_size % 2 ** r:
            raise ValueError(f"image_size {cfg.image_size} must be a multiple of 2**d_repeat_num = {2 ** r}")
        d = cfg.d_conv_dim
        layers: list[nn.Module] = [nn.Conv2d(3, d, 4, 2, 1), nn.LeakyReLU(0.01)]
        for _ in range(1, r):
            layers += [nn.Conv2d(d, d * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            d *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(d, 1, 3, 1, 1, bias=False)  # D_src
        self.conv2 = nn.Conv2d(d, cfg.labels.n_cls, cfg.image_size // 2 ** r, bias=False)  # D_cls

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


# ----------------------------------------------------------------------------- losses


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, spec: LabelSpec) -> torch.Tensor:
    """Domain classification loss of D's logits (N, n_cls) against label vectors (N, dim).

    Per image: cross-entropy for each categorical group plus BCE-with-logits summed over each
    binary group's attributes (the official ``classification_loss``: CE for RaFD, summed BCE / N
    for CelebA), over the groups of the image's own data set only (the mask vector); then the
    mean over the batch. Logits of the other data sets get no gradient."""
    dataset = spec.dataset_of(labels)
    total = logits.new_zeros(logits.shape[0], dtype=torch.float)
    for k, group, sl in spec.groups():
        z, t = logits[:, sl].float(), labels[:, sl].float()
        if group.kind == CATEGORICAL:
            per = F.cross_entropy(z, t.argmax(1), reduction="none")
        else:
            per = F.binary_cross_entropy_with_logits(z, t, reduction="none").sum(1)
        total = total + (torch.where(dataset == k, per, 0.0) if spec.n_datasets > 1 else per)
    return total.mean()


def permute_within_datasets(dataset: torch.Tensor) -> torch.Tensor:
    """A random permutation (N,) of a batch that maps every image to one of the same data set:
    the official random target labels (``label_org[randperm(N)]``), which a batch of one data
    set (the official, and ``LabelledBatches``) reduces to."""
    key = dataset.float() * 2 + torch.rand(dataset.shape, device=dataset.device)
    perm = torch.empty_like(dataset)
    perm[dataset.argsort(stable=True)] = key.argsort()
    return perm


def init_state(source: "Model", target: "Model") -> dict[str, torch.Tensor]:
    """The weights ``--init`` gives a run: the source's, and when the run changes G's up-sampling
    from "transposed" to "resize", its layers carried over one for one with each transposed conv
    made the nearest resize conv (``resize_kernel``), so training continues from the trained
    model instead of a fresh G. The other way round (resize to transposed) is refused. A model
    that draws the image continued as a "mask" one gets an attention that paints
    ``sigmoid(ATTENTION_START)`` (95 %) everywhere: at first nearly the source's own edits."""
    src, dst = source.config.upsample, target.config.upsample
    if (src, dst) not in (("transposed", "resize"), (src, src)):
        raise ValueError(f"--init: a model with {src!r} up-sampling cannot start a {dst!r} one")
    if source.config.output == "mask" and target.config.output != "mask":
        raise ValueError("--init: a model with an attention mask cannot start one without (leave out \"output\")")
    state = source.state_dict()
    if src != dst:
        state = {k: v for k, v in state.items() if not k.startswith("generator.main.")}
        pairs = zip([m for m in source.generator.main if not isinstance(m, nn.Upsample)],
                    [(i, m) for i, m in enumerate(target.generator.main) if not isinstance(m, nn.Upsample)])
        for a, (i, b) in pairs:
            for name, tensor in a.state_dict().items():
                state[f"generator.main.{i}.{name}"] = resize_kernel(tensor) if isinstance(a, nn.ConvTranspose2d) else tensor
    if target.config.output == "mask" and source.config.output != "mask":
        conv = target.generator.attention
        state["generator.attention.weight"] = torch.zeros_like(conv.weight)
        state["generator.attention.bias"] = torch.full_like(conv.bias, ATTENTION_START)
    if source.labels != target.labels:
        state = _carry_labels(state, source.labels, target)
    return state


def label_entries(source: LabelSpec, target: LabelSpec) -> tuple[list[int], list[int]]:
    """Where each entry of ``source``'s label vectors is in ``target``'s: (source indices, target
    indices), matched by data set, group and value names, the mask entries by data set name. The
    first ``n_cls`` entries are also D's classifier outputs. ValueError unless the target has every
    label of the source (a run may add data sets, groups or values, not drop them)."""
    where = {(d.name, g.name, v): sl.start + i for k, g, sl in target.groups()
             for d in [target.datasets[k]] for i, v in enumerate(g.values)}
    src, dst, lost = [], [], []
    for k, g, sl in source.groups():
        for i, v in enumerate(g.values):
            key = (source.datasets[k].name, g.name, v)
            if key in where:
                src.append(sl.start + i)
                dst.append(where[key])
            else:
                lost.append("/".join(key))
    if lost:
        raise ValueError(f"--init: this run's labels leave out {len(lost)} of the model's ({', '.join(lost[:4])}"
                         f"{', ...' if len(lost) > 4 else ''}); train on data with every label the model knows")
    if source.mask_slice is not None and target.mask_slice is not None:
        names = [d.name for d in target.datasets]
        for k, d in enumerate(source.datasets):
            src.append(source.n_cls + k)
            dst.append(target.n_cls + names.index(d.name))
    return src, dst


def _carry_labels(state: dict[str, torch.Tensor], source: LabelSpec, target: "Model") -> dict[str, torch.Tensor]:
    """A model continued on more labels (``--data anime:fer`` from an anime model): G's first conv
    keeps its image and known-label weights and gets zeros for the new label entries (so every edit
    the source made it still makes, and the new labels start from nothing), D's classifier keeps
    the rows of the known labels and gets freshly initialised ones for the new."""
    src, dst = label_entries(source, target.labels)
    state = dict(state)
    g_key, d_key = "generator.main.0.weight", "discriminator.conv2.weight"
    old = state[g_key]
    w = torch.zeros_like(target.generator.main[0].weight, dtype=old.dtype)
    w[:, :3] = old[:, :3]
    w[:, [3 + i for i in dst]] = old[:, [3 + i for i in src]]
    state[g_key] = w
    n = source.n_cls  # the group entries are D's rows; the mask has none
    rows = [(a, b) for a, b in zip(src, dst) if a < n]
    d = target.discriminator.conv2.weight.detach().clone().to(state[d_key].dtype)
    d[[b for _, b in rows]] = state[d_key][[a for a, _ in rows]]
    state[d_key] = d
    return state


ATTENTION_START = 3.0  # the attention logit a continued "image" model starts with (sigmoid: 0.953)


# ----------------------------------------------------------------------------- the model


class Model(nn.Module):
    """What a StarGAN checkpoint holds: G, and D (whose classifier also reads a picture's labels)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.config = cfg
        self.generator = Generator(cfg)
        self.discriminator = Discriminator(cfg)

    @property
    def labels(self) -> LabelSpec:
        return self.config.labels

    def _vectors(self, labels, n: int, device) -> torch.Tensor:
        if isinstance(labels, Mapping):
            labels = self.labels.encode(labels)
        labels = torch.as_tensor(labels, dtype=torch.float, device=device)
        if labels.shape[-1] != self.labels.dim:
            raise ValueError(f"label vectors of this model have {self.labels.dim} entries, not {labels.shape[-1]}")
        return labels.expand(n, -1) if labels.ndim == 1 else labels

    @torch.no_grad()
    def edit(self, x: torch.Tensor, labels: torch.Tensor | Mapping, with_attention: bool = False):
        """Translate (N, 3, S, S) in [-1, 1] to target labels: vectors (N, dim) or (dim,) from
        ``labels.encode``, or a mapping such as ``{"hair": "pink", "eyes": "blue"}``.
        ``with_attention``: (edits, the share of each pixel G painted (N, 1, S, S), None for an
        ``output="image"`` model).

        Instance norms use each image's own statistics (as the official test script, which
        never calls eval()), and the running statistics are not touched."""
        c = self._vectors(labels, x.shape[0], x.device)
        was = self.generator.training
        self.generator.eval()
        try:
            return self.generator(x, c, with_attention=with_attention)
        finally:
            self.generator.train(was)

    @torch.no_grad()
    def classify(self, x: torch.Tensor, dataset: str | int | None = None) -> torch.Tensor:
        """D's reading of pictures (N, 3, S, S) as label vectors (N, dim) of ``dataset`` (default:
        the only or first one): the most likely value of each categorical group, the attributes
        with a positive logit in each binary group."""
        k = 0 if dataset is None else self.labels.dataset_index(dataset)
        logits = self.discriminator(x)[1].float()
        out = torch.zeros(x.shape[0], self.labels.dim, device=x.device)
        for _, group, sl in self.labels.groups(k):
            z = logits[:, sl]
            out[:, sl] = F.one_hot(z.argmax(1), len(group)).float() if group.kind == CATEGORICAL else (z > 0).float()
        if self.labels.mask_slice is not None:
            out[:, self.labels.mask_slice.start + k] = 1
        return out

    @torch.no_grad()
    def grid(self, x: torch.Tensor, group: str, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Each domain of ``group`` for each picture: (N, 3, S, S) -> (N, K, 3, S, S), K the
        group's values in order (a binary group: each attribute reversed, as the official grids).

        The other groups keep ``labels`` (N, dim), by default D's reading of the pictures; a
        picture of another data set takes the group's data set (the rest of it from D)."""
        k, g, _ = self.labels.group(group)
        fill = self.classify(x, k)
        labels = fill if labels is None else self._vectors(labels, x.shape[0], x.device)
        return torch.stack([self.edit(x, self.labels.with_value(labels, group, v, fill=fill)) for v in g.values], 1)

    def preview_inputs(self, data: data_lib.LabelledSet, n: int, generator: torch.Generator
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Up to 8 fixed training images (shared among the data sets) with their label vectors."""
        k = min(n, 8)
        per = max(1, k // data.spec.n_datasets)
        idx = []
        for d in range(data.spec.n_datasets):
            mine = (data.dataset == d).nonzero().flatten()
            idx.append(mine[torch.randperm(len(mine), generator=generator)[:per]])
        idx = torch.cat(idx)
        return data.images[idx].float().div(127.5).sub(1), data.labels[idx].float()

    @torch.no_grad()
    def preview(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """One row per input: the input, then each domain of each data set's first group (the
        official sample grids: CelebA's domains, then RaFD's)."""
        x, labels = inputs
        cols = [x]
        for d in range(self.labels.n_datasets):
            _, first, _ = self.labels.groups(d)[0]
            cols += self.grid(x, first.name, labels).unbind(1)
        return torch.stack(cols, 1).flatten(0, 1), len(cols)


# ----------------------------------------------------------------------------- data and training


def _paths(path) -> list[str]:
    """One folder, or several joined by os.pathsep (one per data set of the label spec)."""
    return [p for p in str(path).split(os.pathsep) if p]


def check_data(path) -> int:
    """Cheap check of a labelled folder (tags.csv or class folders), or of several joined by
    os.pathsep: the smallest one's image count, or DataError."""
    return min(data_lib.check_labelled(p) for p in _paths(path))


def data_config(path, given: Mapping | None = None) -> dict:
    """Config fields read from the data, for a run whose config does not give them: the labels
    of each folder (a tags.csv's colours, class-folder names), so ``--data anime:fer`` trains
    the mixed model without spelling out its label spec. Two class-folder sets are told apart
    by their folder names."""
    found, names = [], set()
    for p in _paths(path):
        d = data_lib.labels_of(p)
        if d.name in names:
            d = data_lib.labels_of(p, name=Path(p).name)
        names.add(d.name)
        found.append(d)
    return {"labels": LabelSpec.of(*found)}


def load_data(path, cfg: Config, limit: int | None = None) -> data_lib.LabelledSet:
    """A labelled folder per data set of ``cfg.labels`` (several joined by os.pathsep, mixed with
    the mask vector), each read with that data set's groups, at ``cfg.image_size``."""
    paths = _paths(path)
    spec = cfg.labels
    if len(paths) != spec.n_datasets:
        raise data_lib.DataError(f"the model's labels name {spec.n_datasets} data set(s) "
                                 f"({', '.join(d.name for d in spec.datasets)}), but {len(paths)} folder(s) were given")
    sets = [data_lib.load_labelled_set(p, cfg.image_size, d, limit) for p, d in zip(paths, spec.datasets)]
    return sets[0] if len(sets) == 1 else data_lib.mix_labelled(*sets, size=cfg.image_size)


def batches(data: data_lib.LabelledSet, train_cfg, cfg: Config, device) -> data_lib.LabelledBatches:
    if not isinstance(data, data_lib.LabelledSet):
        raise data_lib.DataError(f"StarGAN trains on a labelled set (facegan.data.LabelledSet), not {type(data).__name__}")
    if data.spec != cfg.labels:
        raise data_lib.DataError(f"the data's labels {data.spec.to_dict()} differ from the model's {cfg.labels.to_dict()}")
    if data.images.shape[-1] != cfg.image_size:
        raise data_lib.DataError(f"the data's images are {data.images.shape[-1]} px, the model's {cfg.image_size} px")
    return data_lib.LabelledBatches(data, train_cfg.batch_size, train_cfg.seed, device, train_cfg.flip)


G_LOSSES = ("loss_g_fake", "loss_g_cls", "loss_g_rec")


class TrainStep:
    """The official step: D (WGAN-GP adversarial, domain classification of real images, one
    update), and every ``n_critic``-th step G (adversarial, classification of the fakes as
    their target domains, reconstruction L1 back to the original labels).

    Which steps update G is a function of the step number (the Trainer's ``schedule`` call, else
    a counter kept in the state), so a resumed run does the same. With two data sets the steps
    alternate between them and an official iteration is two steps: G is updated on both.
    """

    def __init__(self, model: Model, cfg: Config):
        self.model, self.cfg = model, cfg
        self.opt_g = torch.optim.Adam(model.generator.parameters(), cfg.g_lr, (cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(model.discriminator.parameters(), cfg.d_lr, (cfg.beta1, cfg.beta2))
        self.G, self.D = distributed.wrap(model.generator), distributed.wrap(model.discriminator)
        self.step = 0
        self.latest_g: dict[str, torch.Tensor] = {}  # reported on D-only steps (zeros before G's first step)

    def schedule(self, step: int, total: int) -> None:
        """Remember the step; the paper's linear decay: constant lr for the first half, then to 0.
        (The official code's decay subtracts lr / num_iters_decay every 1000 iterations, so it ends
        at 0.999 lr: the paper's is kept.)"""
        self.step = step
        half = total // 2
        scale = 1.0
        if self.cfg.decay and step >= half > 0:
            scale = max(0.0, 1 - (step - half) / max(1, total - half))
        for opt, lr in ((self.opt_g, self.cfg.g_lr), (self.opt_d, self.cfg.d_lr)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    def g_step_due(self, step: int) -> bool:
        """The official ``(i + 1) % n_critic == 0``, i the iteration (one step per data set)."""
        return (step // self.cfg.labels.n_datasets + 1) % self.cfg.n_critic == 0

    def __call__(self, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor], autocast) -> dict[str, torch.Tensor]:
        """``batch`` = (images (B, 3, S, S) in [-1, 1], label vectors (B, dim), data set (B,) or absent)."""
        x_real, c_org = batch[0], batch[1].float()
        G, D, cfg, spec = self.G, self.D, self.cfg, self.cfg.labels
        # Random target domains: the (global) batch's own labels, shuffled (within each data set).
        c_all = distributed.gather(c_org)
        c_trg = distributed.shard(c_all[permute_within_datasets(spec.dataset_of(c_all))])

        g_due = self.g_step_due(self.step)
        with autocast():
            out_src, out_cls = D(x_real)
            d_loss_real = -out_src.float().mean()
            d_loss_cls = classification_loss(out_cls, c_org, spec)
            # On a step with G's update, the edits D judges are the ones G's step trains (G does not
            # change in between): one pass of G for both, where the official code runs it twice.
            with torch.set_grad_enabled(g_due):
                x_fake, a_fake = G(x_real, c_trg, with_attention=True)
            d_loss_fake = D(x_fake.detach())[0].float().mean()
            alpha = distributed.rand(x_real.shape[0], 1, 1, 1, device=x_real.device)
            x_hat = (alpha * x_real + (1 - alpha) * x_fake.detach()).requires_grad_(True)
            d_loss_gp = gradient_penalty(D(x_hat)[0], x_hat)
            d_loss = d_loss_real + d_loss_fake + cfg.lambda_cls * d_loss_cls + cfg.lambda_gp * d_loss_gp
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        losses = {"loss_d_real": d_loss_real.detach(), "loss_d_fake": d_loss_fake.detach(),
                  "loss_d_cls": d_loss_cls.detach(), "loss_gp": d_loss_gp.detach()}

        if g_due:
            self.model.discriminator.requires_grad_(False)
            with autocast():
                out_src, out_cls = D(x_fake)
                g_loss_fake = -out_src.float().mean()
                g_loss_cls = classification_loss(out_cls, c_trg, spec)
                x_rec, a_rec = G(x_fake, c_org, with_attention=True)
                g_loss_rec = (x_real - x_rec.float()).abs().mean()
                g_loss = g_loss_fake + cfg.lambda_rec * g_loss_rec + cfg.lambda_cls * g_loss_cls
                if a_fake is not None:  # "mask": paint no more than the edit needs (both passes, as GANimation)
                    g_loss_mask = (a_fake.float().mean() + a_rec.float().mean()) / 2
                    g_loss = g_loss + cfg.lambda_mask * g_loss_mask
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
            self.model.discriminator.requires_grad_(True)
            self.latest_g = {"loss_g_fake": g_loss_fake.detach(), "loss_g_cls": g_loss_cls.detach(),
                             "loss_g_rec": g_loss_rec.detach()}
            if a_fake is not None:
                self.latest_g["loss_g_mask"] = g_loss_mask.detach()
        elif not self.latest_g:
            self.latest_g = {k: torch.zeros((), device=x_real.device)
                             for k in G_LOSSES + (("loss_g_mask",) if cfg.output == "mask" else ())}
        self.step += 1
        return {**losses, **self.latest_g}

    def state_dict(self) -> dict:
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "step": self.step,
                "latest_g": dict(self.latest_g)}

    def load_state_dict(self, state: dict) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state.get("step", 0))
        self.latest_g = dict(state.get("latest_g", {}))


TECHNIQUE = Technique("stargan", Config, Model, TrainStep,
                      default_data="anime-faces-64",  # hair and eye colour groups
                      batch_size=16,  # the official
                      check_data=check_data, load_data=load_data, batches=batches,
                      data_fields=("labels",), data_config=data_config, init_state=init_state,
                      data_separator=os.pathsep)  # --data may name several folders, one per data set of the labels
