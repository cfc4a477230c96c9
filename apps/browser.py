"""Faces drawn in the visitor's browser: the DCGAN explorer's sliders and code, the AC-GAN face and
row, and the StyleGAN studio's single face run the tab's generator with onnxruntime-web (WebAssembly,
one thread), so a slider move costs the server nothing and never waits in its queue.

What the server does for it, under ``/facegan-web/`` (``routes()``, added to gradio's app at launch):

- ``ort-<version>/<file>``: onnxruntime-web's wasm build, vendored in ``apps/static/onnxruntime-web``
  (MIT; the WebAssembly file stored and sent gzip-compressed), and ``facegan-web.js``, the page's side;
- ``graph/<technique>?checkpoint=<chooser value>``: what the page needs to draw with that checkpoint
  (the checkpoint resolved exactly as the tab resolves it, so only what the tab may load): the
  graph's address, the latent's byte table, classes, directions;
- ``onnx/<key>/generator.onnx``: the generator exported from the checkpoint the tab loads
  (``facegan.onnx_export``, float16 weights, gzip), made on first use and kept in the app's cache
  (``graph_cache()``) under the weights' hash, so a changed checkpoint gets a new graph.

Where the browser cannot draw (no WebAssembly, a graph that does not export, an error), the page
clicks the tab's hidden server button and says so in small print: the server draws as before.
``python apps/main.py --server-rendering`` turns it off (``serving.Settings.browser_rendering``).
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections import defaultdict
from pathlib import Path

import gradio as gr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apps import serving
from apps.common import load_model
from facegan import checks, jobs, latent, onnx_export

STATIC = Path(__file__).resolve().parent / "static"
ORT_DIR = STATIC / "onnxruntime-web"
ORT_VERSION = "1.31.1"  # npm onnxruntime-web, pinned: its files are in ORT_DIR
PREFIX = "facegan-web"
ORT_FILES = {  # name -> (media type, stored gzipped)
    "ort.wasm.min.js": ("text/javascript", False),
    "ort-wasm-simd-threaded.mjs": ("text/javascript", False),
    "ort-wasm-simd-threaded.wasm": ("application/wasm", True),
}
JS_NAME = "facegan-web.js"
MAX_PARAMETERS = 12_000_000  # a generator sent to browsers: at most 24 MB of float16 (the bundled ones: 1.4-1.8 M)
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
_KEY = re.compile(r"[0-9a-f]{64}")


def enabled() -> bool:
    return serving.SETTINGS.browser_rendering


def head() -> str:
    """The page's script tags (relative addresses: the app may be served under a path)."""
    return (f'<script src="{PREFIX}/ort-{ORT_VERSION}/ort.wasm.min.js"></script>'
            f'<script src="{PREFIX}/{JS_NAME}?v={_js_version()}"></script>')


@functools.cache
def _js_version() -> str:
    return onnx_export.sha256_bytes((STATIC / JS_NAME).read_bytes())[:12]


def graph_cache() -> Path:
    """The app's own folder of exported graphs, ``<key>/generator.onnx.gz`` + ``onnx.json``."""
    return jobs.runs_dir() / ".cache" / "onnx"


_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)


_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a loaded model's graph key, hashed once


def graph_for(model) -> tuple[str, Path]:
    """(key, folder) of ``model``'s browser graph (float16 weights), exported once per weights and
    kept: a folder appears whole (written aside, then renamed) or not at all."""
    if model not in _keys:
        _keys[model] = onnx_export.weights_key(model)
    key = _keys[model]
    folder = graph_cache() / key
    if not (folder / "generator.onnx.gz").is_file():
        with _locks[key]:
            if not (folder / "generator.onnx.gz").is_file():
                graph_cache().mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(dir=graph_cache(), prefix=".export-"))
                try:
                    path = onnx_export.export(model, tmp, fp16=True)
                    with gzip.open(tmp / "generator.onnx.gz", "wb", compresslevel=6) as f:
                        f.write(path.read_bytes())
                    path.unlink()
                    shutil.rmtree(folder, ignore_errors=True)  # an incomplete one of an older version
                    os.replace(tmp, folder)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    return key, folder


def info(technique: str, ckpt: str) -> dict:
    """What the page draws ``technique``'s faces of the chooser value ``ckpt`` with (``graph/`` route)."""
    if technique not in onnx_export.TECHNIQUES:
        raise serving.refuse(f"the browser draws {', '.join(onnx_export.TECHNIQUES)}, not {checks.quote(technique)}")
    model, folder = load_model(technique, ckpt, with_folder=True)
    n = sum(p.numel() for p in model.generator.parameters())
    if n > MAX_PARAMETERS:  # a big converted model: not exported, not sent
        raise serving.refuse(f"this checkpoint's generator ({n / 1e6:.0f} M weights, {2 * n / 1e6:.0f} MB) is too big to "
                             f"send to a browser (at most {MAX_PARAMETERS / 1e6:.0f} M)")
    try:
        key, graph = graph_for(model)
    except ValueError as e:  # e.g. a converted StyleGAN v1: drawn on the server
        raise serving.refuse(str(e)) from None
    meta = json.loads((graph / onnx_export.INFO_NAME).read_text())
    out = {"technique": technique, "key": key, "graph": f"onnx/{key}/generator.onnx",
           "bytes": (graph / "generator.onnx.gz").stat().st_size, "image_size": meta["image_size"],
           "z_dim": meta["z_dim"], "prior": meta["prior"],
           # a face code's byte b is the latent value z_table[b] (latent.bytes_to_z), computed here once
           "z_table": latent.bytes_to_z(list(range(256)), meta["prior"]).tolist()}
    if technique == "acgan":
        out["classes"] = list(meta["classes"])
    if technique == "stylegan":
        out |= {"num_ws": meta["num_ws"], "w_dim": meta["w_dim"]}
    if technique in EXTRAS:
        out |= EXTRAS[technique](model, folder)
    return out


