"""StyleGAN2 checkpoints of the two PyTorch codes most models were trained with -> a facegan StyleGAN2;
genforce's StyleGAN (v1) checkpoints -> a facegan StyleGAN with StyleGAN v1's synthesis network.

The format is recognised from the file's contents (not its name):

- **rosinality/stylegan2-pytorch** ``.pt``: what its ``train.py`` saves,
  ``torch.save({"g", "d", "g_ema", "g_optim", "d_optim", "args", "ada_aug_p"})`` (``args`` an
  ``argparse.Namespace``), or its ``convert_weight.py``'s ``{"g_ema", "latent_avg"}`` (+ ``"d"``
  with ``--disc``). Read with ``torch.load(weights_only=True)``, ``argparse.Namespace`` the one
  class allowed beside tensors and containers (it holds the training options, as data).
- **NVlabs/stylegan2-ada-pytorch** network pickles (``network-snapshot-*.pkl``:
  ``{"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}``). Each network is a
  ``torch_utils.persistence`` object whose pickle carries the Python source of its class, run on
  an ordinary ``pickle.load``. facegan reads it with a restricted unpickler of its own: tensors
  (``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter``, the storages through
  ``torch.load(weights_only=True)``), numpy arrays, ``OrderedDict``, ``set``, ``dnnlib.util.EasyDict``
  (a plain dict here), and ``_reconstruct_persistent_obj`` replaced by a stub that keeps the
  class name and the pickled state (parameters, buffers, submodules, init kwargs) and drops the
  source unread. Any other global is refused, named, before anything is built.
- **genforce/genforce** StyleGAN (v1) state_dicts (``models/stylegan_generator.py``, also genforce/sefa's
  and ``huggan/stylegan_animeface512``'s ``pytorch_model.bin``): its converters' and model zoo's
  ``{"generator", "generator_smooth", "discriminator"}``, a runner checkpoint ``{"models": {...},
  "optimizers", ...}``, or a bare generator state_dict; a PyTorch file whose keys are these
  (``is_genforce``) is genforce's, any other rosinality's.

facegan's ``models.stylegan`` uses stylegan2-ada-pytorch's parameter names and storage conventions,
so a network pickle is a renaming (``G_ema.*`` -> ``generator.*``, ``D.*`` -> ``discriminator.*``,
the ``resample_filter`` buffers dropped: facegan computes them), but for the up-sampling convs
(``synthesis.b{8,16,...}.conv0.weight``): stylegan2-ada-pytorch's ``SynthesisLayer`` passes
``flip_weight = (up == 1)`` to ``conv2d_resample``, whose transposed path (``up=2``) flips it back,
so it runs a transposed conv with the kernel as stored; facegan's flips the kernel, so these
weights are flipped on conversion (as rosinality's, below). Its other convs (``up=1``, and D's
``down=2``) are correlations with the kernel as stored, as facegan's. rosinality's layout maps as::

    style.{i+1}                 -> generator.mapping.fc{i}    (PixelNorm is style.0)
    input.input (1, C, 4, 4)    -> synthesis.b4.const (C, 4, 4)
    conv1 / to_rgb1             -> synthesis.b4.conv1 / b4.torgb
    convs.{2k}, convs.{2k+1}    -> synthesis.b{8 * 2^k}.conv0 (up), .conv1
    to_rgbs.{k}                 -> synthesis.b{8 * 2^k}.torgb
    *.conv.weight (1, O, I, k, k) -> *.weight (O, I, k, k); *.conv.modulation -> *.affine
    *.noise.weight (1,)         -> *.noise_strength ();  *.activate.bias -> *.bias
    noises.noise_{j} (1, 1, r, r) -> the j-th layer's noise_const (r, r); to_rgb bias (1, 3, 1, 1) -> (3,)
    d: convs.0 (fromRGB)        -> discriminator.b{S}.fromrgb
       convs.{j}.conv1 / conv2 / skip -> b{S / 2^(j-1)}.conv0 / conv1 / skip
       final_conv, final_linear.0 / .1 -> b4.conv, b4.fc, b4.out

The scalings agree: rosinality's ``EqualLinear`` (weight * lr_mul / sqrt(in), bias * lr_mul,
fused leaky ReLU = lrelu(x + b) * sqrt(2)), ``EqualConv2d`` (1 / sqrt(in k^2)) and ``ToRGB``
(style / sqrt(in), not demodulated) are facegan's layers; its ``ModulatedConv2d`` multiplies the
weight by 1 / sqrt(in k^2) before demodulating, which facegan's does not, so the two differ only
in the 1e-8 of the demodulation (relatively 1e-8 / (in k^2 E[(w s)^2]): invisible in float32).
The one real difference is the up-sampling conv: rosinality's is ``conv_transpose2d`` with the
kernel as stored (as NVlabs'), facegan's with the kernel flipped, then the same [1, 3, 3, 1] blur
(pad 1, gain 4); so the up convs' weights are flipped on conversion, after which the outputs are
the same, with no shift.
The to_rgb skip up-sampling (``upfirdn2d`` up 2, pad (2, 1)) is facegan's ``upsample2d``, and D's
blur-then-stride-2 convs (pads (2, 2) and (1, 1)) are facegan's ``Conv2dLayer(down=True)``.

The ``Config`` comes from the tensor shapes: z_dim / w_dim and the mapping depth from the mapping
layers, the resolution from the number of blocks, the channels per resolution (which must be
``min(channel_base // res, channel_max)``, as both codes make them) from the weights.
rosinality's files keep no average w: the truncation centre is estimated as its ``generate.py``
does (the mean w of 4096 z ~ N(0, 1), here with seed 0, so the same every time); a
``latent_avg`` in the file is used as it is. Its training options (lr, r1, path_regularize,
mixing, d/g_reg_every, batch) become the config's, when ``args`` is there. A network pickle's
``conv_clamp``, mapping lr multiplier and minibatch-std group come from its init kwargs (else
from the attributes its layers were pickled with); its images are those of the float32 code
(stylegan2-ada-pytorch runs the top resolutions in fp16 on a GPU). Class-conditional networks
(c_dim > 0) are refused (facegan's StyleGAN2 has no class input), and so are StyleGAN3 and
TensorFlow pickles. Without a D in the file the model gets a freshly
initialised one (seed 0) and an ``UntrainedDiscriminatorWarning``.

genforce's StyleGAN maps onto ``facegan.models.stylegan1`` (``Config.architecture="stylegan1"``)::

    mapping.dense{i}              -> generator.mapping.fc{i}   (bias / sqrt 2, below)
    truncation.w_avg              -> generator.mapping.w_avg
    synthesis.layer0.const (1, C, 4, 4) -> synthesis.layer0.const (C, 4, 4)
    synthesis.layer{i}.weight / bias    -> synthesis.layer{i}.weight / bias
    *.style (2C, w_dim)           -> *.affine   (AdaIN's scales, then shifts)
    *.apply_noise.weight (C,)     -> *.noise_strength;  *.apply_noise.noise (1, 1, r, r) -> *.noise_const (r, r)
    synthesis.output{top}         -> synthesis.torgb
    dropped: synthesis.lod (must be 0), *.blur.kernel (must be [1, 2, 1]), the lower output{j}

G's EMA (``generator_smooth``) is taken when the file has it, as genforce's synthesize.py and sefa
do. Its scalings are facegan's (conv weight x sqrt 2 / sqrt(in k^2), style x 1 / sqrt(w_dim), toRGB
x 1 / sqrt(in)), but for the mapping's dense layers, lrelu(x W sqrt(2) lr / sqrt(in) + b lr) in
genforce, where facegan's are lrelu(x W lr / sqrt(in) + b' lr) sqrt 2: the same with b' = b / sqrt 2.
The file keeps neither the mapping's lr multiplier (genforce's default 0.01 is taken) nor
``fused_scale`` ("auto", fused from 128 px, is taken; see ``facegan.models.stylegan1``) nor
``final_tanh`` (False). The sizes come from the shapes: z_dim from dense0, w_dim from the styles,
the resolution from the number of layers, the channels from the biases (as genforce makes them,
min(fmaps_base // res, fmaps_max)). Refused in one line: a mapping with a w per layer
(``repeat_w=False``) or hidden layers other than w_dim wide, class labels (``label_weight``), lod
other than 0, other blur kernels, and missing, extra, misshapen or NaN tensors. genforce's StyleGAN
D (ProGAN's progressive one) is not converted: the model is generator-only (with a warning when
the file has a D); it draws, mixes, projects and edits, and cannot be trained.
"""

