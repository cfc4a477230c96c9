"""What a public server needs: on a Space or a share link every endpoint is called by strangers.

- Folders: the app reads checkpoints only from the bundled ones, the runs root, the Hub cache
  and folders the operator allows at launch; training data only from the data root and the
  operator's data folders; runs live under the runs root, named, not placed. A reference to
  anything else is refused with one message whatever is there, so errors tell nothing about
  the server's file system, and no message or config carries an absolute server path
  (``public``).
- Messages: every event goes through ``endpoint``: a refusal of the library (a ValueError) or
  of the app is a gr.Error with a short, path-free message and no traceback in the log; a bug
  is one logged traceback and a message that says so.
- Inputs: numbers reach the endpoints as sent (gradio's own rounding raises on "7", None or
  NaN); the endpoints check them with facegan.checks, naming the field. Other components'
  own refusals are cut short (gradio repeats the whole value sent).
- Files: gradio writes the pictures it serves to a cache named by their hash, truncating a
  file that may be being sent to another client (16 clients asking the same grid:
  "Too little data for declared Content-Length"); ``install_atomic_cache`` writes them under a
  temporary name and renames, once.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from facegan import checks, hub, jobs
from facegan import data as data_lib

log = logging.getLogger("facegan.app")
ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_REF_CHARS = 500  # a checkpoint reference or a data folder
MAX_HUB_BYTES = 1_000_000_000  # the weights a visitor's <repo>@<revision> may download (facegan's are 5-50 MB)


@dataclass
class Settings:
    """What the operator allows (``python apps/main.py --training ... --data-dir ... --checkpoint-dir ...``)."""

    training: bool = True
    data_dirs: list[Path] = field(default_factory=list)  # beside the data root
    checkpoint_dirs: list[Path] = field(default_factory=list)  # beside the bundled ones, the runs root, the Hub cache
    browser_rendering: bool = True  # single faces drawn in the visitor's browser (apps/browser.py); off: --server-rendering

    def __post_init__(self):
        self.data_dirs = [Path(p).expanduser().resolve() for p in self.data_dirs]
        self.checkpoint_dirs = [Path(p).expanduser().resolve() for p in self.checkpoint_dirs]


SETTINGS = Settings()


def configure(settings: Settings) -> None:
    global SETTINGS
    SETTINGS = settings


def training_default(host: str, share: bool) -> bool:
    """Training on by default only for a local app: strangers reaching it (another host, a share
    link, a Space) would otherwise start jobs on the operator's machine."""
    return host in LOCAL_HOSTS and not share and not os.environ.get("SPACE_ID")


# ----------------------------------------------------------------------------- folders


def bundled_root() -> Path:
    return hub.MANIFEST.parent.resolve()


def hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).expanduser().resolve()


def checkpoint_roots() -> dict[str, Path]:
    """name -> folder: where checkpoints may be read. A chooser value ``<name>/<rest>`` means
    ``folder/<rest>``; the Hub cache has no name (``repo@revision`` reaches it)."""
    roots = {"checkpoints": bundled_root(), "runs": jobs.runs_dir()}
    for d in SETTINGS.checkpoint_dirs:
        roots.setdefault(d.name, d)
    return roots


def data_roots() -> list[Path]:
    return [data_lib.data_root().resolve(), *SETTINGS.data_dirs]


def _inside(path: Path, roots) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def _resolve(text: str) -> Path:
    return Path(text).expanduser().resolve()  # symlinks and .. followed before any check


def resolve_checkpoint(ref: str) -> Path:
    """A chooser's typed or chosen folder (``runs/<run>/checkpoints/step-N``,
    ``checkpoints/<name>``, an absolute path) -> the folder, if it lies in an allowed root."""
    refused = checks.InputError(
        f"checkpoint {checks.quote(ref)} is not one this app offers: choose one from the list, or give "
        "<hub repo>@<revision>" + (" or a folder under the operator's checkpoint folders"
                                   if SETTINGS.checkpoint_dirs else ""))
    roots = checkpoint_roots()
    head, _, rest = ref.replace("\\", "/").partition("/")
    candidates = [_resolve(ref)] if os.path.isabs(ref) else []
    if head in roots:
        candidates.append((roots[head] / rest).resolve())
    allowed = [*roots.values(), hub_cache()]
    for path in candidates:
        if _inside(path, allowed):
            if not (path / hub.CONFIG_NAME).is_file():
                raise checks.InputError(f"{public(path)} is not a checkpoint folder (no {hub.CONFIG_NAME})")
            return path
    raise refused


