"""The public app's hardening, shown from outside: what a stranger can send it, and what comes back.

One server for the module (apps.main.build_demo, as tests/test_app.py starts it: FACEGAN_RUNS at a
temporary folder, HF_HUB_OFFLINE, pytest's temporary root as the operator's --data-dir and
--checkpoint-dir), called over raw HTTP (``/gradio_api/call/<api>``, the SSE answer parsed here),
through gradio_client, and the CLI in-process.

- Fuzz: hypothesis (derandomized, no example database) replaces arguments of a valid call of each
  named endpoint with hostile values (None, 2**64, NaN/Inf sent as JSON literals, 100,000
  characters, ``../../etc/passwd``, 5000 nested lists, FileData dicts naming server files or
  URLs, the wrong number of arguments, ...). Every answer is a proper result or a short clear
  message: no ``{"error": null}``, no "upstream Gradio app has raised an exception", no
  "internal error", no traceback (in the answer or the server's log), no absolute server path,
  and the server still answers a normal ``/dcgan_face``.
- Files: a canary folder outside every root (a picture, a DCGAN checkpoint, a secret) is named
  by the fuzz and the escape tests; at the end it has the same files, sizes and times, and its
  files were never read (their access time, set before their modification time, is unchanged
  where the file system records reads); nothing new appeared in the repository.
- Escapes: FileData paths, run names, data folders and checkpoint references that point outside
  the allowed roots are refused with the same message whether the target exists or not.
- Concurrency: 16 clients ask for the same pictures at once; every file arrives whole.
- What the fuzz found (a list as a one-value choice, private events trusting what they are sent,
  NUL / surrogates in paths, gradio's 500s for an unknown endpoint or a NaN body) has a test of
  its own at the end; gradio's one remaining defect is a strict xfail there.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(tempfile.mkdtemp(prefix="facegan-hypothesis-"))  # its caches stay out of the repository
from PIL import Image

from facegan import checks, jobs, latent
from facegan import data as data_lib

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `apps` is not an installed package
    sys.path.insert(0, str(ROOT))

from test_cli_limits import assert_one_line_refusal, run_main  # the CLI helpers, in-process

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),  # gradio's queue and pandas 3
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

CODE = "732d4e9480c10995a6e7dee79c05b0e9"  # the app's start code
OTHER = "5dfcb27d6fd5d70a40b1d075d72b8c84"
TINY_MODEL = '{"ngf": 8, "ndf": 8}'
FUZZ_RUN = "fuzz-run"
FUZZ_DATA = "fuzz-faces"  # a data set under the operator's data folder (pytest's temporary root)
MAX_MESSAGE = 700
GENERIC = re.compile(r"upstream Gradio app has raised an exception|Traceback \(most recent call|internal error",
                     re.IGNORECASE)
PASSWD_CONTENT = "root:x:0:0"  # what /etc/passwd holds: never in an answer
FILEDATA = "gradio.FileData"
# The named endpoints and how many outputs a proper result has.
OUTPUTS = {"dcgan_face": 18, "dcgan_sliders": 2, "dcgan_random": 18, "dcgan_generate": 1, "dcgan_rank": 2,
           "dcgan_offset": 3, "dcgan_morph": 3, "ugatit_convert": 5, "stargan_grid": 3, "stargan_edit": 2,
           "train_start": 1, "train_status": 3, "train_stop": 1, "acgan_grid": 3, "acgan_face": 2,
           "acgan_interpolate": 3, "stylegan_generate": 2, "stylegan_mix": 3, "stylegan_interpolate": 3,
           "stylegan_variations": 1, "stylegan_edit": 3, "stylegan_project": 4,
           "stylegan_compute_directions": 3}
FUZZ_ACGAN = "fuzz-acgan"  # a tiny AC-GAN (classes red, green, blue) under the operator's checkpoint folder
FUZZ_STYLEGAN = "fuzz-stylegan"  # a tiny StyleGAN2 (16 px, 6 styles), there too
NO_HEALTH_CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                    HealthCheck.filter_too_much, HealthCheck.large_base_example]


def fuzz_settings(n: int):
    """Reproducible (derandomized: the same examples on every run), no example database written
    into the repository, no deadline (a shared CPU)."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, print_blob=False,
                    suppress_health_check=NO_HEALTH_CHECKS)


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(demo, **kwargs) -> int:
    """``demo`` on a free port; gradio's launch gives up if its first self-check takes > 3 s (a busy CPU): retried."""
    for attempt in range(3):
        port = free_port()
        try:
            demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **kwargs)
            return port
        except Exception:  # re-raised on the last attempt
            demo.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class LogWatch(logging.Handler):
    """Error records and tracebacks the server logs (the app's log.exception, uvicorn's
    "Exception in ASGI application"); the server runs in threads of this process."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self._records: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record):
        if record.levelno >= logging.ERROR or record.exc_info:
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info:
                text += f" [{record.exc_info[0].__name__}: {record.exc_info[1]}]"
            with self._lock:
                self._records.append(text[:1000])

    def take(self) -> list[str]:
        with self._lock:
            out, self._records = self._records, []
        return out


@dataclass
class Canary:
    """A folder outside every root the app may use: a picture, a DCGAN checkpoint, a secret."""

    folder: Path
    picture: Path
    ckpt: Path
    secret: str
    atime_works: bool
    before: dict = field(default_factory=dict)

    def snapshot(self) -> dict:
        """path -> (size, mtime) of every file and folder; files also their access time. Taken
        with stat and listing only, so it reads no file itself."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.folder):
            for name in [*dirnames, *filenames]:
                p = Path(dirpath) / name
                s = p.lstat()
                out[str(p.relative_to(self.folder))] = (s.st_size, s.st_mtime_ns,
                                                        s.st_atime_ns if p.is_file() and self.atime_works else 0)
        return out

    def assert_untouched(self):
        after = self.snapshot()
        assert after.keys() == self.before.keys(), f"canary folder changed: {sorted(after.keys() ^ self.before.keys())}"
        changed = {k for k in after if after[k][:2] != self.before[k][:2]}
        assert not changed, f"canary files written: {sorted(changed)}"
        read = {k for k in after if after[k][2] != self.before[k][2]}
        assert not read, f"canary files read: {sorted(read)}"


@dataclass
class Reply:
    kind: str  # "complete", "error" or "http" (refused before the event: 4xx / 5xx)
    value: Any
    status: int
    text: str


class Raw:
    """JSON text sent as is in the request body: NaN, Infinity, 5000 nested lists, a 5000-digit
    number, which json.dumps would not write or would refuse."""

    def __init__(self, text: str, label: str):
        self.text, self.label = text, label

    def __repr__(self):
        return f"Raw({self.label})"


def encode(obj) -> str:
    raws: list[Raw] = []

    def hook(o):
        if isinstance(o, Raw):
            raws.append(o)
            return f"\ue000raw{len(raws) - 1}\ue000"
        raise TypeError(type(o).__name__)

    text = json.dumps(obj, default=hook)  # NaN / Infinity written as the JavaScript literals
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\ue000raw{i}\ue000"), raw.text, 1)
    return text


