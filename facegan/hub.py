"""Checkpoints as data: a folder of ``config.json`` + ``model.safetensors`` (+ README.md card).

The same layout as huggingface_hub's ``PyTorchModelHubMixin``, so a local folder and a
Hub repo are interchangeable. A checkpoint reference is either a local folder or
``<repo id>@<revision>``; the latter is downloaded with ``hf_hub_download`` pinned to
that revision into the normal HF cache. ``checkpoints/manifest.json`` names each app's
default: a Hub repo, revision and sha256, and the bundled folder used when the Hub
cannot be reached. An entry whose name is not a technique's (``"stargan-anime-fer"``) says
its ``technique``: a further bundled checkpoint that the app lists beside the default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from safetensors.torch import load_file, save_file

from facegan import models

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "checkpoints" / "manifest.json"


class CheckpointError(ValueError):
    """A checkpoint reference that cannot be loaded; the message says why."""


# ----------------------------------------------------------------------------- save / load


SCALE_SUFFIX = "::scale"  # the per-channel scale of an int8 tensor "<key>" is stored as "<key>::scale"
INT8_MIN_NUMEL = 1024  # smaller tensors (norms, biases) are not worth quantizing


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight-only int8, symmetric, one scale per slice of dim 0 (a conv's output channel):
    ``w ≈ q * scale`` with q in [-127, 127]; the error is at most half a step, max|w| / 254."""
    flat = w.detach().float().flatten(1)
    scale = flat.abs().amax(1).clamp_min(1e-12) / 127
    q = (flat / scale[:, None]).round().clamp(-127, 127).to(torch.int8)
    return q.view(w.shape), scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (q.float().flatten(1) * scale.float()[:, None]).view(q.shape)