def resolve_data(text: str, separator: str | None = None) -> str:
    """The Training tab's data folder(s) -> absolute paths inside the data roots, joined by
    ``separator`` (StarGAN's several data sets). A relative name is looked up in each data root."""
    text = checks.text(text, "data folder", MAX_REF_CHARS * 4).strip()
    parts = [p.strip() for p in (text.split(separator) if separator else [text]) if p.strip()]
    if not parts:
        raise checks.InputError("choose a data folder")
    roots = data_roots()
    found = []
    for part in parts:
        cands = [_resolve(part)] if os.path.isabs(part) else [(r / part).resolve() for r in roots]
        hit = next((c for c in cands if _inside(c, roots) and c.is_dir() and _in_a_set(c, roots)), None)
        if hit is None:
            raise checks.InputError(
                f"data folder {checks.quote(part)} is not one of this app's data sets: give a folder under the "
                f"data root (e.g. {', '.join(data_sets()[:3]) or 'anime-faces-64'})"
                + (" or under the operator's data folders" if SETTINGS.data_dirs else ""))
        found.append(str(hit))
    return (separator or "").join(found)


def _in_a_set(folder: Path, roots: list[Path]) -> bool:
    """``folder`` is one of the data roots' sets (a folder of a root, as ``data_sets`` lists them) or
    inside one; a root itself (``.``) or a folder beside the sets that holds other things than pictures
    (``detectors/``) is not. (A folder without files is let through, to be refused as one without images.)"""
    for root in roots:
        if folder.is_relative_to(root) and folder != root:
            top = root / folder.relative_to(root).parts[0]
            return _has_pictures(top) or next((f for f in top.rglob("*") if f.is_file()), None) is None
    return False


def _has_pictures(folder: Path) -> bool:
    return next((f for f in folder.rglob("*") if f.suffix.lower() in data_lib.IMAGE_EXTENSIONS), None) is not None


def data_sets() -> list[str]:
    """The data folders a user may name (the data roots' folders that hold pictures), public form."""
    out = []
    for root in data_roots():
        if root.is_dir():
            for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if _has_pictures(child):
                    out.append(public(child))
    return out


def run_folder(name) -> Path:
    """A run's name -> its folder under the runs root (a name, never a path)."""
    name = checks.text(name, "run", 200).strip()
    name = name.removeprefix("runs/")  # the form the choosers and status show
    if not RUN_NAME.fullmatch(name):
        raise checks.InputError(f"a run is named by letters, digits, '.', '_' and '-' (no folders), got "
                                f"{checks.quote(name)}")
    return jobs.runs_dir() / name


# ----------------------------------------------------------------------------- public text


def _named_roots() -> list[tuple[Path, str]]:
    named = [(p, f"{name}/") for name, p in checkpoint_roots().items()]
    named += [(r, "") for r in data_roots()]  # data sets are named relative to their root
    named += [(hub_cache(), "hub-cache/"), (ROOT, ""), (Path(tempfile.gettempdir()).resolve(), "tmp/")]
    home = Path.home().resolve()
    if home != Path("/"):
        named.append((home, "~/"))
    return sorted(named, key=lambda pn: -len(str(pn[0])))  # the deepest root first


def public(path: str | os.PathLike) -> str:
    """A server path as users may see it: relative to the root it lies in (``runs/x``,
    ``checkpoints/dcgan-anime-64``, ``anime-faces-64``), else only its last part."""
    path = Path(path)
    for root, name in _named_roots():
        if path == root or path.is_relative_to(root):
            rel = path.relative_to(root).as_posix()
            return (name + rel).rstrip("/") if rel != "." else (name.rstrip("/") or root.name)
    return path.name