def parse_sse(text: str) -> list[tuple[str, str]]:
    """gradio's /call answer: blocks of ``event: <name>`` and ``data: <json>``."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name = data = None
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
        if name is not None:
            events.append((name, data))
    return events


@dataclass
class Server:
    url: str
    port: int
    http: httpx.Client
    client: Client
    runs: Path
    base: Path
    canary: Canary
    log: LogWatch
    upload: dict  # a FileData of a picture uploaded to the server (64 x 64)
    upload_folder: str
    forbidden: list[str]  # absolute server paths no answer may carry (unless the request sent them)
    reference_face: bytes = b""
    cases: int = 0
    repo_before: set = field(default_factory=set)  # repo_state() and data_root_state() before the server started
    data_before: dict = field(default_factory=dict)

    def call(self, api: str, args: list | None = None, body: str | None = None) -> Reply:
        body = body if body is not None else encode({"data": args})
        r = self.http.post(f"{self.url}gradio_api/call/{api}", content=body.encode("utf-8", "surrogatepass"),
                           headers={"content-type": "application/json"})
        if r.status_code != 200:
            return Reply("http", None, r.status_code, r.text)
        event_id = r.json()["event_id"]
        r = self.http.get(f"{self.url}gradio_api/call/{api}/{event_id}")
        events = [(n, d) for n, d in parse_sse(r.text) if n in ("complete", "error")]
        assert len(events) == 1, f"{api}: no single final event in {r.text[:500]!r}"
        name, data = events[0]
        return Reply(name, json.loads(data) if data not in (None, "") else None, r.status_code, r.text)

    def fetch(self, url: str) -> bytes:
        r = self.http.get(url)
        assert r.status_code == 200, (url, r.status_code)
        return r.content

    def upload_file(self, path: Path, name: str | None = None) -> dict:
        with open(path, "rb") as f:
            r = self.http.post(f"{self.url}gradio_api/upload", files=[("files", (name or path.name, f.read()))])
        assert r.status_code == 200, r.text
        (served,) = r.json()
        return {"path": served, "orig_name": name or path.name, "meta": {"_type": FILEDATA}}


def picture(path: Path, size=(64, 64), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def canary(tmp_path_factory):
    """Under the system's temporary folder itself, not pytest's (which the app may read)."""
    folder = Path(tempfile.mkdtemp(prefix="facegan-canary-")).resolve()
    base = tmp_path_factory.getbasetemp().resolve()
    assert not folder.is_relative_to(base) and not base.is_relative_to(folder)
    pic = picture(folder / "canary.png", seed=7)
    ckpt = folder / "ckpt"
    ckpt.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(ROOT / "checkpoints" / "dcgan-anime-64" / name, ckpt / name)
    secret = f"canary-secret-{os.getpid()}"
    (folder / "secret.txt").write_text(secret + "\n")
    # Access times older than the modification times: a file system that updates access
    # times on read (relatime, strictatime) then records any read of these files.
    files = [p for p in folder.rglob("*") if p.is_file()]
    for p in files:
        os.utime(p, ns=(10**9, p.stat().st_mtime_ns))
    probe = folder / "probe.bin"
    probe.write_bytes(b"x")
    os.utime(probe, ns=(10**9, probe.stat().st_mtime_ns))
    probe.read_bytes()
    atime_works = probe.stat().st_atime_ns > 10**9
    probe.unlink()
    c = Canary(folder, pic, ckpt, secret, atime_works)
    c.before = c.snapshot()
    yield c
    shutil.rmtree(folder, ignore_errors=True)


def repo_state() -> set[str]:
    """The repository's untracked and ignored entries (less Python's and the tools' caches) and
    every file of the bundled checkpoints and assets with its size and time."""
    out = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--ignored=matching", "-uall"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    caches = ("__pycache__", ".pytest_cache", ".ruff_cache", ".egg-info", ".pyc", ".hypothesis")
    state = {line for line in out if line.startswith(("??", "!!")) and not any(c in line for c in caches)}
    for sub in ("checkpoints", "assets", "runs", "data"):
        for p in sorted((ROOT / sub).rglob("*")) if (ROOT / sub).exists() else []:
            s = p.lstat()
            state.add(f"{p.relative_to(ROOT)} {s.st_size} {s.st_mtime_ns}")
    return state


def data_root_state() -> dict:
    root = data_lib.data_root()
    if not root.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in root.iterdir()} | {".": root.stat().st_mtime_ns}


@pytest.fixture(scope="module")
def server(tmp_path_factory, canary):
    """The whole app on a free port, called over raw HTTP and gradio_client; jobs still running at
    the end are stopped."""
    repo_before, data_before = repo_state(), data_root_state()
    base = tmp_path_factory.getbasetemp().resolve()
    runs = tmp_path_factory.mktemp("runs").resolve()
    faces = base / FUZZ_DATA
    faces.mkdir()
    for i in range(8):
        picture(faces / f"face_{i}.png", seed=i)
    import torch

    from facegan import hub
    from facegan.models import acgan

    torch.manual_seed(0)
    hub.save_pretrained(acgan.Model(acgan.Config(nz=8, ngf=8, ndf=8, classes=["red", "green", "blue"])),
                        base / FUZZ_ACGAN)
    from facegan.models import stylegan

    hub.save_pretrained(stylegan.Model(stylegan.Config(image_size=16, z_dim=8, w_dim=8, channel_base=64,
                                                       channel_max=8, mbstd_group=2)), base / FUZZ_STYLEGAN)
    log = LogWatch()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEGAN_RUNS", str(runs))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        mp.setenv("OMP_NUM_THREADS", "1")
        from apps import serving
        from apps.main import build_demo

        demo = build_demo(serving.Settings(training=True, data_dirs=[base], checkpoint_dirs=[base]))
        port = launch(demo)
        for name in ("", "uvicorn"):  # after launch: uvicorn's logging config resets its loggers' handlers
            logging.getLogger(name).addHandler(log)
        url = f"http://127.0.0.1:{port}/"
        http = httpx.Client(timeout=120)
        downloads = tmp_path_factory.mktemp("client-downloads")
        from gradio import utils as gr_utils

        upload_folder = str(Path(gr_utils.get_upload_folder()).resolve())
        forbidden = [str(ROOT), str(runs), str(base), str(data_lib.data_root().resolve()), str(canary.folder),
                     str(serving.hub_cache()), str(Path.home()) + "/", "/etc/", canary.secret, upload_folder]
        s = Server(url, port, http, Client(url, verbose=False, download_files=str(downloads)), runs, base, canary,
                   log, {}, upload_folder, forbidden)
        s.repo_before, s.data_before = repo_before, data_before
        s.upload = s.upload_file(picture(tmp_path_factory.mktemp("upload") / "face.png", seed=3))
        reply = s.call("dcgan_face", ["default", CODE])
        assert reply.kind == "complete", reply.text
        s.reference_face = s.fetch(reply.value[0]["url"])
        try:
            yield s
        finally:
            stop_jobs()
            for name in ("", "uvicorn"):
                logging.getLogger(name).removeHandler(log)
            http.close()
            demo.close()
    assert repo_state() == repo_before, sorted(repo_state() ^ repo_before)
    assert data_root_state() == data_before


def settled_log(server: Server) -> list[str]:
    """What the server logged, once uvicorn has logged an error it logs after answering (a 500)."""
    time.sleep(0.3)
    return server.log.take()


def stop_jobs() -> None:
    """Kill any training process the app started (only this app's children), at once."""
    for pid, proc in list(jobs._children.items()):
        if proc.poll() is None:
            os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=30)