def save_pretrained(model: torch.nn.Module, folder: str | os.PathLike, card: str | None = None,
                    dtype: torch.dtype | None = None, extra_config: dict | None = None, int8: bool = False) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (+ ``README.md``) into ``folder``.

    The files are written into a temporary folder beside it and renamed into place, so a
    crash never leaves a half-written checkpoint. ``dtype`` (e.g. ``torch.float16``)
    shrinks floating-point weights for shipping; BatchNorm counters stay integer. ``int8``
    also stores the conv / linear weights as int8 with a float32 scale per output channel
    (``quantize_int8``; about half the size of float16), dequantized when loaded.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a checkpoint is meant to be shared
    try:
        write_model_files(model, tmp, card, dtype, extra_config, int8)
        replace_dir(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def write_model_files(model: torch.nn.Module, folder: Path, card: str | None = None,
                      dtype: torch.dtype | None = None, extra_config: dict | None = None, int8: bool = False) -> None:
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().to("cpu")
        if int8 and v.is_floating_point() and v.ndim >= 2 and v.numel() >= INT8_MIN_NUMEL:
            v, state[k + SCALE_SUFFIX] = quantize_int8(v)
        elif dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        state[k] = v.contiguous()
    save_file(state, folder / WEIGHTS_NAME, metadata={"format": "pt"})
    (folder / WEIGHTS_NAME).chmod(0o644)  # safetensors writes it private; a checkpoint is meant to be shared
    config = {"technique": models.technique_of(model), **dataclasses.asdict(model.config), **(extra_config or {})}
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    if card:
        (folder / CARD_NAME).write_text(card)


def replace_dir(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` with renames only: ``dst`` is either the old or the new folder."""
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


def read_config(folder: str | os.PathLike) -> dict:
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"no {CONFIG_NAME} in {folder}: not a facegan checkpoint folder")
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    return config


def load_folder(folder: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """A model from a checkpoint folder, strictly (every tensor present, no extra ones), in eval mode."""
    folder = Path(folder)
    raw = read_config(folder)
    technique = raw.get("technique")
    try:
        module = models.get(technique)
    except ValueError as e:
        raise CheckpointError(f"{folder / CONFIG_NAME}: {e}") from e
    fields = {f.name for f in dataclasses.fields(module.Config)}
    try:
        cfg = module.Config(**{k: v for k, v in raw.items() if k in fields})
        model = module.Model(cfg)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{folder / CONFIG_NAME} is not a valid {technique} config: {e}") from e
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"no {WEIGHTS_NAME} in {folder}")
    try:
        state = load_file(weights)
    except Exception as e:  # safetensors raises its own SafetensorError for a damaged file
        raise CheckpointError(f"{weights} is not a readable safetensors file: {e}") from e
    try:
        state = _dequantize(state)
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"{weights}: an int8 tensor does not fit its scale: {e}") from e
    own = model.state_dict()
    missing, unexpected = own.keys() - state.keys(), state.keys() - own.keys()
    if missing or unexpected:
        raise CheckpointError(f"{weights} does not match a {technique} model with this config: "
                              f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items() if state[k].shape != v.shape]
    if wrong:
        raise CheckpointError(f"{weights} does not match a {technique} model with the config in {CONFIG_NAME}: "
                              f"tensor shapes differ (file vs model): {', '.join(wrong[:3])}"
                              + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)
    # what config.json says beyond the Config: provenance of a conversion, figures measured on it
    model.extra_config = {k: v for k, v in raw.items() if k not in fields and k != "technique"}
    return model.to(device).eval()


def _dequantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``<key>`` int8 + ``<key>::scale`` -> ``<key>`` float32 (a file written with ``int8=True``)."""
    out = {k: v for k, v in state.items() if not k.endswith(SCALE_SUFFIX)}
    for k, scale in state.items():
        if k.endswith(SCALE_SUFFIX):
            key = k[: -len(SCALE_SUFFIX)]
            out[key] = dequantize_int8(state[key], scale)
    return out


# ----------------------------------------------------------------------------- the Hub


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# The Hub's rule for a namespace or repo name: letters, digits, "_", "-", ".", beginning and ending
# with a letter, digit or "_", no "--" or ".." (huggingface_hub's validate_repo_id).
_REPO_PART = re.compile(r"\w(?:[\w.-]{0,94}\w)?")


def parse_ref(ref: str) -> tuple[str, str] | None:
    """``"user/repo@rev"`` -> ``("user/repo", "rev")``; None for anything that is not a Hub ref
    (an existing path, no revision, no namespace, or a name the Hub would not accept)."""
    if "@" not in ref or os.path.exists(ref):
        return None
    repo, rev = ref.rsplit("@", 1)
    parts = repo.split("/")
    if len(parts) != 2 or not rev.strip() or rev != rev.strip():
        return None
    if not all(_REPO_PART.fullmatch(p) and "--" not in p and ".." not in p for p in parts):
        return None
    return repo, rev


def hub_endpoint() -> str:
    """The endpoint huggingface_hub downloads from: HF_ENDPOINT as it read it at import."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def endpoint_reachable(timeout: float = 2.0) -> bool:
    """A fast TCP probe of the Hub endpoint (or of the proxy that requests to it go through),
    so an offline machine falls back in milliseconds instead of waiting through
    huggingface_hub's retries."""
    url = urlparse(hub_endpoint())
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    proxies = urllib.request.getproxies()  # the same *_PROXY / NO_PROXY variables httpx reads
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy and host and not urllib.request.proxy_bypass(host):
        p = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = p.hostname, p.port or (443 if p.scheme == "https" else 80)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def offline_mode() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE), as huggingface_hub or the environment says now."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "0"
    return constants.is_offline_mode() or env.strip().lower() in ("1", "true", "yes", "on")


def download(repo_id: str, revision: str, sha256: str | None = None, max_bytes: int | None = None) -> Path:
    """The checkpoint folder of ``repo_id`` at ``revision`` in the HF cache.

    A cached copy is used without touching the network; otherwise the files are
    downloaded. When ``sha256`` is given, ``model.safetensors`` must match it. ``max_bytes``
    (the app's: a stranger may name any repo) refuses weights larger than that before any
    byte of them is downloaded, from the size the Hub declares.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    def fetch(local_only: bool) -> Path:
        files = [hf_hub_download(repo_id, name, revision=revision, local_files_only=local_only)
                 for name in (CONFIG_NAME, WEIGHTS_NAME)]
        return Path(files[1])

    try:
        weights = fetch(local_only=True)
    except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), or a repo id the Hub refuses
        if offline_mode():
            raise CheckpointError(f"{repo_id}@{revision} is not in the HF cache and HF_HUB_OFFLINE is set")
        if not endpoint_reachable():
            raise CheckpointError(f"the Hugging Face Hub ({hub_endpoint()}) "
                                  f"cannot be reached to download {repo_id}@{revision}")
        try:
            if max_bytes is not None:
                size = get_hf_file_metadata(hf_hub_url(repo_id, WEIGHTS_NAME, revision=revision)).size
                if size is None or size > max_bytes:
                    raise CheckpointError(f"{repo_id}@{revision}/{WEIGHTS_NAME} is "
                                          f"{'of unknown size' if size is None else f'{size / 1e6:,.0f} MB'}: "
                                          f"at most {max_bytes / 1e6:,.0f} MB are downloaded here")
            weights = fetch(local_only=False)
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"could not download {repo_id}@{revision}: {e}") from e
    if sha256 and sha256_of(weights) != sha256:
        raise CheckpointError(f"sha256 of {repo_id}@{revision}/{WEIGHTS_NAME} does not match the manifest: "
                              "refusing to load it")
    return weights.parent


def resolve(ref: str | os.PathLike) -> Path:
    """A checkpoint reference (local folder or ``repo@revision``) -> a local folder."""
    ref = str(ref)
    if Path(ref).is_dir():
        return Path(ref)
    hub = parse_ref(ref)
    if hub is None:
        raise CheckpointError(f"{ref!r} is neither a checkpoint folder nor a '<hub repo id>@<revision>' reference")
    return download(*hub)


def load(ref: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load a model from a local folder or ``repo@revision``."""
    return load_folder(resolve(ref), device)


@dataclass
class Default:
    """The default checkpoint of an app: where it was found, and a notice for the user."""

    folder: Path
    source: str  # "hub" or "bundled"
    notice: str


def read_manifest(path: str | os.PathLike = MANIFEST) -> dict:
    return json.loads(Path(path).read_text())


def default_checkpoint(name: str, manifest: str | os.PathLike = MANIFEST) -> Default:
    """The manifest's default for ``name`` from the Hub (pinned revision, sha256 checked),
    else its bundled folder with a notice that says why."""
    entries = read_manifest(manifest)
    if name not in entries:
        raise CheckpointError(f"{manifest} names no default checkpoint {name!r}; it has {', '.join(entries) or 'none'}")
    entry = entries[name]
    bundled = (Path(manifest).parent / entry["bundled"]).resolve()
    if entry.get("repo") and entry.get("revision"):
        try:
            folder = download(entry["repo"], entry["revision"], entry.get("sha256"))
            return Default(folder, "hub", f"Loaded {entry['repo']}@{entry['revision']} from the Hugging Face Hub.")
        except CheckpointError as e:
            reason = str(e)
    else:
        reason = "the manifest names no Hub repo"
    if not (bundled / WEIGHTS_NAME).is_file():
        raise CheckpointError(f"default checkpoint {name!r}: {reason}, and the bundled folder {bundled} is missing")
    return Default(bundled, "bundled", f"Using the bundled checkpoint ({bundled.name}): {reason}.")


def bundled(technique: str, manifest: str | os.PathLike = MANIFEST) -> list[tuple[str, Path]]:
    """(entry name, folder) of the manifest's further bundled checkpoints of ``technique``:
    the entries that say ``"technique": technique`` under another name, whose folder exists."""
    out = []
    for name, entry in read_manifest(manifest).items():
        folder = (Path(manifest).parent / entry.get("bundled", "")).resolve()
        if name != technique and entry.get("technique") == technique and (folder / WEIGHTS_NAME).is_file():
            out.append((name, folder))
    return out