from __future__ import annotations

import argparse
import io
import math
import pickle
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from facegan import latent
from facegan.convert import common
from facegan.convert.common import listed, load_data_only
from facegan.files import CheckpointError
from facegan.models import stylegan

ROSINALITY = "rosinality/stylegan2-pytorch"
NVLABS = "NVlabs/stylegan2-ada-pytorch"
GENFORCE = "genforce/genforce"
URLS = {ROSINALITY: "https://github.com/rosinality/stylegan2-pytorch",
        NVLABS: "https://github.com/NVlabs/stylegan2-ada-pytorch", GENFORCE: "https://github.com/genforce/genforce"}
GENFORCE_NETS = ("generator_smooth", "generator")  # G's EMA first, as genforce's synthesize.py and sefa load it
GENFORCE_MAPPING_LR = 0.01  # genforce's mapping_lr_mul default: the mapping's effective weights depend on it, files omit it
W_AVG_SAMPLES, W_AVG_SEED = 4096, 0  # rosinality's generate.py --truncation_mean 4096
# torch.save's legacy (before 1.6) format starts with a pickled magic number; the new one is a zip
_TORCH_LEGACY = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
# rosinality's train.py options -> facegan's config fields (its defaults when a file has no args)
ROSINALITY_ARGS = {"lr": ("lr", 0.002), "r1": ("r1_gamma", 10.0), "path_regularize": ("pl_weight", 2.0),
                   "mixing": ("style_mixing", 0.9), "d_reg_every": ("r1_interval", 16),
                   "g_reg_every": ("pl_interval", 4), "path_batch_shrink": ("pl_batch_shrink", 2)}


class UntrainedDiscriminatorWarning(UserWarning):
    """The file has no D: the converted one is freshly initialised, so its scores mean nothing."""


# ----------------------------------------------------------------------------- reading


def read(path: str | Path) -> tuple[str, object]:
    """(source, contents): a PyTorch file (torch's restricted unpickler, Namespace allowed), genforce's
    if its keys are (``is_genforce``), else rosinality's; or a stylegan2-ada-pytorch network pickle
    (``NetworkUnpickler``), told apart from a PyTorch file by the bytes."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(len(_TORCH_LEGACY))
    if zipfile.is_zipfile(path) or head.startswith(_TORCH_LEGACY):
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = load_data_only(path, str(path), "facegan reads rosinality's train.py and convert_weight.py files "
                                                  "and genforce's StyleGAN files (dicts of state_dicts) and "
                                                  "stylegan2-ada-pytorch network pickles")
        return (GENFORCE if is_genforce(obj) else ROSINALITY), obj
    return NVLABS, load_network_pickle(path)


class EasyDict(dict):
    """dnnlib.util.EasyDict as data: a dict whose keys read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Persistent:
    """A ``torch_utils.persistence`` object of a network pickle, as data: its class name and the
    state it was pickled with (``_parameters``, ``_buffers``, ``_modules``, ``_init_kwargs``, ...).
    The class source the pickle carries (``module_src``) is dropped unread."""

    def __init__(self, meta):
        if not isinstance(meta, Mapping) or not isinstance(meta.get("state"), Mapping):
            raise CheckpointError("a persistent object of the pickle has no state dict: not a stylegan2-ada-pytorch "
                                  "network")
        self.class_name = str(meta.get("class_name"))
        self.module_name = meta.get("module_name")
        self.version = meta.get("version")
        self.state = dict(meta["state"])

    def __setstate__(self, state):  # the pickles' persistent objects take no state of their own
        raise CheckpointError("the pickle sets state on a persistent object: not a stylegan2-ada-pytorch network")

    def part(self, name: str) -> dict:
        got = self.state.get(name) or {}
        if not isinstance(got, Mapping):
            raise CheckpointError(f"{self.class_name}.{name} is a {type(got).__name__}, not a dict")
        return dict(got)

    @property
    def init_kwargs(self) -> dict:
        got = self.state.get("_init_kwargs") or {}
        return dict(got) if isinstance(got, Mapping) else {}