EXTRAS: dict = {}  # technique -> fn(model, folder) -> more of its info (a tab registers it: no import of tabs here)


# -- the routes -------------------------------------------------------------------------------------


def _allowed(request: Request) -> bool:
    """The app's login, where it has one (``--auth``), as gradio checks it: the model's graph is
    for visitors who may use the app."""
    app = request.app
    if getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
        return True
    if app.auth_dependency is not None:
        return app.auth_dependency(request) is not None
    token = (request.cookies.get(f"access-token-{app.cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{app.cookie_id}"))
    return app.tokens.get(token) is not None


def _send(data: bytes, media_type: str, gzipped: bool, request: Request, headers: dict) -> Response:
    if gzipped and "gzip" not in request.headers.get("accept-encoding", ""):
        data, gzipped = gzip.decompress(data), False
    return Response(data, media_type=media_type,
                    headers={**headers, "Vary": "Accept-Encoding", **({"Content-Encoding": "gzip"} if gzipped else {})})


@functools.cache
def _ort_bytes(name: str) -> bytes:
    media, gzipped = ORT_FILES[name]
    return (ORT_DIR / (name + ".gz" if gzipped else name)).read_bytes()


def _ort(request: Request) -> Response:
    version, name = request.path_params["version"], request.path_params["name"]
    if version != ORT_VERSION or name not in ORT_FILES:
        return Response("not found", status_code=404)
    return _send(_ort_bytes(name), ORT_FILES[name][0], ORT_FILES[name][1], request, IMMUTABLE)


def _js(request: Request) -> Response:
    return Response((STATIC / JS_NAME).read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})


def _graph_info(request: Request) -> Response:
    if not _allowed(request):
        return JSONResponse({"error": "log in first"}, status_code=401)
    technique = request.path_params["technique"]
    ckpt = request.query_params.get("checkpoint", "")
    try:
        return JSONResponse(info(technique, ckpt), headers={"Cache-Control": "no-cache"})
    except gr.Error as e:
        return JSONResponse({"error": str(getattr(e, "message", e))}, status_code=422)


def _graph(request: Request) -> Response:
    key = request.path_params["key"]
    if not _allowed(request):
        return Response("log in first", status_code=401)
    path = graph_cache() / key / "generator.onnx.gz"
    if not _KEY.fullmatch(key) or not path.is_file():  # only a graph this app exported
        return Response("not found", status_code=404)
    return _send(path.read_bytes(), "application/octet-stream", True, request, IMMUTABLE)


def routes() -> list[Route]:
    return [Route(f"/{PREFIX}/ort-{{version}}/{{name}}", _ort), Route(f"/{PREFIX}/{JS_NAME}", _js),
            Route(f"/{PREFIX}/graph/{{technique}}", _graph_info),
            Route(f"/{PREFIX}/onnx/{{key}}/generator.onnx", _graph)]


def install(demo: gr.Blocks) -> gr.Blocks:
    """The routes and the page's scripts, added whenever ``demo`` is launched (in browser mode)."""
    launch = demo.launch

    @functools.wraps(launch)
    def wrapper(*args, **kwargs):
        app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
        app_kwargs["routes"] = routes() + list(app_kwargs.get("routes", []))  # first: before gradio's own
        kwargs["head"] = head() + (kwargs.get("head") or "")
        return launch(*args, app_kwargs=app_kwargs, **kwargs)

    wrapper.browser_rendering = True  # what the launch adds (functools.wraps keeps gradio's name)
    demo.launch = wrapper
    return demo


# -- the events: JavaScript that draws in the browser, or clicks the server's hidden button -------------


def where_note(face: str) -> gr.HTML:
    """The small print under a face saying where it was drawn (the page writes it): ``face`` is the
    technique, or "stylegan-edit" for the studio's edited face."""
    return gr.HTML(f'<small class="facegan-where" id="facegan-{face}-where"></small>', padding=False)


def server_button(technique: str, what: str) -> gr.Button:
    """A hidden button whose click draws on the server: the fallback the page clicks, and the
    endpoint's home for gradio_client."""
    return gr.Button(visible="hidden", elem_id=f"facegan-{technique}-{what}-server")


def js(call: str) -> str:
    """An event's JavaScript: ``faceganWeb.<call>`` with the event's input values."""
    return f"(...values) => window.faceganWeb.{call}(...values)"


def preload(technique: str) -> str:
    """The JavaScript that fetches and opens ``technique``'s graph for the chooser's value (its input)."""
    return f"(ckpt) => window.faceganWeb.preload({json.dumps(technique)}, ckpt)"