# ----------------------------------------------------------------------------- what an answer must be


def assert_no_leak(server: Server, text: str, sent: str) -> None:
    """No absolute server path (repository, runs, data, operator folders, Hub cache, home, /etc,
    gradio's upload folder, the canary) that the request did not itself send; never a file's contents."""
    assert PASSWD_CONTENT not in text and server.canary.secret not in text, text[:500]
    for path in server.forbidden:
        if path in text and path not in sent:
            raise AssertionError(f"the answer carries the server path {path!r}: {text[:600]}")


def assert_clear_refusal(server: Server, message, sent: str, what: str = "") -> str:
    assert isinstance(message, str) and message.strip(), f"{what}: a generic error ({message!r})"
    assert len(message) < MAX_MESSAGE, f"{what}: a {len(message)}-character message: {message[:300]}…"
    assert not GENERIC.search(message), f"{what}: {message}"
    assert_no_leak(server, message, sent)
    return message


def strip_files(server: Server, value):
    """A result with its FileData replaced by None, after checking each names a file in gradio's
    cache, served by this server."""
    if isinstance(value, dict) and (value.get("meta") or {}).get("_type") == FILEDATA:
        path = value.get("path") or ""
        assert Path(path).resolve().is_relative_to(server.upload_folder), value
        assert (value.get("url") or "").startswith(f"{server.url}gradio_api/file="), value
        return None
    if isinstance(value, dict):
        return {k: strip_files(server, v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_files(server, v) for v in value]
    return value


ANSWERS: dict[str, int] = {}  # "complete" / "error" / "http <status>" -> calls, for the report


def check_reply(server: Server, api: str, reply: Reply, sent: str, args: list | None = None) -> None:
    what = f"/{api} {sent[:200]}"
    logged = server.log.take()
    kind = reply.kind if reply.kind != "http" else f"http {reply.status}"
    ANSWERS[kind] = ANSWERS.get(kind, 0) + 1
    if reply.kind == "http":  # refused by the web framework before any event: never a 5xx
        assert 400 <= reply.status < 500, f"{what}: HTTP {reply.status} {reply.text[:300]}"
        assert "Traceback" not in reply.text
        assert_no_leak(server, reply.text, sent)
    elif reply.kind == "error":
        message = reply.value.get("error") if isinstance(reply.value, dict) else None
        assert_clear_refusal(server, message, sent, what)
    else:
        assert isinstance(reply.value, list) and len(reply.value) == OUTPUTS[api], f"{what}: {reply.text[:300]}"
        rest = json.dumps(strip_files(server, reply.value))
        assert_no_leak(server, rest, sent)
    assert not logged, f"{what}: the server logged {logged}"


def assert_alive(server: Server) -> None:
    """A normal /dcgan_face: the start code's face, its code and sliders."""
    reply = server.call("dcgan_face", ["default", CODE])
    assert reply.kind == "complete", reply.text[:500]
    img, code, *sliders = reply.value
    assert code == CODE and sliders == latent.code_to_bytes(CODE)
    assert server.fetch(img["url"]) == server.reference_face


def after_case(server: Server, api: str) -> None:
    if api == "train_start":
        stop_jobs()  # a call the fuzz made valid started a job: it never trains
    server.cases += 1
    if server.cases % 10 == 0:
        assert_alive(server)


# ----------------------------------------------------------------------------- hostile values


def filedata(path) -> dict:
    return {"path": path, "meta": {"_type": FILEDATA}}


def hostile_values(server: Server, with_raw: bool = True, with_files: bool = True):
    c, runs, base = server.canary, server.runs, server.base
    bundled = ROOT / "checkpoints"
    paths = ["/etc/passwd", "/etc", "/", str(c.picture), str(c.ckpt), str(c.folder), str(c.folder / "missing"),
             str(c.folder / "new-run"), str(ROOT / "README.md"), str(ROOT / "checkpoints" / "dcgan-anime-64"),
             str(runs), str(base), os.path.relpath(c.folder, runs), os.path.relpath(c.folder, base),
             "runs/" + os.path.relpath(c.ckpt, runs), "checkpoints/" + os.path.relpath(c.ckpt, bundled),
             f"{base.name}/{os.path.relpath(c.ckpt, base)}", "../../etc/passwd", "runs/../../etc",
             "checkpoints/../../../../etc", "~", "~/.ssh/id_rsa", "~root", "/proc/self/environ", "..", ".",
             "file:///etc/passwd", f"http://127.0.0.1:{server.port}/config", "C:\\Windows\\win.ini",
             "\\\\server\\share", "%2e%2e%2fetc%2fpasswd", f"{server.upload_folder}/../../etc/passwd"]
    texts = ["7", "", " ", "a" * 100_000, "ñ" * 5000, "\x00", "\ud800", "Ω≈ç√∫˜µ≤≥÷\u202e\u0000💥\U0010ffff",
             "{}", "[]", "null", "NaN", "-Infinity", "1e308", "0x1f", " 7 ", "７", "1_000", "default", "dcgan",
             "stargan", "hair", "a2b", "none", "lerp", FUZZ_RUN, FUZZ_DATA, "anime-faces-64", "x@y", "a/b@main",
             '{"hair": "blue"}', "[" * 10_000, '{"a":' * 100, CODE * 3000]
    numbers = [None, True, False, 0, -1, 1, 2**63, 2**64, -(2**63) - 1, 10**100, -(10**100), float("nan"),
               float("inf"), float("-inf"), 1e308, -1e308, 5e-324, 0.5, 255.5]
    shapes = [[], {}, [[]], {"a": 1}, [1, 2, 3], list(range(300)), ["default"] * 17, {"__proto__": {"x": 1}},
              {"path": "x"}, {"value": 1}, [[[[[[[[[[1]]]]]]]]]]]
    files = [filedata(p) for p in ("/etc/passwd", str(c.picture), str(c.folder / "missing.png"),
                                   str(ROOT / "checkpoints" / "dcgan-anime-64" / "samples.png"),
                                   str(ROOT / "assets" / "examples" / "astronaut.jpg"), server.upload_folder,
                                   f"{server.upload_folder}/../{c.folder.name}/canary.png",
                                   f"http://127.0.0.1:{server.port}/favicon.ico")]
    files += [{"meta": {"_type": FILEDATA}}, {"path": None, "url": "file:///etc/passwd", "meta": {"_type": FILEDATA}},
              {"path": ["x"], "meta": {"_type": FILEDATA}}, {"path": str(c.picture)},
              {"url": f"http://127.0.0.1:{server.port}/favicon.ico", "path": "favicon.ico",
               "meta": {"_type": FILEDATA}}, server.upload]
    raws = [Raw("NaN", "NaN"), Raw("Infinity", "Infinity"), Raw("-Infinity", "-Infinity"),
            Raw("[" * 5000 + "]" * 5000, "5000 nested lists"), Raw("[" * 900 + "]" * 900, "900 nested lists"),
            Raw('{"a":' * 600 + "1" + "}" * 600, "600 nested objects"), Raw("1" + "0" * 5000, "a 5001-digit number")]
    special = paths + texts + numbers + shapes + (files if with_files else []) + (raws if with_raw else [])
    leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    generated = [
        st.integers(),
        st.floats(),
        st.text(max_size=60),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
        st.recursive(leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                     max_leaves=12),
        st.sampled_from(paths).map(lambda p: p + "/" + "x" * 10),
    ]
    if with_raw:
        generated.append(st.integers(1, 6000).map(lambda n: Raw("[" * n + "]" * n, f"{n} nested lists")))
    return st.one_of(st.sampled_from(special), *generated)


def valid_args(server: Server, api: str) -> list:
    up = server.upload
    return {
        "dcgan_face": ["default", CODE],
        "dcgan_sliders": ["default", *latent.code_to_bytes(CODE)],
        "dcgan_random": ["default"],
        "dcgan_generate": ["default", 0, 4],
        "dcgan_rank": ["default", 8, 2, 0],
        "dcgan_offset": ["default", "ff" * 16, "00" * 16, 1.0, 0, 2],
        "dcgan_morph": ["default", f"{CODE} {OTHER}", 2, "lerp", False, 5],
        "ugatit_convert": ["default", up, "a2b", "none", 0],
        "stargan_grid": ["default", up, "hair", "none", 0],
        "stargan_edit": ["default", up, '{"hair": "blue"}', "none", 0],
        "train_start": ["dcgan", FUZZ_DATA, 2, 4, FUZZ_RUN, False, TINY_MODEL, 1, "", 0],
        "train_status": [FUZZ_RUN],
        "train_stop": [FUZZ_RUN],
        "acgan_grid": [str(server.base / FUZZ_ACGAN), ["red", "blue"], 2, 0],
        "acgan_face": [str(server.base / FUZZ_ACGAN), "green:" + "7f" * 8],
        "acgan_interpolate": [str(server.base / FUZZ_ACGAN), "red:" + "00" * 8, "ff" * 8, ["blue"], 2, "lerp", False, 5],
        "stylegan_generate": [str(server.base / FUZZ_STYLEGAN), "3", 0.7, None, "const", 0],
        "stylegan_mix": [str(server.base / FUZZ_STYLEGAN), "1, 2", "3", "coarse", 1.0, None, "const", 0],
        "stylegan_interpolate": [str(server.base / FUZZ_STYLEGAN), "1 2", 2, "lerp-w", False, 5, 1, 1.0, None,
                                 "const", 0],
        "stylegan_variations": [str(server.base / FUZZ_STYLEGAN), "7f" * 8 + "+0:1:0.3", 2, 0.3, 0, 0.7, 2,
                                "random", 1],
        "stylegan_edit": [str(server.base / FUZZ_STYLEGAN), "3", 1, "coarse", -2.5, 0.7, None, "const", 0],
        "stylegan_compute_directions": [str(server.base / FUZZ_STYLEGAN)],
        "stylegan_project": [str(server.base / FUZZ_STYLEGAN), up, "none", 2, "w", 0],
    }[api]


@st.composite
def mutated(draw, args: list, values) -> list:
    """``args`` with one of them hostile (more often) or two or three, and sometimes too few or too many."""
    args = list(args)
    n = len(args)
    k = min(n, draw(st.sampled_from([1, 1, 1, 2, 3])))
    for i in draw(st.sets(st.integers(0, n - 1), min_size=k, max_size=k)):
        args[i] = draw(values)
    count = draw(st.sampled_from(["same"] * 12 + ["fewer", "more", "none"]))
    if count == "fewer":
        args = args[: draw(st.integers(0, n - 1))]
    elif count == "more":
        args += draw(st.lists(values, min_size=1, max_size=3))
    elif count == "none":
        args = []
    return args


# ----------------------------------------------------------------------------- 1. the fuzz

RAW_EXAMPLES = 40  # per endpoint: 16 x 40 = 640 calls


@pytest.mark.parametrize("api", list(OUTPUTS))
@fuzz_settings(RAW_EXAMPLES)
@given(data=st.data())
def test_fuzz_raw_http(server, api, data, capfd):
    """Hostile arguments over raw HTTP: a proper result or a short clear message, nothing logged,
    no server path, and the server answers the next normal request."""
    args = data.draw(mutated(valid_args(server, api), hostile_values(server)), label="args")
    sent = encode({"data": args})
    check_reply(server, api, server.call(api, body=sent), sent, args)
    after_case(server, api)
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-2000:]


