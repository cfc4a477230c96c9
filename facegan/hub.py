"""Checkpoints as data: a folder of ``config.json`` + ``model.safetensors`` (+ README.md card).

The same layout as huggingface_hub's ``PyTorchModelHubMixin``, so a local folder and a
Hub repo are interchangeable. A checkpoint reference is a local folder, ``<repo id>@<revision>``
(a facegan folder on the Hub, downloaded with ``hf_hub_download`` pinned to that revision into
the normal HF cache) or ``<repo id>@<revision>:<file>``: one foreign checkpoint file of that repo
(a rosinality ``.pt``, a stylegan2-ada-pytorch ``.pkl``), downloaded the same way and converted
once, by ``facegan.convert``, into a facegan folder beside it in the cache.
``checkpoints/manifest.json`` names each app's default: its bundled folder and sha256, and, only
for a checkpoint really published (``push``), a Hub repo pinned to a 40-hex commit sha, tried
first. An entry whose name is not a technique's (``"stargan-anime-fer"``) says its ``technique``:
a further bundled checkpoint that the app lists beside the default.
"""

from __future__ import annotations

import dataclasses
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

from facegan import convert, models
from facegan.checks import quote
from facegan.files import CheckpointError, sha256_of  # noqa: F401 (hub.CheckpointError, hub.sha256_of: API)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "checkpoints" / "manifest.json"


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


SUMMARY_KEY = "summary"  # config.json: {"images_seen", "figures", "interim"}, what the tabs' model line says


def summary_line(folder: str | os.PathLike) -> str:
    """One short line saying what the checkpoint in ``folder`` is: its name, the images it has seen
    and its measured figures, with "interim" where its card says it is not trained to its target.
    From config.json's ``"summary"`` (the bundled models' cards); a training run's checkpoint from
    its run (steps x batch); a converted one from its source; else that it was not measured."""
    folder = Path(folder)
    try:
        config = read_config(folder)
    except CheckpointError as e:
        return str(e)
    name = folder.name
    if folder.parent.name == "checkpoints" and (folder.parent.parent / "run.json").is_file():
        name = f"run {folder.parent.parent.name}, {folder.name}"  # a run's checkpoint
    parts = [f"**{name}**"]
    card = config.get(SUMMARY_KEY) if isinstance(config.get(SUMMARY_KEY), dict) else {}
    seen = card.get("images_seen")
    if not isinstance(seen, int) and (m := re.fullmatch(r"step-(\d+)", folder.name)):
        try:
            run = json.loads((folder.parent.parent / "run.json").read_text())
            seen = int(m[1]) * int(run["train_config"]["batch_size"])
        except (OSError, ValueError, KeyError, TypeError):
            seen = None
    source = config.get("converted_from", {}).get("source") if isinstance(config.get("converted_from"), dict) else None
    if isinstance(seen, int):
        parts.append(f"{seen:,} images seen")
    elif source:
        parts.append(f"converted from {source}")
    figures = card.get("figures")
    parts.append(str(figures) if isinstance(figures, str) and figures else "no measured figures in its card")
    if card.get("interim"):
        parts.append("interim: not trained to its target yet")
    return " · ".join(parts)


def load_folder(folder: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """A model from a checkpoint folder, strictly (every tensor present, no extra ones), in eval mode."""
    folder = Path(folder)
    raw = read_config(folder)
    technique = raw.get("technique")
    try:
        spec = models.spec(technique)
    except ValueError as e:
        raise CheckpointError(f"{folder / CONFIG_NAME}: {e}") from e
    fields = {f.name for f in dataclasses.fields(spec.Config)}
    try:
        cfg = spec.Config(**{k: v for k, v in raw.items() if k in fields})
        model = spec.Model(cfg)
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


# The Hub's rule for a namespace or repo name: letters, digits, "_", "-", ".", beginning and ending
# with a letter, digit or "_", no "--" or ".." (huggingface_hub's validate_repo_id).
_REPO_PART = re.compile(r"\w(?:[\w.-]{0,94}\w)?")
# What a ``<repo>@<revision>:<file>`` reference may say (stricter than the Hub: it comes from strangers):
# a branch, tag, refs/pr/N or commit hash; a relative "/"-separated path whose parts do not start with "."
_REVISION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}")
_FILE_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,127}")
MAX_FILE_PATH, MAX_FILE_DEPTH = 256, 8
MAX_FOREIGN_BYTES = 2 * 1024**3  # the largest foreign file a reference downloads (a 1024 px pickle is ~380 MB)
CONVERTED_DIR = "facegan-converted"  # in the repo's folder of the HF cache, beside its snapshots/
CONVERT_LOCK_TIMEOUT_S = 600
_COMMIT = re.compile(r"[0-9a-f]{40}")  # what a manifest's "revision" must be: a commit sha, which no push can move