def _storage_from_bytes(b: bytes):
    """torch.storage._load_from_bytes, but data only: a storage in torch.save's legacy format."""
    if not isinstance(b, (bytes, bytearray)):
        raise CheckpointError("a tensor storage of the pickle is not bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation: not the user's concern
        return torch.load(io.BytesIO(b), map_location="cpu", weights_only=True)


def _numpy(name: str):
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            continue
    raise CheckpointError(f"numpy has no {name}")


_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): lambda: torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): lambda: torch._utils._rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): lambda: _storage_from_bytes,
    ("collections", "OrderedDict"): lambda: OrderedDict,
    ("builtins", "set"): lambda: set,
    ("dnnlib.util", "EasyDict"): lambda: EasyDict,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): lambda: Persistent,
}
for _m in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[_m, "_reconstruct"] = lambda: _numpy("_reconstruct")
    _ALLOWED[_m, "scalar"] = lambda: _numpy("scalar")  # numpy scalars (a dtype and its bytes)


class NetworkUnpickler(pickle.Unpickler):
    """Unpickles a stylegan2-ada-pytorch network pickle as data: only the globals of ``_ALLOWED``,
    every other one refused with a CheckpointError naming it."""

    def find_class(self, module: str, name: str):
        make = _ALLOWED.get((module, name))
        if make is None:
            hint = (": a TensorFlow StyleGAN / StyleGAN2 pickle; convert it to a PyTorch network pickle with "
                    "stylegan2-ada-pytorch's legacy.py first" if module.startswith("dnnlib.tflib") else "")
            raise CheckpointError(f"the pickle asks for {module}.{name}, which facegan refuses to load (it could run "
                                  f"code; a stylegan2-ada-pytorch network pickle needs only tensors and its "
                                  f"persistent modules){hint}")
        return make()

    def persistent_load(self, pid):
        raise CheckpointError("the pickle refers to external objects (persistent ids): not a network pickle")


def load_network_pickle(path: str | Path):
    """A network pickle's contents, read by ``NetworkUnpickler`` (never running the code it carries)."""
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return NetworkUnpickler(f).load()
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    except Exception as e:  # UnpicklingError, EOFError, a rebuild that failed, ...
        reason = " ".join(str(e).split())[:200]
        raise CheckpointError(f"{path} is neither a PyTorch file (torch.save) nor a readable network pickle: "
                              f"{type(e).__name__}: {reason}") from e


# ----------------------------------------------------------------------------- the config


def _channel_sizes(chans: dict[int, int], what: str) -> tuple[int, int]:
    """(channel_base, channel_max) with min(channel_base // res, channel_max) == chans[res] for every res."""
    cmax = max(chans.values())
    lo, hi = max(chans), 1 << 20  # channel_base >= image_size (every resolution has a channel)
    for res, c in chans.items():
        if c == cmax:
            lo = max(lo, cmax * res)
        else:
            lo, hi = max(lo, c * res), min(hi, (c + 1) * res - 1)
    if lo > hi or chans[4] != cmax:
        listed = ", ".join(f"{r} px: {c}" for r, c in sorted(chans.items()))
        raise CheckpointError(f"{what}: its channels ({listed}) are not min(channel_base // res, channel_max) for any "
                              f"channel_base and channel_max, the layout of facegan's StyleGAN")
    return lo, cmax


def _preset(size: int) -> str:
    return "64" if size <= 64 else "128" if size <= 128 else "256"  # StyleGAN2-ADA's auto settings


def _config(what: str, z_dim: int, w_dim: int, mapping_layers: int, chans: dict[int, int],
            **fields) -> stylegan.Config:
    size = max(chans)
    if size < 8 or size > stylegan.MAX_SIZE:
        raise CheckpointError(f"{what} makes {size} px images; facegan's StyleGAN makes 8 to {stylegan.MAX_SIZE} px")
    base, cmax = _channel_sizes(chans, what)
    try:
        return stylegan.Config(preset=_preset(size), image_size=size, z_dim=z_dim, w_dim=w_dim,
                               mapping_layers=mapping_layers, channel_base=base, channel_max=cmax, **fields)
    except ValueError as e:
        raise CheckpointError(f"{what} does not fit facegan's StyleGAN: {e}") from e


def _new_model(cfg: stylegan.Config) -> stylegan.Model:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the fresh D (without one in the file) and noise are the same every time
        return stylegan.Model(cfg)


def _load(model: stylegan.Model, state: dict[str, torch.Tensor], names: dict[str, tuple[str, tuple]],
          what: str) -> None:
    """Check ``state`` (facegan's names; ``names`` maps them back to the file's name and shape, for
    the messages) against the model's shapes and load it; what it lacks keeps the model's values."""
    own = model.state_dict()

    def told(k: str, v: torch.Tensor) -> str:
        name, shape = names.get(k, (k, tuple(v.shape)))
        return f"{name} {tuple(shape)}" + (f" (facegan's {k} is {tuple(own[k].shape)})" if name != k else
                                           f" (expected {tuple(own[k].shape)})")

    wrong = [told(k, v) for k, v in state.items() if v.shape != own[k].shape]
    if wrong:
        raise CheckpointError(f"{what}: tensor shapes do not fit the layout its other tensors give: {listed(wrong, 3)}")
    broken = [names.get(k, (k,))[0] for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f"{what} has NaN/inf values in {listed(broken, 3)} (a diverged run?)")
    model.load_state_dict({**own, **{k: v.to(own[k].dtype) for k, v in state.items()}}, strict=True)


@torch.no_grad()
def estimate_w_avg(model: stylegan.Model) -> torch.Tensor:
    """The mean w of W_AVG_SAMPLES z ~ N(0, 1) drawn with seed W_AVG_SEED (rosinality's ``mean_latent``)."""
    g = torch.Generator().manual_seed(W_AVG_SEED)
    z = torch.randn(W_AVG_SAMPLES, model.config.z_dim, generator=g)
    return torch.cat([model.generator.mapping(c)[:, 0] for c in z.split(1024)]).mean(0)