def test_fuzz_left_the_server_answering(server):
    if server.cases >= len(OUTPUTS) * RAW_EXAMPLES:  # the whole fuzz ran: it met both kinds of answer
        assert ANSWERS.get("complete", 0) >= 10 and ANSWERS.get("error", 0) >= 300, ANSWERS
    assert_alive(server)
    assert not settled_log(server)
    assert not jobs.active() and all(p.poll() is not None for p in jobs._children.values())


CLIENT_CALLS = ["dcgan_face", "dcgan_sliders", "dcgan_generate", "dcgan_rank", "dcgan_offset", "dcgan_morph",
                "ugatit_convert", "stargan_grid", "stargan_edit", "train_start", "train_status", "train_stop"]


@fuzz_settings(36)
@given(api=st.sampled_from(CLIENT_CALLS), data=st.data())
def test_fuzz_gradio_client(server, api, data, capfd):
    """Hostile values through gradio_client.predict (the right number of arguments, a real upload
    for the picture): a result, or an AppError with a short clear message."""
    args = valid_args(server, api)
    slots = [i for i, a in enumerate(args) if a is not server.upload]
    values = hostile_values(server, with_raw=False, with_files=False)
    for i in data.draw(st.sets(st.sampled_from(slots), min_size=1, max_size=2), label="slots"):
        args[i] = data.draw(values, label=f"arg {i}")
    sent = encode({"data": args})
    call = [handle_file(str(ROOT / "assets" / "examples" / "astronaut.jpg")) if a is server.upload else a
            for a in args]
    try:
        result = server.client.predict(*call, api_name=f"/{api}")
    except (AppError, ValidationError) as e:  # ValidationError: an event's validator (dcgan_face's code)
        assert_clear_refusal(server, str(e), sent, f"/{api}")
    else:
        n = len(result) if isinstance(result, tuple) else 1
        assert n == OUTPUTS[api], result
    finally:
        if api == "train_start":
            stop_jobs()
    logged = server.log.take()
    assert not logged, logged
    assert "Traceback" not in capfd.readouterr().err