def _is_repo_id(repo: str) -> bool:
    parts = repo.split("/")
    return len(parts) == 2 and all(_REPO_PART.fullmatch(p) and "--" not in p and ".." not in p for p in parts)


def parse_ref(ref: str) -> tuple[str, str] | None:
    """``"user/repo@rev"`` -> ``("user/repo", "rev")``; None for anything that is not a Hub ref
    (an existing path, no revision, no namespace, a name the Hub would not accept, or a
    ``<repo>@<revision>:<file>`` reference: no git revision has a ":")."""
    if "@" not in ref or os.path.exists(ref):
        return None
    repo, rev = ref.rsplit("@", 1)
    if not rev.strip() or rev != rev.strip() or ":" in rev or not _is_repo_id(repo):
        return None
    return repo, rev


def parse_file_ref(ref: str) -> tuple[str, str, str] | None:
    """``"user/repo@rev:path/in/repo.pkl"`` -> ``("user/repo", "rev", "path/in/repo.pkl")``, a
    foreign checkpoint file on the Hub (``download_foreign``); None for a reference without
    ``@...:`` (a folder, ``repo@revision``). A reference of this form that facegan does not
    accept (no revision, ``..``, an absolute path, odd characters, too long) is a CheckpointError
    saying which part is wrong. The file system is never looked at: what an app visitor sends in
    this form is only ever downloaded (``resolve`` takes an existing local folder first)."""
    ref = str(ref)
    repo, at, rest = ref.partition("@")
    if not at or ":" not in rest:
        return None
    rev, _, filename = rest.partition(":")
    if not (repo.isascii() and _is_repo_id(repo)):
        raise CheckpointError(f"{quote(repo)} is not a Hub repo id: <namespace>/<name>, letters, digits, '-', '_' "
                              "and '.' (as in <repo>@<revision>:<file>)")
    if not _REVISION.fullmatch(rev) or ".." in rev or "//" in rev or rev.endswith(("/", ".lock")):
        raise CheckpointError(f"the revision {quote(rev)} of {repo} is not a branch, tag or commit hash: a "
                              "reference to a file is pinned, <repo>@<revision>:<file>")
    what = f"the file {quote(filename)} of {repo}@{rev}"
    if not filename:
        raise CheckpointError(f"{repo}@{rev}: names no file after the ':' (<repo>@<revision>:<path in the repo>)")
    if len(filename) > MAX_FILE_PATH:
        raise CheckpointError(f"{what} is a path of more than {MAX_FILE_PATH} characters")
    if filename.startswith(("/", "\\")) or "\\" in filename or ":" in filename:
        raise CheckpointError(f"{what} is not a path in the repo: give it relative to the repo's root, "
                              "'/'-separated (<repo>@<revision>:nets/network.pkl)")
    parts = filename.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise CheckpointError(f"{what} is refused: a path in the repo may not contain '..', '.' or empty parts")
    if len(parts) > MAX_FILE_DEPTH or not all(_FILE_PART.fullmatch(p) for p in parts):
        raise CheckpointError(f"{what} is refused: a path in the repo is at most {MAX_FILE_DEPTH} parts, each of "
                              "letters, digits, '_', '-', '+' and '.', not starting with '.'")
    return repo, rev, filename


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