_ABS_PATH = re.compile(r"(?<![\w.:/~])/(?:[^\s'\"`,;:()\[\]<>]+/)*[^\s'\"`,;:()\[\]<>]*")


def clean(message: str, limit: int = 600) -> str:
    """A message fit for a stranger: absolute paths made public, at most ``limit`` characters."""
    text = _ABS_PATH.sub(lambda m: public(m.group(0).rstrip(".")) + ("." if m.group(0).endswith(".") else ""),
                         str(message))
    return text if len(text) <= limit else text[:limit] + "…"


def refuse(message: str) -> gr.Error:
    """The gr.Error for a refusal: a clean message, not logged as a traceback."""
    return gr.Error(clean(message), print_exception=False)


# ----------------------------------------------------------------------------- events


REFUSALS = (ValueError, OSError, hub.CheckpointError, jobs.JobError, checks.InputError)


def endpoint(fn):
    """Every event function: refusals are clean gr.Errors, a bug is logged once and said to be one."""
    if getattr(fn, "_facegan_endpoint", False) or inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error as e:
            raise refuse(getattr(e, "message", str(e))) from None
        except REFUSALS as e:
            raise refuse(str(e)) from None
        except RecursionError:
            raise refuse("the input is nested too deeply") from None
        except MemoryError:
            raise refuse("the input needs more memory than this server gives one request") from None
        except Exception as e:  # a bug: its traceback in the log, once
            log.exception("error in %s", getattr(fn, "__name__", "an event"))
            raise refuse(f"internal error ({type(e).__name__}); the server's log has the details") from None

    wrapper._facegan_endpoint = True
    return wrapper


def _raw_number(self, payload):
    """Number / Slider: the value as sent; the endpoint checks it (facegan.checks) and names the field."""
    return payload


NOT_UPLOADED = "a file input must be uploaded with the request (a server path or a URL is not read)"


def _refusing_preprocess(preprocess):
    """Blocks.preprocess_data, where gradio checks and reads what a request sent, before any
    component's or event's code: its refusals become short, clean messages (gradio's own repeat
    the whole value sent, or say nothing: ``{"error": null}``), never a traceback in the log."""
    from gradio.exceptions import InvalidPathError

    @functools.wraps(preprocess)
    async def wrapper(block_fn, inputs, *args, **kwargs):
        if isinstance(inputs, list) and len(inputs) > len(block_fn.inputs):  # gradio drops the extra ones unsaid
            raise refuse(f"this endpoint takes {len(block_fn.inputs)} inputs, got {len(inputs)}: send what the "
                         "endpoint's API page describes")
        try:
            return await preprocess(block_fn, inputs, *args, **kwargs)
        except InvalidPathError:  # a FileData naming a server file: the same message whatever is there
            raise refuse(NOT_UPLOADED) from None
        except gr.Error as e:
            raise refuse(checks.quote(getattr(e, "message", str(e)), 300).strip("'\"")) from None
        except Exception as e:  # noqa: BLE001 - a malformed payload (pydantic, the wrong count, ...)
            raise refuse(f"the request's inputs cannot be read ({type(e).__name__}): send what the "
                         "endpoint's API page describes") from None

    return wrapper


def _one_choice(preprocess, label: str):
    """Dropdown / Radio of one value: gradio checks a list's items and lets the list through."""

    @functools.wraps(preprocess)
    def wrapper(payload):
        if payload is not None and not isinstance(payload, (str, int, float)):
            raise refuse(f"{label}: choose one value, not a {type(payload).__name__}")
        return preprocess(payload)

    return wrapper