# ----------------------------------------------------------------------------- rosinality


def _tensor(state: Mapping, key: str, ndim: int, what: str) -> torch.Tensor:
    t = state.get(key)
    if not isinstance(t, torch.Tensor) or t.dim() != ndim:
        got = "lacks" if t is None else f"has a {t.dim()}-d" if isinstance(t, torch.Tensor) else "has a non-tensor"
        keys = [k for k in state][:4]
        raise CheckpointError(f"{what} {got} {key}: not a {ROSINALITY} network (its keys are {listed(keys, 4)})")
    return t


def _count(state: Mapping, pattern: str, start: int = 0) -> int:
    n = start
    while pattern.format(n) in state:
        n += 1
    return n - start


def _ros_generator_names(n_mlp: int, sizes: list[int]) -> dict[str, tuple[str, str]]:
    """rosinality G key -> (facegan key, how to reshape: "", "squeeze", "flip", "scalar", "noise", "flat")."""
    g = "generator.synthesis."
    names = {}
    for i in range(n_mlp):
        for p in ("weight", "bias"):
            names[f"style.{i + 1}.{p}"] = (f"generator.mapping.fc{i}.{p}", "")
    names["input.input"] = (g + "b4.const", "squeeze")

    def styled(src: str, dst: str, noise: int, up: bool) -> None:
        names[f"{src}.conv.weight"] = (dst + ".weight", "flip" if up else "squeeze")
        names[f"{src}.conv.modulation.weight"] = (dst + ".affine.weight", "")
        names[f"{src}.conv.modulation.bias"] = (dst + ".affine.bias", "")
        names[f"{src}.noise.weight"] = (dst + ".noise_strength", "scalar")
        names[f"{src}.activate.bias"] = (dst + ".bias", "")
        names[f"noises.noise_{noise}"] = (dst + ".noise_const", "noise")

    def to_rgb(src: str, dst: str) -> None:
        names[f"{src}.conv.weight"] = (dst + ".weight", "squeeze")
        names[f"{src}.conv.modulation.weight"] = (dst + ".affine.weight", "")
        names[f"{src}.conv.modulation.bias"] = (dst + ".affine.bias", "")
        names[f"{src}.bias"] = (dst + ".bias", "flat")

    styled("conv1", g + "b4.conv1", 0, False)
    to_rgb("to_rgb1", g + "b4.torgb")
    for k, res in enumerate(sizes[1:]):
        styled(f"convs.{2 * k}", f"{g}b{res}.conv0", 2 * k + 1, True)
        styled(f"convs.{2 * k + 1}", f"{g}b{res}.conv1", 2 * k + 2, False)
        to_rgb(f"to_rgbs.{k}", f"{g}b{res}.torgb")
    return names


def _ros_discriminator_names(sizes: list[int]) -> dict[str, tuple[str, str]]:
    d = "discriminator."
    top = sizes[-1]
    names = {"convs.0.0.weight": (f"{d}b{top}.fromrgb.weight", ""), "convs.0.1.bias": (f"{d}b{top}.fromrgb.bias", "")}
    for j, res in enumerate(sizes[:0:-1], start=1):  # S, S/2, ..., 8
        b = f"{d}b{res}."
        names.update({f"convs.{j}.conv1.0.weight": (b + "conv0.weight", ""), f"convs.{j}.conv1.1.bias": (b + "conv0.bias", ""),
                      f"convs.{j}.conv2.1.weight": (b + "conv1.weight", ""), f"convs.{j}.conv2.2.bias": (b + "conv1.bias", ""),
                      f"convs.{j}.skip.1.weight": (b + "skip.weight", "")})
    names.update({"final_conv.0.weight": (d + "b4.conv.weight", ""), "final_conv.1.bias": (d + "b4.conv.bias", ""),
                  "final_linear.0.weight": (d + "b4.fc.weight", ""), "final_linear.0.bias": (d + "b4.fc.bias", ""),
                  "final_linear.1.weight": (d + "b4.out.weight", ""), "final_linear.1.bias": (d + "b4.out.bias", "")})
    return names


def _reshaped(t: torch.Tensor, how: str) -> torch.Tensor:
    """One of the file's tensors in facegan's shape (a misshapen one stays misshapen, for the message)."""
    if how in ("squeeze", "flip") and t.dim() > 2 and t.shape[0] == 1:  # (1, O, I, k, k) -> (O, I, k, k)
        t = t[0]
    if how == "flip" and t.dim() == 4:  # rosinality's up conv: a transposed conv with the stored kernel, facegan's flipped
        return t.flip([2, 3])
    if how == "scalar" and t.numel() == 1:  # (1,) -> ()
        return t.reshape(())
    if how == "noise" and t.dim() == 4 and t.shape[:2] == (1, 1):  # (1, 1, r, r) -> (r, r)
        return t[0, 0]
    if how == "flat" and t.dim() == 4 and t.shape[2:] == (1, 1):  # to_rgb's bias (1, 3, 1, 1) -> (3,)
        return t.flatten()
    return t


def _ros_rename(state: Mapping, names: dict[str, tuple[str, str]], what: str, optional: tuple[str, ...] = (),
                kernels: dict[str, float] | None = None) -> tuple[dict, dict]:
    """The file's tensors under facegan's names (and facegan name -> file name); every key of the
    file accounted for, none missing but ``optional`` prefixes, blur kernels checked."""
    kernels = kernels or {}
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{what} is not a state_dict: entries that are not named tensors: {listed(map(repr, bad))}")
    unexpected = [k for k in state if k not in names and k not in kernels]
    if unexpected:
        raise CheckpointError(f"{what} has tensors {ROSINALITY}'s layout does not: {listed(unexpected)}")
    missing = [k for k in names if k not in state and not k.startswith(optional)]
    if missing:
        raise CheckpointError(f"{what} lacks tensors of {ROSINALITY}'s layout: {listed(missing)}")
    f = stylegan.fir_filter()
    for k, gain in kernels.items():  # a blur_kernel other than [1, 3, 3, 1] would give other images
        t = state.get(k)
        if t is not None and (t.shape != f.shape or not torch.allclose(t.float(), f * gain, atol=1e-6)):
            raise CheckpointError(f"{what}: {k} is not the [1, 3, 3, 1] blur kernel facegan's StyleGAN2 uses")
    out, back = {}, {}
    for k, (ours, how) in names.items():
        if k in state:
            out[ours], back[ours] = _reshaped(state[k], how), (k, tuple(state[k].shape))
    return out, back