def _hub_files(repo_id: str, revision: str, names: list[str], label: str, max_bytes: int | None = None,
               sized: tuple[str, str] | None = None) -> list[Path]:
    """``names`` of ``repo_id`` at ``revision``: from the HF cache without touching the network,
    else downloaded. ``sized`` (a name, how messages call it): the file whose size the Hub
    declares must be at most ``max_bytes``, checked before any byte of it is downloaded
    (huggingface_hub then checks that the download has that size)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    def fetch(local_only: bool) -> list[Path]:
        return [Path(hf_hub_download(repo_id, name, revision=revision, local_files_only=local_only))
                for name in names]

    try:
        return fetch(local_only=True)
    except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), or a repo id the Hub refuses
        if offline_mode():
            raise CheckpointError(f"{label} is not in the HF cache and HF_HUB_OFFLINE is set")
        if not endpoint_reachable():
            raise CheckpointError(f"the Hugging Face Hub ({hub_endpoint()}) cannot be reached to download {label}")
        try:
            if max_bytes is not None and sized is not None:
                size = get_hf_file_metadata(hf_hub_url(repo_id, sized[0], revision=revision)).size
                if size is None or size > max_bytes:
                    raise CheckpointError(f"{sized[1]} is "
                                          f"{'of unknown size' if size is None else f'{size / 1e6:,.0f} MB'}: "
                                          f"at most {max_bytes / 1e6:,.0f} MB are downloaded here")
            return fetch(local_only=False)
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"could not download {label}: {_hub_reason(e, revision)}") from e


def _hub_reason(e: Exception, revision: str) -> str:
    """huggingface_hub's error in a few words, on one line."""
    from huggingface_hub import errors

    if isinstance(e, errors.RevisionNotFoundError):
        return f"the repo has no revision {quote(revision)}"
    if isinstance(e, errors.RepositoryNotFoundError):  # GatedRepoError too
        return "no such repo on the Hub (or it is private or gated)"
    if isinstance(e, errors.EntryNotFoundError):
        return f"the repo has no such file at revision {quote(revision)}"
    return " ".join(str(e).split())[:300] or type(e).__name__


def download(repo_id: str, revision: str, sha256: str | None = None, max_bytes: int | None = None) -> Path:
    """The checkpoint folder of ``repo_id`` at ``revision`` in the HF cache.

    A cached copy is used without touching the network; otherwise the files are
    downloaded. When ``sha256`` is given, ``model.safetensors`` must match it. ``max_bytes``
    (the app's: a stranger may name any repo) refuses weights larger than that before any
    byte of them is downloaded, from the size the Hub declares.
    """
    label = f"{repo_id}@{revision}"
    weights = _hub_files(repo_id, revision, [CONFIG_NAME, WEIGHTS_NAME], label, max_bytes,
                         (WEIGHTS_NAME, f"{label}/{WEIGHTS_NAME}"))[1]
    if sha256 and sha256_of(weights) != sha256:
        raise CheckpointError(f"sha256 of {repo_id}@{revision}/{WEIGHTS_NAME} does not match the manifest: "
                              "refusing to load it")
    return weights.parent


_SHA256_SEEN: dict[tuple, str] = {}  # (path, size, mtime, inode) -> sha256: a big file is hashed once a process


def _sha256_once(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _SHA256_SEEN:
        if len(_SHA256_SEEN) > 64:
            _SHA256_SEEN.clear()
        _SHA256_SEEN[key] = sha256_of(path)
    return _SHA256_SEEN[key]


def download_foreign(repo_id: str, revision: str, filename: str, technique: str | None = None,
                     max_bytes: int | None = MAX_FOREIGN_BYTES) -> Path:
    """A foreign checkpoint file on the Hub (``<repo>@<revision>:<file>``: a rosinality ``.pt``, a
    stylegan2-ada-pytorch ``.pkl``) as a facegan checkpoint folder, converted once.

    The file is downloaded with ``hf_hub_download`` pinned to ``revision`` into the HF cache
    (refused before any byte of it when the Hub declares more than ``max_bytes``), and converted
    by the first of ``facegan.convert.file_converters`` (by its suffix; only ``technique``'s when
    given) that reads it, as data only (a ``.pkl`` through the restricted unpickler), into
    ``<the repo's folder in the HF cache>/facegan-converted/<commit>/<sha256 of the file>-<technique>/``.
    The folder is written in a temporary folder and renamed, under a file lock: a concurrent
    call waits and then finds the whole folder, and every later call (any process) uses it
    without converting again, and without the network once the file is cached.
    """
    from filelock import FileLock, Timeout

    spec = f"{repo_id}@{revision}:{filename}"
    candidates = convert.file_converters(filename, technique)
    if not candidates:
        raise CheckpointError(_no_converter(spec, filename, technique))
    local = _hub_files(repo_id, revision, [filename], spec, max_bytes, (filename, spec))[0]
    snapshot = local.parents[len(filename.split("/")) - 1]  # .../models--<ns>--<name>/snapshots/<commit>
    if snapshot.parent.name != "snapshots":
        raise CheckpointError(f"{spec}: hf_hub_download put it outside the HF cache's layout")
    commit, sha = snapshot.name, _sha256_once(local)
    base = snapshot.parent.parent / CONVERTED_DIR / commit
    folders = [(c, base / f"{sha}-{c.technique}") for c in candidates]
    for _, folder in folders:
        if folder.is_dir():
            return folder
    base.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(base / f".{sha}.lock"), timeout=CONVERT_LOCK_TIMEOUT_S):
            for _, folder in folders:  # converted while this call waited for the lock
                if folder.is_dir():
                    return folder
            errors = []
            for converter, folder in folders:
                try:
                    model, card, extra = _convert_file(converter, local, spec)
                except CheckpointError as e:
                    errors.append((converter.technique, str(e)))
                    continue
                extra = {**extra, "converted_from": {**extra.get("converted_from", {}), "hub": {
                    "repo": repo_id, "revision": revision, "commit": commit, "file": filename}}}
                card += (f"\n## On the Hub\n\n`{repo_id}@{commit}:{filename}` (asked for as `{spec}`), sha256 "
                         f"`{sha}`, converted by facegan when first used.\n")
                tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=base))
                tmp.chmod(0o755)  # mkdtemp makes it private; a checkpoint is meant to be shared
                try:
                    write_model_files(model, tmp, card, extra_config=extra)
                    try:
                        os.rename(tmp, folder)  # atomic: a reader sees no folder or the whole one
                    except OSError:
                        if not folder.is_dir():
                            raise
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                return folder
    except Timeout:
        raise CheckpointError(f"{spec} is being converted by another process for more than "
                              f"{CONVERT_LOCK_TIMEOUT_S} s; try again later") from None
    if len(errors) == 1:
        raise CheckpointError(errors[0][1] if spec in errors[0][1] else f"{spec}: {errors[0][1]}")
    raise CheckpointError(f"no facegan converter reads {spec}: " + "; ".join(f"{t}: {m}" for t, m in errors))