# The CLI's number and JSON flags: (argv before the flag, the flag, its check). OUT and NOWHERE are
# replaced by paths under a temporary folder; nothing may be written there.
GEN, RANK = ["generate", "dcgan", "--out", "OUT"], ["rank", "dcgan", "--out", "OUT"]
MORPH = ["morph", "dcgan", "--code", CODE, "--code", OTHER, "--out", "OUT"]
TRAIN = ["train", "dcgan", "--data", "NOWHERE", "--out", "OUT"]
EVAL = ["evaluate", "dcgan", "--data", "NOWHERE"]
TRANSLATE, EDIT = ["translate", "ugatit", "OUT", "--out", "OUT"], ["edit", "stargan", "OUT", "--out", "OUT"]
SG_GEN, SG_WALK = ["generate", "stylegan", "--out", "OUT"], ["interpolate", "stylegan", "--seeds", "1,2", "--out", "OUT"]
SG_PROJECT = ["project", "stylegan", "OUT", "--out", "OUT"]
WHOLE, REAL, JSON = "whole", "real", "json"
CLI_FLAGS = [
    (GEN, "--count", WHOLE, 1, checks.MAX_FACES), (GEN, "--columns", WHOLE, 1, checks.MAX_COLUMNS),
    (GEN, "--seed", WHOLE, 0, checks.MAX_SEED), (GEN, "--strength", REAL, -checks.MAX_STRENGTH, checks.MAX_STRENGTH),
    (RANK, "--count", WHOLE, 1, checks.MAX_RANK), (RANK, "--top", WHOLE, 1, checks.MAX_RANK),
    (MORPH, "--frames", WHOLE, 2, checks.MAX_FRAMES), (MORPH, "--fps", WHOLE, 1, checks.MAX_FPS),
    (MORPH, "--size", WHOLE, 16, checks.MAX_DISPLAY), (EVAL, "--n", WHOLE, 2, checks.MAX_EVAL_IMAGES),
    (TRANSLATE, "--face", WHOLE, 0, checks.MAX_FACE_INDEX), (EDIT, "--size", WHOLE, 16, checks.MAX_DISPLAY),
    (SG_GEN, "--psi", REAL, -checks.MAX_PSI, checks.MAX_PSI), (SG_GEN, "--noise-seed", WHOLE, 0, checks.MAX_SEED),
    (SG_WALK, "--side-by-side", WHOLE, 1, checks.MAX_SIDE_BY_SIDE), (SG_WALK, "--frames", WHOLE, 2, checks.MAX_FRAMES),
    (SG_PROJECT, "--steps", WHOLE, 1, checks.MAX_PROJECT_STEPS), (SG_PROJECT, "--pixel-weight", REAL, 0, 1e6),
    (TRAIN, "--steps", WHOLE, 1, checks.MAX_STEPS), (TRAIN, "--batch-size", WHOLE, 1, checks.MAX_BATCH),
    (TRAIN, "--limit", WHOLE, 0, checks.MAX_IMAGES), (TRAIN, "--keep-last", WHOLE, 1, checks.MAX_KEEP),
    (TRAIN, "--log-every", WHOLE, 1, checks.MAX_EVERY), (TRAIN, "--model", JSON, 0, 0),
    (["convert", "dcgan", "--from", "pytorch-examples", "--netg", "G.pth", "--out", "OUT"], "--nz", WHOLE, 1,
     checks.MAX_WIDTH),
    (["convert", "stargan", "G.ckpt", "--c-dim", "5", "--out", "OUT"], "--image-size", WHOLE, 8,
     checks.MAX_IMAGE_SIZE),
]


def refused(kind: str, value: str, lo, hi) -> bool:
    try:
        {WHOLE: lambda: checks.whole(value, "x", lo, hi), REAL: lambda: checks.real(value, "x", lo, hi),
         JSON: lambda: checks.json_object(value, "x")}[kind]()
    except checks.InputError:
        return True
    return False


def flag_values(kind: str, lo, hi):
    if kind == JSON:
        json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                                   lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c,
                                                                                       max_size=3), max_leaves=10)
        return st.one_of(json_values.map(json.dumps), json_values.map(lambda v: json.dumps(v)[:-1]),
                         st.integers(17, 50_000).map(lambda n: "[" * n), st.text(max_size=40),
                         st.sampled_from(["", "{", '{"ngf": ', "[1, 2]", "NaN", "x" * 30_000, '{"a":' * 40]))
    numeric = st.one_of(st.integers(max_value=int(lo) - 1),
                        st.integers(min_value=int(hi) + 1),
                        st.floats(allow_nan=True, allow_infinity=True))
    return st.one_of(numeric.map(str), numeric.map(repr), st.text(max_size=40),
                     st.sampled_from(["nan", "-inf", "1e400", "9" * 5000, "", " ", "0x10", "True", "١٢٣٤٥٦٧٨٩",
                                      "1,000", "--help", "-", "½", "7" + "\n" * 3]))


@fuzz_settings(40)
@given(case=st.sampled_from(CLI_FLAGS), data=st.data())
def test_fuzz_cli_flags(tmp_path, capsys, case, data):
    """Generated malformed values of the CLI's number and JSON flags: exit 2, one error line naming
    the flag, no traceback, nothing written."""
    prefix, flag, kind, lo, hi = case
    value = data.draw(flag_values(kind, lo, hi), label="value")
    assume(refused(kind, value, lo, hi))
    out = tmp_path / "out" / "x.png"
    argv = [{"OUT": str(out), "NOWHERE": str(tmp_path / "nowhere")}.get(a, a) for a in prefix] + [f"{flag}={value}"]
    rc, err = run_main(argv, capsys)
    assert rc == 2
    assert_one_line_refusal(rc, err, f"argument {flag}:")
    assert not (tmp_path / "out").exists() and not out.exists()


# ----------------------------------------------------------------------------- 2. escapes


def normalized(message: str) -> str:
    """A refusal with the name it repeats (quoted, cut after 40 characters) blanked: what is left
    must tell nothing of the target."""
    return re.sub(r"^(data folder|checkpoint) .*? (is not one)", r"\1 … \2", message)


def refusal(server: Server, api: str, args: list) -> str:
    sent = encode({"data": args})
    reply = server.call(api, body=sent)
    assert reply.kind == "error", f"/{api} {sent[:200]}: {reply.text[:300]}"
    message = assert_clear_refusal(server, reply.value.get("error"), sent, f"/{api}")
    assert not server.log.take()
    return message