def _rosinality_args(args) -> dict:
    """rosinality's train.py options (a Namespace or dict; its defaults where absent) as config fields."""
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args) if isinstance(args, Mapping) else {}
    fields = {}
    for name, (field, default) in ROSINALITY_ARGS.items():
        v = given.get(name, default)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        fields[field] = type(default)(v) if ok else default
    batch = given.get("batch", 16)
    batch = batch if isinstance(batch, int) and not isinstance(batch, bool) and 0 < batch <= 4096 else 16
    # accumulate(g_ema, g, 0.5 ** (32 / (10 * 1000))) every step: a half-life of 10000 / 32 steps
    fields["ema_kimg"], fields["ema_rampup"] = 10 * batch / 32, 0.0  # that many images, in thousands
    fields["beta1"], fields["beta2"] = 0.0, 0.99
    return fields


def _from_rosinality(obj, path) -> tuple[stylegan.Model, dict]:
    what = f"{path}"
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{what} holds a {type(obj).__name__}: not a {ROSINALITY} checkpoint "
                              "(a dict with g_ema), a genforce StyleGAN state_dict or a stylegan2-ada-pytorch network "
                              "pickle")
    if "g_ema" in obj:
        g_state, d_state = obj["g_ema"], obj.get("d")
    elif "input.input" in obj:  # a bare generator state_dict
        g_state, d_state = obj, None
    else:
        raise CheckpointError(f"{what} has no g_ema: not a {ROSINALITY} checkpoint ({{g, d, g_ema, ...}} of train.py "
                              f"or {{g_ema, latent_avg}} of convert_weight.py) nor a genforce StyleGAN one ({{generator, "
                              f"generator_smooth, ...}} or mapping.dense0.weight, ...); its keys are "
                              f"{listed(map(str, obj), 4)}")
    if not isinstance(g_state, Mapping) or (d_state is not None and not isinstance(d_state, Mapping)):
        raise CheckpointError(f"{what}: g_ema and d must be state_dicts")
    gw = f"{what} g_ema"
    n_mlp = _count(g_state, "style.{}.weight", 1)
    fc = _tensor(g_state, "style.1.weight", 2, gw)
    const = _tensor(g_state, "input.input", 4, gw)
    n_up = _count(g_state, "to_rgbs.{}.conv.weight")
    sizes = [2 ** (i + 2) for i in range(n_up + 1)]
    chans = {4: int(const.shape[1])}
    for k, res in enumerate(sizes[1:]):
        chans[res] = int(_tensor(g_state, f"to_rgbs.{k}.conv.weight", 5, gw).shape[2])
    cfg = _config(gw, int(fc.shape[1]), int(fc.shape[0]), n_mlp, chans, conv_clamp=0.0, mapping_lr=0.01,
                  mbstd_group=4, **_rosinality_args(obj.get("args")))
    model = _new_model(cfg)
    kernels = {f"convs.{2 * k}.conv.blur.kernel": 4.0 for k in range(n_up)}
    kernels.update({f"to_rgbs.{k}.upsample.kernel": 4.0 for k in range(n_up)})
    noise_given = any(k.startswith("noises.") for k in g_state)
    state, back = _ros_rename(g_state, _ros_generator_names(n_mlp, sizes), gw, () if noise_given else ("noises.",),
                              kernels)
    back = {k: (f"g_ema {name}", shape) for k, (name, shape) in back.items()}
    info = {"format": "rosinality .pt (g_ema)", "noise": "the file's" if noise_given else
            "none in the file: fixed random noise (seed 0)"}
    if not noise_given:
        warnings.warn(f"{path} has no noises.noise_* buffers (an old rosinality file): the fixed noise of "
                      f"noise_mode='const' is new random noise (seed 0)", UserWarning, stacklevel=3)
    if d_state is not None:
        dw = f"{what} d"
        kernels = {f"convs.{j}.{c}.0.kernel": 1.0 for j in range(1, n_up + 1) for c in ("conv2", "skip")}
        d, d_back = _ros_rename(d_state, _ros_discriminator_names(sizes), dw, kernels=kernels)
        state.update(d)
        back.update({k: (f"d {name}", shape) for k, (name, shape) in d_back.items()})
    _load(model, state, back, what)
    avg = obj.get("latent_avg")
    if isinstance(avg, torch.Tensor):
        avg = avg.reshape(-1)
        if avg.shape != (cfg.w_dim,) or not torch.isfinite(avg).all():
            raise CheckpointError(f"{what}: latent_avg must be {cfg.w_dim} finite numbers, not {tuple(avg.shape)}")
        model.generator.mapping.w_avg.copy_(avg)
        info["w_avg"] = "the file's latent_avg"
    else:
        model.generator.mapping.w_avg.copy_(estimate_w_avg(model))
        info["w_avg"] = f"estimated: the mean w of {W_AVG_SAMPLES} z ~ N(0, 1), seed {W_AVG_SEED}"
    return model, {"source": ROSINALITY, "discriminator": d_state is not None, **info}


# ----------------------------------------------------------------------------- stylegan2-ada-pytorch


def _flatten(obj: Persistent, prefix: str, out: dict, where: str) -> None:
    for part in ("_parameters", "_buffers"):
        for name, t in obj.part(part).items():
            if t is None:
                continue
            if not isinstance(t, torch.Tensor):
                raise CheckpointError(f"{where}{name} is a {type(t).__name__}, not a tensor")
            out[prefix + name] = t.detach()
    for name, m in obj.part("_modules").items():
        if m is None:
            continue
        if not isinstance(m, Persistent):
            raise CheckpointError(f"{where}{name} is a {type(m).__name__}, not a persistent stylegan2-ada-pytorch module")
        _flatten(m, f"{prefix}{name}.", out, f"{where}{name}.")