def _no_converter(spec: str, filename: str, technique: str | None) -> str:
    suffix = Path(filename).suffix.lower() or "(none)"
    known = "; ".join(f"{c.technique} from {', '.join(c.suffixes)}" for c in convert.FILE_CONVERTERS)
    if technique is not None and not any(c.technique == technique for c in convert.FILE_CONVERTERS):
        return (f"{spec}: facegan converts no {technique} checkpoint from a single file (it converts {known}); a "
                f"facegan folder on the Hub is <repo>@<revision>")
    return f"{spec}: facegan has no converter for {suffix} files{f' of {technique}' if technique else ''} ({known})"


def _convert_file(converter, local: Path, spec: str) -> tuple[torch.nn.Module, str, dict]:
    """``converter.convert(local)``, its messages and warnings naming ``spec``, not the cache path."""
    import warnings

    def named(message) -> str:
        return " ".join(str(message).replace(str(local), spec).split())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = converter.convert(local)
        except CheckpointError as e:
            raise CheckpointError(named(e)) from None
        except Exception as e:  # a converter should say CheckpointError; anything else is the file's fault too
            raise CheckpointError(f"{spec} could not be converted to {converter.technique}: "
                                  f"{type(e).__name__}: {named(e)[:200]}") from e
    for w in caught:
        warnings.warn(named(w.message), w.category, stacklevel=3)
    return out


def resolve(ref: str | os.PathLike, technique: str | None = None) -> Path:
    """A checkpoint reference -> a local folder: a local folder, ``repo@revision`` (downloaded) or
    ``repo@revision:file`` (a foreign file, downloaded and converted once; ``technique`` picks
    the converter, else the file's suffix and contents do)."""
    ref = str(ref)
    if Path(ref).is_dir():
        return Path(ref)
    try:
        foreign = parse_file_ref(ref)
    except CheckpointError as e:
        raise CheckpointError(f"{quote(ref)}: {e}") from None
    if foreign is not None:
        return download_foreign(*foreign, technique=technique)
    hub = parse_ref(ref)
    if hub is None:
        raise CheckpointError(f"{ref!r} is neither a checkpoint folder nor a '<hub repo id>@<revision>' "
                              "(or '<hub repo id>@<revision>:<file>') reference")
    return download(*hub)