def test_filedata_naming_a_server_file_or_url_is_refused_like_a_missing_one(server):
    """Before the hardening (b9e886d) gradio's own refusal of a FileData naming a server file
    repeated its absolute path ("Cannot move /... to the gradio cache dir because it was not uploaded
    by a user"), and one whose path is a URL went to gradio's downloader. Now only a file uploaded
    with the request is read; anything else is NOT_UPLOADED, the same message whether the file
    exists or not, and no URL is fetched (a listener here counts the requests it gets: none)."""
    from apps.serving import NOT_UPLOADED

    c = server.canary
    hits: list[str] = []

    class Listener(BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name for it
            hits.append(self.path)
            body = b"not a picture"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{listener.server_address[1]}/face.png"
    for api, args in (("ugatit_convert", ["default", None, "a2b", "none", 0]),
                      ("stargan_grid", ["default", None, "hair", "none", 0]),
                      ("stargan_edit", ["default", None, '{"hair": "blue"}', "none", 0])):
        for ref in (filedata(str(c.picture)), filedata(str(c.folder / "missing.png")),
                    filedata(f"{server.upload_folder}/../{c.folder.name}/canary.png"),
                    filedata(str(ROOT / "assets" / "examples" / "astronaut.jpg")),
                    filedata(f"http://127.0.0.1:{server.port}/favicon.ico"), filedata(url),
                    {"path": None, "url": url, "meta": {"_type": FILEDATA}},
                    {"path": "face.png", "url": url, "meta": {"_type": FILEDATA}}):
            assert refusal(server, api, [args[0], ref, *args[2:]]) == NOT_UPLOADED, (api, ref)
        # A real upload of the same kind of picture works.
        uploaded = server.upload_file(ROOT / "assets" / "examples" / "astronaut.jpg")
        reply = server.call(api, [args[0], uploaded, *args[2:]])
        assert reply.kind == "complete" and len(reply.value) == OUTPUTS[api], reply.text[:300]
        first = reply.value[0]
        first = first[1]["image"] if isinstance(first, list) else first  # a gallery: its first edited picture
        with Image.open(io.BytesIO(server.fetch(first["url"]))) as im:
            im.load()
            assert im.size[0] >= 64
    listener.shutdown()
    listener.server_close()
    assert hits == []
    c.assert_untouched()


def test_train_start_refuses_folders_outside_the_roots_saying_nothing_of_them(server):
    """Before the hardening /train_start took any output and data folder (an absolute path, ../):
    a stranger could write job.json and train.log anywhere the server may write, read any folder of
    pictures, and tell from the message whether a folder exists. Now the run is a name under the
    runs root and the data a data set under the data roots, refused with one message."""
    c, runs, base = server.canary, server.runs, server.base
    before = set(jobs._children)

    def start(data, out):
        return refusal(server, "train_start", ["dcgan", data, 2, 4, out, False, TINY_MODEL, 1, "", 0])

    for out in (str(c.folder / "run"), f"{c.folder}", "../x", "../../" + c.folder.name, "runs/../x", "/tmp/x",
                "a/b", "~/x", ".", ".."):
        message = start(FUZZ_DATA, out)
        assert "a run is named by" in message, message
    assert not (runs.parent / "x").exists() and not Path("/tmp/x").exists()

    (base / "link-to-canary").symlink_to(c.folder, target_is_directory=True)  # an escape by a link in a data root
    try:
        messages = {normalized(start(data, "escape"))
                    for data in (str(c.folder), "/etc", "/", os.path.relpath(c.folder, base), "link-to-canary",
                                 f"{FUZZ_DATA}/../../../{os.path.relpath(c.folder, base.parent.parent)}",
                                 f"/nonexistent-xyz-{os.getpid()}", f"nonexistent-xyz-{os.getpid()}")}
    finally:
        (base / "link-to-canary").unlink()
    assert len(messages) == 1, messages  # the same whether the folder exists, holds pictures or not
    if torch.cuda.device_count() < 2:  # GPUs that are not there: refused before any process starts
        for gpus in (2, 10**9, -1):
            message = refusal(server, "train_start", ["dcgan", FUZZ_DATA, 2, 4, "gpus", False, TINY_MODEL, gpus, "", 0])
            assert "GPUs" in message, message

    assert "not one of this app's data sets" in messages.pop()
    assert not (runs / "escape").exists()

    for api in ("train_status", "train_stop"):
        for out in (str(c.folder), str(runs / FUZZ_RUN), "../" + c.folder.name, os.path.relpath(c.folder, runs),
                    "runs/../x", "/etc", "..", "a/b"):
            assert "a run is named by" in refusal(server, api, [out])
    assert set(jobs._children) == before  # nothing was started
    c.assert_untouched()


def test_checkpoint_choosers_read_only_the_allowed_roots(server):
    """Before the hardening a chooser loaded any folder (hub.resolve): a stranger could run a
    checkpoint anywhere on the server and tell a folder that exists from one that does not. Now
    only the bundled checkpoints, the runs root, the Hub cache and the operator's folders load;
    anything else, a link or ../ out of a root included, gets one message (bar the name echoed)."""
    c, runs, base = server.canary, server.runs, server.base
    up = server.upload
    calls = {"dcgan_face": lambda ck: [ck, CODE], "dcgan_generate": lambda ck: [ck, 0, 2],
             "ugatit_convert": lambda ck: [ck, up, "a2b", "none", 0],
             "stargan_grid": lambda ck: [ck, up, "hair", "none", 0],
             "stargan_edit": lambda ck: [ck, up, '{"hair": "blue"}', "none", 0]}
    (runs / "link-to-canary").symlink_to(c.ckpt, target_is_directory=True)
    outside = [str(c.ckpt), str(c.folder / "missing"), "runs/" + os.path.relpath(c.ckpt, runs),
               "runs/" + os.path.relpath(c.folder / "missing", runs), "runs/link-to-canary",
               "checkpoints/" + os.path.relpath(c.ckpt, ROOT / "checkpoints"),
               f"{base.name}/{os.path.relpath(c.ckpt, base)}", "runs/../../etc", "/etc", "~/" + c.ckpt.name]
    try:
        for api, args in calls.items():
            messages = {normalized(refusal(server, api, args(ref))) for ref in outside}
            assert len(messages) == 1, (api, messages)
            assert "is not one this app offers" in messages.pop()
    finally:
        (runs / "link-to-canary").unlink()
    # Under an allowed root, by its public name: loads.
    for api, ref in (("dcgan_face", "checkpoints/dcgan-anime-64"), ("ugatit_convert", "checkpoints/ugatit-selfie2anime-128"),
                     ("stargan_grid", "checkpoints/stargan-anime-64")):
        reply = server.call(api, calls[api](ref))
        assert reply.kind == "complete", (api, reply.text[:300])
    reply = server.call("dcgan_face", ["checkpoints/dcgan-anime-64", CODE])
    assert reply.value[1] == CODE and server.fetch(reply.value[0]["url"]) == server.reference_face  # the same model
    c.assert_untouched()


def assert_no_server_paths(server: Server, text: str, where: str) -> None:
    """No absolute server path but gradio's upload folder (its cached example pictures)."""
    for path in server.forbidden:
        if path != server.upload_folder:
            assert path not in text, f"{where} carries {path!r}"
    for value in re.findall(r'"((?:/|~/)[^"]*)"', text):  # a JSON string that is a path
        if value.count("/") >= 2 or Path(value).expanduser().exists():  # not an endpoint's name ("/dcgan_face")
            assert Path(value).resolve().is_relative_to(server.upload_folder), f"{where} carries {value!r}"


def test_config_and_api_info_carry_no_server_paths(server):
    """Before the hardening /config carried absolute folders: the bundled checkpoints' and the
    runs' choices (str(folder)), the Training tab's data folder (under the data root) and output
    folder (under the runs root) defaults."""
    for page in ("config", "gradio_api/info"):
        r = server.http.get(server.url + page)
        assert r.status_code == 200
        assert_no_server_paths(server, r.text, page)
    info = server.client.view_api(print_info=False, return_format="dict")
    assert {f"/{api}" for api in OUTPUTS} <= set(info["named_endpoints"])


def test_training_off_has_no_training_endpoints(server):
    """--training off (the default for a shared or Space app) builds no train_* events at all: they
    are not in the API, cannot be called, and the tab says why."""
    from apps import serving
    from apps.main import build_demo

    kept = serving.SETTINGS  # build_demo configures the process's settings: the first app's are put back
    try:
        demo = build_demo(serving.Settings(training=False))
    finally:
        serving.configure(kept)
    port = launch(demo)
    logging.getLogger("uvicorn").addHandler(server.log)  # uvicorn's logging config, applied again, dropped it
    url = f"http://127.0.0.1:{port}/"
    try:
        info = httpx.get(f"{url}gradio_api/info", timeout=60).json()
        names = set(info["named_endpoints"])
        assert {"/dcgan_face", "/ugatit_convert", "/stargan_grid"} <= names
        assert not {n for n in names if n.startswith("/train")}, names
        config = httpx.get(f"{url}config", timeout=60).text
        assert "Training is turned off on this server" in config
        assert_no_server_paths(server, config, "config (training off)")
        client = Client(url, verbose=False)
        assert not {n for n in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
                    if n.startswith("/train")}
        with pytest.raises(ValueError, match="train_start"):
            client.predict("dcgan", FUZZ_DATA, 2, 4, "off-run", False, "", api_name="/train_start")
        r = httpx.post(f"{url}gradio_api/call/train_start", timeout=60,
                       json={"data": ["dcgan", FUZZ_DATA, 2, 4, "off-run", False, ""]})
        assert r.status_code == 404, r.text[:200]  # no such endpoint
        assert not (server.runs / "off-run").exists()
    finally:
        demo.close()
    assert not server.log.take()


@pytest.mark.parametrize(("host", "share", "space", "on"), [
    ("127.0.0.1", False, None, True), ("localhost", False, None, True), ("0.0.0.0", False, None, False),
    ("192.168.1.5", False, None, False), ("127.0.0.1", True, None, False), ("127.0.0.1", False, "user/space", False)])
def test_training_is_on_by_default_only_for_a_local_app(monkeypatch, host, share, space, on):
    from apps import serving

    if space:
        monkeypatch.setenv("SPACE_ID", space)
    else:
        monkeypatch.delenv("SPACE_ID", raising=False)
    assert serving.training_default(host, share) is on


def test_auth_asks_every_client_for_the_password(server):
    """--auth USER:PASSWORD (or $FACEGAN_AUTH): the API too is behind gradio's login."""
    from apps import serving
    from apps.main import build_demo, parse_auth

    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret") and parse_auth(None) is None
    with pytest.raises(SystemExit, match="USER:PASSWORD"):
        parse_auth("alice")
    kept = serving.SETTINGS
    try:
        demo = build_demo(serving.Settings(training=False))
    finally:
        serving.configure(kept)
    port = launch(demo, auth=parse_auth("alice:s3cret"))
    url = f"http://127.0.0.1:{port}/"
    try:
        r = httpx.post(f"{url}gradio_api/call/dcgan_face", json={"data": ["default", CODE]}, timeout=60)
        assert r.status_code == 401, r.status_code
        with pytest.raises(Exception):  # noqa: B017 - gradio_client's own error for a login page
            Client(url, verbose=False)
        client = Client(url, verbose=False, auth=("alice", "s3cret"))
        _, code, *_ = client.predict("default", CODE, api_name="/dcgan_face")
        assert code == CODE
    finally:
        demo.close()


# ----------------------------------------------------------------------------- 3. concurrency


def test_sixteen_clients_get_whole_pictures(server):
    """Before install_atomic_cache gradio wrote a cached picture in place, in a folder named by its
    hash: a second request for the same picture truncated the file while another client downloaded
    it ("h11 LocalProtocolError: Too little data for declared Content-Length"). 16 clients at once
    (threads, raw HTTP: gradio_client's downloads would take a minute on 2 cores) ask for the same
    32 faces (one seed) 3 times and for the grid of the same photo twice, uploading it each time,
    and download every picture: each arrives whole (its declared length, a PNG that decodes)."""
    n_clients, photo = 16, ROOT / "assets" / "examples" / "astronaut.jpg"
    barrier = threading.Barrier(n_clients)
    pictures: dict[tuple, set] = {}  # (request kind, index) -> {(caption, bytes)}: one per kind and index
    answers, errors, lock = [], [], threading.Lock()

    def fetch_all(http: httpx.Client, kind: str, items: list) -> None:
        for k, (url, caption) in enumerate(items):
            r = http.get(url)  # httpx raises on a body shorter than its Content-Length
            assert r.status_code == 200 and len(r.content) == int(r.headers["content-length"]), url
            with Image.open(io.BytesIO(r.content)) as im:
                im.load()  # the whole picture: a truncated PNG raises here
                assert im.format == "PNG" and (kind != "faces" or im.size == (64, 64)), (im.format, im.size)
            with lock:
                pictures.setdefault((kind, k), set()).add((caption, r.content))

    def work(i: int):
        try:
            with httpx.Client(timeout=120) as http:
                me = Server(server.url, server.port, http, server.client, server.runs, server.base, server.canary,
                            server.log, {}, server.upload_folder, server.forbidden)
                barrier.wait(timeout=120)
                for _ in range(3):
                    reply = me.call("dcgan_generate", ["default", 1234, 32])
                    assert reply.kind == "complete", reply.text[:300]
                    (gallery,) = reply.value
                    fetch_all(http, "faces", [(x["image"]["url"], x["caption"]) for x in gallery])
                    with lock:
                        answers.append(len(gallery))
                for _ in range(2):
                    reply = me.call("stargan_grid", ["default", me.upload_file(photo), "hair", "auto", 0])
                    assert reply.kind == "complete", reply.text[:300]
                    gallery, grid, _notes = reply.value
                    fetch_all(http, "grid", [(x["image"]["url"], x["caption"]) for x in gallery] + [(grid["url"], "grid")])
                    with lock:
                        answers.append(len(gallery))
        except Exception as e:  # noqa: BLE001 - reported below, with the client
            with lock:
                errors.append(f"client {i}: {type(e).__name__}: {e}"[:500])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    seconds = time.perf_counter() - start
    assert not errors, errors
    assert sorted(answers) == [13] * (2 * n_clients) + [32] * (3 * n_clients)  # the input and 12 hair colours
    assert len(pictures) == 32 + 14 and all(len(v) == 1 for v in pictures.values())  # everyone got the same
    assert not server.log.take()
    assert seconds < 120, seconds  # about 17 s on 2 shared cores; a hang or a lock fails here
    assert_alive(server)


# ----------------------------------------------------------------------------- the end: nothing touched


def test_nothing_outside_the_roots_was_read_or_written(server):
    """After the fuzz and the escapes: the canary folder has the same files, sizes and times and
    none of its files was read (where the file system records reads; else only writes are checked).
    Nothing new in the repository (untracked or ignored files, the bundled checkpoints and assets)
    or the data root; both are compared again when the module's server stops."""
    server.canary.assert_untouched()
    now = repo_state()
    assert now == server.repo_before, sorted(now ^ server.repo_before)
    assert data_root_state() == server.data_before
    if not server.canary.atime_works:
        pytest.skip("this file system does not record reads (noatime): only writes were checked")


# ----------------------------------------------------------------------------- what the fuzz found


def test_an_unknown_endpoint_is_a_404(server):
    """Before: gradio answered HTTP 500 and logged a traceback (FnIndexInferError)."""
    r = server.http.post(f"{server.url}gradio_api/call/no_such_endpoint", json={"data": []})
    logged = settled_log(server)
    assert 400 <= r.status_code < 500 and not logged, (r.status_code, logged)


@pytest.mark.parametrize("body", ["NaN", "Infinity", '{"data": NaN}', '{"data": "' + "x" * 100_000 + '"}'])
def test_a_malformed_body_is_a_422_that_repeats_nothing(server, body):
    """Before: FastAPI's 422 handler could not write a NaN back as JSON (HTTP 500, a logged
    traceback), and repeated a 100 KB body whole."""
    reply = server.call("dcgan_face", body=body)
    logged = settled_log(server)
    assert reply.kind == "http" and 400 <= reply.status < 500 and not logged, (reply.status, logged)
    assert len(reply.text) < 500, reply.text[:200]


@pytest.mark.xfail(strict=True, reason="GET /gradio_api/call/<api>/<an event id that does not exist>: gradio "
                                       "raises HTTPException(404) after the SSE response has started -> the stream "
                                       "is cut (incomplete chunked read) and a traceback is logged")
def test_known_unknown_event_id_cuts_the_stream(server):
    try:
        r = server.http.get(f"{server.url}gradio_api/call/dcgan_face/0123456789abcdef")
        ok = r.status_code == 404 or "event: error" in r.text
    except httpx.HTTPError:
        ok = False
    logged = settled_log(server)
    assert ok and not logged, logged


def private_event(server: Server, name: str, trigger: str) -> int:
    """The fn_index of an event that is not in the API but that the page (so any client) calls."""
    deps = server.http.get(server.url + "config").json()["dependencies"]
    found = [d["id"] for d in deps if (d.get("api_name") or "").startswith(name)
             and any(t[1] == trigger for t in d["targets"])]
    assert found, (name, trigger)
    return found[0]


def run_event(server: Server, fn: int, data: list, event_data=None) -> str | None:
    """POST /gradio_api/run/predict, as the page does for an event: its error message, or "" for a result."""
    r = server.http.post(f"{server.url}gradio_api/run/predict",
                         json={"data": data, "fn_index": fn, "session_hash": "fuzz", "event_data": event_data})
    return "" if r.status_code == 200 else r.json().get("error")


@pytest.mark.parametrize("technique", [[], ["dcgan"]], ids=["empty-list", "list"])
@pytest.mark.parametrize("where", ["/train_start", "technique.input"])
def test_a_list_as_the_technique_is_refused(server, where, technique):
    """Before: gr.Dropdown let a list through (it is not multiselect: gradio only checked the
    list's items), and `technique not in models.TECHNIQUES` raised TypeError: 'internal error'
    and a logged traceback."""
    if where == "/train_start":
        reply = server.call("train_start", [technique, FUZZ_DATA, 2, 4, "named", False, "", 1, "", 0])
        message = reply.value.get("error") if reply.kind == "error" else ""
    else:
        message = run_event(server, private_event(server, "lambda", "input"), [technique])
    stop_jobs()
    logged = server.log.take()
    assert message and not GENERIC.search(message) and not logged, (message, logged)


PRIVATE_DEFECTS = [  # (event name, its trigger, data, event_data, what goes wrong)
    ("describe", "change", [[1, 2]], None, "training.describe: the client's gr.JSON value taken for a dict -> AttributeError"),
    ("describe", "change", [{"state": "running", "images_per_s": "x"}], None,
     "training.describe: a text where a number goes -> \"Unknown format code 'f' for object of type 'str'\""),
    ("open_selected", "select", ["default"], {"index": 0, "value": "x"},
     "dcgan.open_selected: the client's SelectData value taken for a dict -> AttributeError"),
    ("open_selected", "select", ["default"], None, "no SelectData: gradio fails before the event -> {'error': null}"),
    ("append_code", "click", ["", None], None, "dcgan.append_code: the code None -> TypeError in str.join"),
]


@pytest.mark.parametrize(("name", "trigger", "data", "event_data", "what"), PRIVATE_DEFECTS,
                         ids=[f"{d[0]}-{i}" for i, d in enumerate(PRIVATE_DEFECTS)])
def test_private_events_answer_or_refuse_what_they_are_sent(server, name, trigger, data, event_data, what):
    """Events not in the API, which the page (so any client) calls: before, each of these was an
    'internal error' with a logged traceback, or gradio's {'error': null}. Now a result or a clear
    message (None: a result), and nothing logged."""
    message = run_event(server, private_event(server, name, trigger), data, event_data)
    logged = server.log.take()
    assert message is not None, what  # gradio's {"error": null}
    assert not GENERIC.search(message) and "Unknown format code" not in message and not logged, \
        (what, message, logged)


@pytest.mark.parametrize("data", ["\x00", "\ud800"])
def test_a_nul_or_a_surrogate_in_a_data_folder_names_the_field(server, data):
    """Before: the OS's refusal came through: 'embedded null byte' / "'utf-8' codec can't encode"."""
    message = refusal(server, "train_start", ["dcgan", data, 2, 4, "named", False, "", 1, "", 0])
    assert "data folder" in message, message


def test_the_server_still_answers_after_all_that(server):
    settled_log(server)
    assert_alive(server)


def test_values_of_the_wrong_type_and_extra_inputs_are_refused_by_name(server):
    """/dcgan_face with an extra input (gradio drops it unsaid), /dcgan_morph with loop "yes",
    /train_status with NaN (a run named "nan"): each a message naming the field; the app answers on."""
    reply = server.call("dcgan_face", ["default", CODE, "extra"])
    assert reply.kind in ("error", "http") and "this endpoint takes 2 inputs, got 3" in reply.text
    reply = server.call("dcgan_morph", ["default", f"{CODE} {OTHER}", 2, "lerp", "yes", 5])
    assert reply.kind == "error" and "loop is true or false, not 'yes'" in reply.text
    reply = server.call("train_status", body='{"data": [NaN]}')
    assert reply.kind == "error" and "Watching: text, not nan" in reply.text  # not a run named "nan"
    assert_alive(server)