def _network(data: Mapping, key: str, path) -> tuple[Persistent, dict[str, torch.Tensor]]:
    net = data[key]
    if not isinstance(net, Persistent):
        raise CheckpointError(f"{path}: {key} is a {type(net).__name__}, not a stylegan2-ada-pytorch network")
    flat: dict[str, torch.Tensor] = {}
    _flatten(net, "", flat, f"{key}.")
    f = stylegan.fir_filter()
    for k in [k for k in flat if k.rsplit(".", 1)[-1] == "resample_filter"]:  # facegan computes these
        t = flat.pop(k)
        if t.shape != f.shape or not torch.allclose(t.float(), f, atol=1e-6):
            raise CheckpointError(f"{path}: {key}.{k} is not the [1, 3, 3, 1] filter facegan's StyleGAN2 uses")
    return net, flat


def _setting(kwargs: Mapping, name: str, net: Persistent, layer: str, attr: str, default):
    """An init kwarg, else the attribute the layer keeps of it (its pickled __dict__), else ``default``."""
    if name in kwargs:
        return kwargs[name]
    obj = net
    for part in layer.split("."):
        obj = obj.part("_modules").get(part)
        if not isinstance(obj, Persistent):
            return default
    return obj.state.get(attr, default)


def _number(v, what: str, default: float) -> float:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(float(v)):
        raise CheckpointError(f"{what} is {v!r}, not a number")
    return float(v)


def _from_nvlabs(data, path) -> tuple[stylegan.Model, dict]:
    if not isinstance(data, Mapping) or "G_ema" not in data:
        keys = listed(map(str, data), 4) if isinstance(data, Mapping) else type(data).__name__
        raise CheckpointError(f"{path} has no G_ema: not a stylegan2-ada-pytorch network pickle "
                              f"({{G, D, G_ema, augment_pipe, ...}}; it holds {keys})")
    G, g_flat = _network(data, "G_ema", path)
    kw = G.init_kwargs
    syn_kw, map_kw = dict(kw.get("synthesis_kwargs") or {}), dict(kw.get("mapping_kwargs") or {})
    c_dim = kw.get("c_dim", G.state.get("c_dim", 0)) or 0
    if c_dim or "mapping.embed.weight" in g_flat:
        raise CheckpointError(f"{path}: a class-conditional generator (c_dim {c_dim or '> 0'}); facegan's StyleGAN2 "
                              "has no class input, so it cannot convert it")
    if "synthesis.input.weight" in g_flat or any(k.startswith("synthesis.L0_") for k in g_flat):
        raise CheckpointError(f"{path}: a StyleGAN3 (alias-free) generator; facegan's StyleGAN2 cannot hold it")
    channels = kw.get("img_channels", G.state.get("img_channels", 3))
    if channels != 3:
        raise CheckpointError(f"{path}: a generator of {channels}-channel images; facegan's StyleGAN2 makes RGB")
    arch = syn_kw.get("architecture", "skip")
    if arch != "skip":
        raise CheckpointError(f"{path}: a {arch!r} synthesis network; facegan's StyleGAN2 is the 'skip' generator")
    what = f"{path} G_ema"
    n_map = _count(g_flat, "mapping.fc{}.weight")
    fc0, const = g_flat.get("mapping.fc0.weight"), g_flat.get("synthesis.b4.const")
    if fc0 is None or fc0.dim() != 2 or const is None or const.dim() != 3:
        raise CheckpointError(f"{what} lacks mapping.fc0.weight or synthesis.b4.const: not a StyleGAN2 generator "
                              f"(its tensors are {listed(g_flat, 4)})")
    chans = {4: int(const.shape[0])}
    res = 8
    while f"synthesis.b{res}.torgb.weight" in g_flat:
        chans[res] = int(g_flat[f"synthesis.b{res}.torgb.weight"].shape[1])
        res *= 2
    fields = {"conv_clamp": _number(_setting(syn_kw, "conv_clamp", G, "synthesis.b4.conv1", "conv_clamp", None),
                                    f"{path}: G's conv_clamp", 0.0),  # None: no clamp
              "mapping_lr": _number(_setting(map_kw, "lr_multiplier", G, "mapping.fc0", "bias_gain", 0.01),
                                    f"{path}: G's mapping lr_multiplier", 0.01),
              "w_avg_beta": _number(_setting(map_kw, "w_avg_beta", G, "mapping", "w_avg_beta", 0.995),
                                    f"{path}: G's w_avg_beta", 0.995)}
    state = {f"generator.{k}": v for k, v in g_flat.items()}
    for res in chans:  # the up-sampling convs: NVlabs' transposed conv uses the kernel as stored, facegan's flips it
        key = f"generator.synthesis.b{res}.conv0.weight"
        if res > 4 and key in state and state[key].dim() == 4:
            state[key] = state[key].flip([2, 3])
    has_d = isinstance(data.get("D"), Persistent)
    if has_d:
        D, d_flat = _network(data, "D", path)
        dkw = D.init_kwargs
        ep_kw = dict(dkw.get("epilogue_kwargs") or {})
        if (dkw.get("c_dim") or 0) or any(k.startswith("mapping.") for k in d_flat):
            raise CheckpointError(f"{path}: a class-conditional discriminator; facegan's StyleGAN2 has no class input")
        if dkw.get("architecture", "resnet") != "resnet":
            raise CheckpointError(f"{path}: a {dkw['architecture']!r} discriminator; facegan's is the 'resnet' one")
        d_clamp = _number(_setting(dkw, "conv_clamp", D, "b4.conv", "conv_clamp", None), f"{path}: D's conv_clamp", 0.0)
        if d_clamp != fields["conv_clamp"]:
            warnings.warn(f"{path}: D's conv_clamp {d_clamp:g} is not G's {fields['conv_clamp']:g}; facegan uses one "
                          f"for both (G's), so D's scores of extreme images may differ", UserWarning, stacklevel=3)
        fields["mbstd_group"] = int(_number(_setting(ep_kw, "mbstd_group_size", D, "b4.mbstd", "group_size", 4),
                                            f"{path}: D's mbstd_group_size", 4))
        conv = d_flat.get("b4.conv.weight")
        if conv is not None and conv.dim() == 4:
            fields["mbstd_channels"] = max(1, int(conv.shape[1]) - chans[4])
        state.update({f"discriminator.{k}": v for k, v in d_flat.items()})
    cfg = _config(what, int(fc0.shape[1]), int(fc0.shape[0]), n_map, chans, **fields)
    model = _new_model(cfg)
    own = model.state_dict()
    unexpected = [k for k in state if k not in own]
    if unexpected:
        raise CheckpointError(f"{path} has tensors facegan's StyleGAN2 does not: {listed(unexpected)}")
    missing = [k for k in own if k not in state and (has_d or k.startswith("generator."))]
    if missing:
        raise CheckpointError(f"{path} lacks tensors of a StyleGAN2 ({cfg.image_size} px): {listed(missing)}")
    _load(model, state, {}, str(path))
    return model, {"source": NVLABS, "format": "stylegan2-ada-pytorch network pickle (G_ema)", "discriminator": has_d,
                   "w_avg": "the pickle's mapping.w_avg", "noise": "the pickle's noise_const"}