def load(ref: str | os.PathLike, device: str | torch.device = "cpu", technique: str | None = None) -> torch.nn.Module:
    """Load a model from a local folder, ``repo@revision`` or ``repo@revision:file`` (see ``resolve``)."""
    return load_folder(resolve(ref, technique), device)


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
    if entry.get("repo") and not _COMMIT.fullmatch(str(entry.get("revision", ""))):
        # a tag or branch can be moved to other weights; the sha256 would then refuse them every time
        reason = (f"the manifest's revision {quote(str(entry.get('revision')))} of {entry['repo']} is not a commit "
                  "sha (a manifest repo must be pinned to a 40-hex commit sha)")
    elif entry.get("repo"):
        try:
            folder = download(entry["repo"], entry["revision"], entry.get("sha256"))
            return Default(folder, "hub", f"Loaded {entry['repo']}@{entry['revision']} from the Hugging Face Hub.")
        except CheckpointError as e:
            reason = str(e)
    else:
        reason = "the manifest names no Hub repo (this checkpoint is not published on the Hugging Face Hub)"
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


# ----------------------------------------------------------------------------- sharing on the Hub


PUSHED_IMAGES = (".png", ".gif", ".jpg", ".jpeg", ".webp")  # the card's pictures; nothing else besides the three files
PIPELINE_TAGS = {"dcgan": "unconditional-image-generation", "stylegan": "unconditional-image-generation",
                 "stargan": "image-to-image", "ugatit": "image-to-image"}


def push_files(folder: str | os.PathLike) -> tuple[list[Path], str]:
    """What ``push`` uploads from a checkpoint folder: config.json, model.safetensors, README.md
    and the folder's pictures (never training_state.pt or anything else), and the card as the Hub
    gets it: its YAML front matter with ``library_name: facegan`` and the tags ``facegan`` and the
    technique added when missing (the folder itself is not changed). A folder that is not a
    loadable facegan checkpoint with a card is a CheckpointError."""
    from huggingface_hub import ModelCard

    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a folder: push takes a facegan checkpoint folder")
    for name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME):
        if not (folder / name).is_file():
            raise CheckpointError(f"no {name} in {folder}: push takes a facegan checkpoint folder "
                                  f"({CONFIG_NAME}, {WEIGHTS_NAME} and a {CARD_NAME} model card)")
    model = load_folder(folder)  # the same strict check as every load: a folder nobody can load is not shared
    try:
        card = ModelCard((folder / CARD_NAME).read_text(encoding="utf-8"), ignore_metadata_errors=False)
    except Exception as e:  # yaml's errors, a front matter that is not a mapping
        raise CheckpointError(f"{folder / CARD_NAME}: its YAML front matter cannot be read: "
                              f"{' '.join(str(e).split())[:200]}") from e
    technique = models.technique_of(model)
    data = card.data
    data.library_name = data.library_name or "facegan"
    tags = data.tags if isinstance(data.tags, list) else ([data.tags] if data.tags else [])
    data.tags = tags + [t for t in ("facegan", technique) if t not in tags]
    if not getattr(data, "pipeline_tag", None) and technique in PIPELINE_TAGS:
        data.pipeline_tag = PIPELINE_TAGS[technique]
    files = [folder / CONFIG_NAME, folder / WEIGHTS_NAME, folder / CARD_NAME]
    files += sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PUSHED_IMAGES)
    return files, str(card)


def push(folder: str | os.PathLike, repo_id: str, revision: str | None = None, private: bool = False,
         token: str | None = None, message: str | None = None) -> tuple[str, str]:
    """Upload a checkpoint folder (``push_files``) to the Hub model repo ``repo_id`` in one commit on
    the branch ``revision`` (default main; created from main when missing), creating the repo
    (``private`` if asked) when it does not exist. Returns (the commit sha, its URL): the sha is
    what a manifest or a ``<repo>@<revision>`` reference pins."""
    from huggingface_hub import CommitOperationAdd, HfApi

    if not _is_repo_id(repo_id):
        raise CheckpointError(f"{quote(repo_id)} is not a Hub repo id: <namespace>/<name>, letters, digits, "
                              "'-', '_' and '.'")
    if revision is not None and (not _REVISION.fullmatch(revision) or ".." in revision):
        raise CheckpointError(f"{quote(revision)} is not a branch name")
    files, card = push_files(folder)
    ops = [CommitOperationAdd(p.name, card.encode() if p.name == CARD_NAME else str(p)) for p in files]
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private or None, exist_ok=True)  # None: the namespace's default
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.create_commit(repo_id, ops, revision=revision,
                                 commit_message=message or f"facegan push {Path(folder).name}")
    except Exception as e:
        raise CheckpointError(f"could not push {folder} to {repo_id}: {_hub_reason(e, revision or 'main')}") from e
    return info.oid, info.commit_url