def _text_value(preprocess, label: str):
    """Textbox: gradio makes text of whatever is sent (NaN becomes a run named "nan"); a number is
    let through as its digits (a seed sent as 3), anything else, and NaN or infinity, is refused."""

    @functools.wraps(preprocess)
    def wrapper(payload):
        if isinstance(payload, bool) or not isinstance(payload, (str, int, float, type(None))) or (
                isinstance(payload, float) and not math.isfinite(payload)):
            raise refuse(f"{label}: text, not {checks.quote(payload, 40)}")
        return preprocess(payload)

    return wrapper


def _refusing_call(call_function):
    """Blocks.call_function: gradio builds an event's special arguments (gr.SelectData from the
    request's event data) before the event's own code runs; a malformed one is a message."""

    @functools.wraps(call_function)
    async def wrapper(*args, **kwargs):
        try:
            return await call_function(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - outside the event's code: the request, not a bug of ours
            raise refuse(f"the request's event data cannot be read ({type(e).__name__})") from None

    return wrapper


def _exception_handlers() -> dict:
    """FastAPI handlers for what gradio answers with a 500 and a logged traceback: a /call/<name>
    of no endpoint, and a body FastAPI refuses but cannot echo back (NaN); its default 422 also
    repeats the whole body sent."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from gradio.route_utils import FnIndexInferError

    async def no_endpoint(request, exc):
        return JSONResponse({"error": "no such endpoint: see the app's API page"}, status_code=404)

    async def bad_body(request, exc):
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})[:5]
        return JSONResponse({"error": f"the request body is not what this endpoint takes ({', '.join(where)})"},
                            status_code=422)

    return {FnIndexInferError: no_endpoint, RequestValidationError: bad_body}


def _launch_with_handlers(launch):
    @functools.wraps(launch)
    def wrapper(*args, **kwargs):
        app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
        app_kwargs["exception_handlers"] = {**_exception_handlers(), **app_kwargs.get("exception_handlers", {})}
        return launch(*args, app_kwargs=app_kwargs, **kwargs)

    return wrapper


def harden(demo: gr.Blocks) -> gr.Blocks:
    """Every event function through ``endpoint``, numbers passed as sent, one value for a
    one-value choice, gradio's own input refusals made short and clean, its 500s for malformed
    requests made 4xx. Called once on the whole app."""
    for block_fn in demo.fns.values():
        block_fn.fn = endpoint(block_fn.fn) if block_fn.fn is not None else None
    for block in demo.blocks.values():
        if isinstance(block, (gr.Number, gr.Slider)):
            block.preprocess = _raw_number.__get__(block)
        elif isinstance(block, gr.Radio) or (isinstance(block, gr.Dropdown) and not block.multiselect):
            block.preprocess = _one_choice(block.preprocess, block.label or "choice")
        elif isinstance(block, gr.Textbox):
            block.preprocess = _text_value(block.preprocess, block.label or "text")
    demo.preprocess_data = _refusing_preprocess(demo.preprocess_data)
    demo.call_function = _refusing_call(demo.call_function)
    demo.launch = _launch_with_handlers(demo.launch)
    install_atomic_cache()
    return demo


# ----------------------------------------------------------------------------- files the app writes

SCRATCH_AGE_S = 3600  # an hour: gradio has long copied them into its cache (which it ages the same way)


def scratch_dir() -> Path:
    """A new folder for one result's files (a download, a GIF), inside this process's scratch
    folder; folders older than SCRATCH_AGE_S are removed on the way, so a public app does not
    fill the disk."""
    root = Path(tempfile.gettempdir()) / f"facegan-app-{os.getpid()}"
    root.mkdir(exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if now - old.stat().st_mtime > SCRATCH_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(dir=root))


@functools.cache
def install_atomic_cache() -> None:
    """gradio's save_pil_to_cache writes in place (``write_bytes``) into a folder named by the
    picture's hash, so a second request for the same picture truncates the file while the first
    client downloads it. Write once, under a temporary name, then rename."""
    from gradio import processing_utils as pu

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = pu.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / pu.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        path = (folder / f"{name}.{format}").resolve()
        if not path.is_file():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        return str(path)

    pu.save_pil_to_cache = save_pil_to_cache