# ----------------------------------------------------------------------------- genforce (StyleGAN v1)


def is_genforce(obj) -> bool:
    """Whether a PyTorch file's contents are genforce's: ``{generator, generator_smooth, discriminator}``
    (its converters' output, its model zoo), a runner checkpoint ``{models: {...}, optimizers, ...}``,
    or a bare generator state_dict (``mapping.dense0.weight``, ...)."""
    if not isinstance(obj, Mapping):
        return False
    nets = obj.get("models", obj)
    if isinstance(nets, Mapping) and any(k in nets for k in GENFORCE_NETS):
        return True
    return any(isinstance(k, str) and k.removeprefix("module.") == "mapping.dense0.weight" for k in obj)


def _genforce_names(n_map: int, n_layers: int) -> dict[str, tuple[str, str]]:
    """genforce G key -> (facegan key, how to reshape: "", "squeeze", "noise", "bias")."""
    names = {"truncation.w_avg": ("generator.mapping.w_avg", "")}
    for i in range(n_map):
        names[f"mapping.dense{i}.weight"] = (f"generator.mapping.fc{i}.weight", "")
        names[f"mapping.dense{i}.bias"] = (f"generator.mapping.fc{i}.bias", "bias")
    for i in range(n_layers):
        src, dst = f"synthesis.layer{i}.", f"generator.synthesis.layer{i}."
        if i == 0:
            names[src + "const"] = (dst + "const", "squeeze")
        else:
            names[src + "weight"] = (dst + "weight", "")
        names.update({src + "bias": (dst + "bias", ""), src + "style.weight": (dst + "affine.weight", ""),
                      src + "style.bias": (dst + "affine.bias", ""), src + "apply_noise.weight": (dst + "noise_strength", ""),
                      src + "apply_noise.noise": (dst + "noise_const", "noise")})
    top = n_layers // 2 - 1  # the top resolution's toRGB; the lower ones (progressive growing's) are not used
    names.update({f"synthesis.output{top}.weight": ("generator.synthesis.torgb.weight", ""),
                  f"synthesis.output{top}.bias": ("generator.synthesis.torgb.bias", "")})
    return names


def _from_genforce(obj: Mapping, path) -> tuple[stylegan.Model, dict]:
    from facegan.models import stylegan1

    nets = obj["models"] if isinstance(obj.get("models"), Mapping) else obj
    key = next((k for k in GENFORCE_NETS if k in nets), None)
    what = f"{path} {key}" if key else str(path)
    g = common.state_dict_of(nets[key] if key else obj, what, "is" if key else "holds")
    n_map = _count(g, "mapping.dense{}.weight")
    n_layers = _count(g, "synthesis.layer{}.style.weight")
    if not n_map or n_layers < 4 or n_layers % 2 or "synthesis.layer0.const" not in g:
        raise CheckpointError(f"{what} lacks mapping.dense0.weight, synthesis.layer0.const or an even number (4 or "
                              f"more) of layers with style weights: not a genforce StyleGAN (v1) generator (its tensors "
                              f"are {listed(g, 4)})")
    if "mapping.label_weight" in g:
        raise CheckpointError(f"{what}: a class-conditional generator (mapping.label_weight); facegan's StyleGAN has no "
                              "class input")

    def shape(k: str, ndim: int) -> tuple[int, ...]:
        if k not in g:
            raise CheckpointError(f"{what} lacks {k} of genforce's StyleGAN (v1) layout")
        if g[k].dim() != ndim:
            raise CheckpointError(f"{what}: {k} is {tuple(g[k].shape)}, not a {ndim}-d tensor of genforce's StyleGAN")
        return tuple(g[k].shape)

    z_dim, w_dim = shape("mapping.dense0.weight", 2)[1], shape("synthesis.layer0.style.weight", 2)[1]
    widths = [shape(f"mapping.dense{i}.weight", 2)[0] for i in range(n_map)]
    if widths[-1] != w_dim:
        raise CheckpointError(f"{what}: its mapping makes {widths[-1]} numbers, not the w_dim {w_dim} its styles read "
                              "(a w per layer, genforce's repeat_w=False, is not read)")
    if any(n != w_dim for n in widths):
        raise CheckpointError(f"{what}: its mapping's layers are {widths} wide; facegan's are all w_dim ({w_dim}) wide")
    chans = {2 ** (k + 2): shape(f"synthesis.layer{2 * k}.bias", 1)[0] for k in range(n_layers // 2)}
    cfg = _config(what, z_dim, w_dim, n_map, chans, architecture="stylegan1", discriminators=False,
                  mapping_lr=GENFORCE_MAPPING_LR, conv_clamp=0.0)

    names = _genforce_names(n_map, n_layers)
    lod = g.get("synthesis.lod")
    if lod is not None and (lod.numel() != 1 or float(lod) != 0):
        raise CheckpointError(f"{what}: synthesis.lod is {lod.flatten()[:1].tolist()}, not 0: a generator in the middle "
                              "of progressive growing (facegan draws the grown network, lod 0)")
    f = stylegan1.blur_filter()
    blurs = [f"synthesis.layer{2 * k}.blur.kernel" for k in range(1, n_layers // 2)]
    for k in blurs:  # (C, 1, 3, 3): a kernel other than [1, 2, 1] would give other images
        t = g.get(k)
        if t is not None and (t.dim() != 4 or t.shape[1:] != (1, 3, 3) or not torch.allclose(t.float(), f.expand_as(t))):
            raise CheckpointError(f"{what}: {k} is not the [1, 2, 1] blur kernel of genforce's StyleGAN")
    unused = {"synthesis.lod", *blurs, *(f"synthesis.output{j}.{p}" for j in range(n_layers // 2 - 1)
                                         for p in ("weight", "bias"))}
    unexpected = [k for k in g if k not in names and k not in unused]
    if unexpected:
        raise CheckpointError(f"{what} has tensors genforce's StyleGAN (v1) layout does not: {listed(unexpected)}")
    missing = [k for k in names if k not in g]
    if missing:
        raise CheckpointError(f"{what} lacks tensors of genforce's StyleGAN (v1) layout: {listed(missing)}")
    state, back = {}, {}
    for k, (ours, how) in names.items():
        # genforce's dense layers are lrelu(x W g sqrt 2 + b), facegan's lrelu(x W g + b') sqrt 2: b' = b / sqrt 2
        state[ours] = g[k] / stylegan.SQRT2 if how == "bias" else _reshaped(g[k], how)
        back[ours] = (k, tuple(g[k].shape))
    model = _new_model(cfg)
    _load(model, state, back, what)
    if key is not None and "discriminator" in nets:
        warnings.warn(f"{path}: its discriminator is not converted (genforce's StyleGAN D is ProGAN's progressive one, "
                      "which facegan does not have): the model is generator-only, it draws but cannot be trained",
                      UserWarning, stacklevel=3)
    return model, {"source": GENFORCE, "format": f"genforce StyleGAN (v1) state_dict ({key or 'a bare generator'})",
                   "discriminator": False, "w_avg": "the file's truncation.w_avg",
                   "noise": "the file's apply_noise.noise buffers"}


# ----------------------------------------------------------------------------- converting


def convert(path: str | Path) -> stylegan.Model:
    """A rosinality ``.pt`` or a stylegan2-ada-pytorch ``.pkl`` -> a facegan StyleGAN2, a genforce
    StyleGAN (v1) file -> a generator-only facegan StyleGAN with ``architecture="stylegan1"``; in eval mode.

    The model's ``converted_from`` attribute says what was read (source, format, whether D was,
    where w_avg came from); ``provenance`` and ``model_card`` use it. Raises ``CheckpointError``
    for anything else, with the reason in one line."""
    source, obj = read(path)
    model, info = {ROSINALITY: _from_rosinality, NVLABS: _from_nvlabs, GENFORCE: _from_genforce}[source](obj, path)
    if model.discriminator is not None and not info["discriminator"]:
        warnings.warn(f"{path} has no discriminator: the converted D is freshly initialised, so its scores mean "
                      "nothing (generating works)", UntrainedDiscriminatorWarning, stacklevel=2)
    model.converted_from = info
    return model.eval()


def provenance(path: str | Path, model: stylegan.Model) -> dict:
    """What ``config.json`` records about the source (``hub.save_pretrained(extra_config=...)``)."""
    info = model.converted_from
    out = common.provenance(info["source"], path, path if info["discriminator"] else None,
                            "its scores mean nothing", names=("file", "discriminator_file"))["converted_from"]
    del out["discriminator_file"], out["discriminator_file_sha256"]  # G and D come from the one file
    if model.discriminator is None:
        out["discriminator"] = "not included (generator-only)"
    return {"converted_from": {**out, "format": info["format"], "w_avg": info["w_avg"], "noise": info["noise"]}}


def model_card(model: stylegan.Model, path: str | Path) -> str:
    """A README.md for the converted checkpoint: where it came from, its sizes and latents."""
    c, info = model.config, model.converted_from
    meta = provenance(path, model)["converted_from"]
    src, v1 = info["source"], c.architecture == "stylegan1"
    name = "StyleGAN (v1)" if v1 else "StyleGAN2"
    d_line = ("- D: converted from the same file" if info["discriminator"] else
              "- D: **not included**: a generator-only checkpoint, it draws but cannot be trained" if v1 else
              "- D: **none in the file**. D is freshly initialised (seed 0): its scores mean nothing.")
    chans = ", ".join(f"{r}: {stylegan.channels(c, r)}" for r in c.resolutions)
    layers = ("StyleGAN v1's synthesis (AdaIN, no demodulation; facegan.models.stylegan1)" if v1 else
              f"conv_clamp {c.conv_clamp or 'none'}")
    q = f"{latent.bytes_to_z([255], 'normal').item():.2f}"
    return f"""---
library_name: facegan
tags: [gan, {'stylegan' if v1 else 'stylegan2'}, image-generation, converted]
---

# {name} converted from {src}

A {name} trained with [{src}]({URLS[src]}), converted to facegan's checkpoint format by
`facegan convert stylegan`. What it draws depends on its training data.

- file: `{meta['file']}` (sha256 `{meta['file_sha256']}`), {info['format']}
{d_line}
- {c.image_size}x{c.image_size} RGB in [-1, 1]; z_dim {c.z_dim}, w_dim {c.w_dim}, {c.mapping_layers} mapping layers,
  channels per resolution {chans}; {layers}
- w_avg (the truncation centre): {info['w_avg']}; fixed noise: {info['noise']}

The conversion is exact: with the same z, psi and the fixed noise (`noise_mode="const"`), G gives
the source's images (float32){', and D its scores' if info['discriminator'] else ''}.

## Latents

z ~ N(0, 1) of {c.z_dim} dimensions (`"prior": "normal"`); a face's code is {2 * c.z_dim} hex
digits, one byte b per dimension, z = Phi^-1((b + 0.5) / 256) (about -{q} to {q}).

```
facegan generate stylegan --checkpoint <this folder> --seed 0 --count 8 --psi 0.7 --out grid.png
```

```python
from facegan import hub
model = hub.load_folder("<this folder>")
x = model.generate(model.sample_latent(8), psi=0.7)  # (8, 3, {c.image_size}, {c.image_size}) in [-1, 1]
```
"""

