"""What the server does for faces drawn in the browser (apps/browser.py): the vendored
onnxruntime-web, the graphs of the tabs' checkpoints and their info, and nothing else."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from apps import browser

ort = pytest.importorskip("onnxruntime", reason="pip install onnxruntime (the ONNX export tests)")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEGAN_RUNS", str(tmp_path_factory.mktemp("runs")))
        mp.setenv("HF_HUB_OFFLINE", "1")
        with TestClient(Starlette(routes=browser.routes())) as c:
            yield c


def test_the_runtime_files_are_served_compressed_and_plain(client):
    base = f"/{browser.PREFIX}/ort-{browser.ORT_VERSION}"
    r = client.get(f"{base}/ort-wasm-simd-threaded.wasm", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/wasm"
    assert r.headers["content-encoding"] == "gzip" and r.content[:4] == b"\0asm"  # the client undid the gzip
    assert "immutable" in r.headers["cache-control"]
    plain = client.get(f"{base}/ort-wasm-simd-threaded.wasm", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content
    assert client.get(f"{base}/ort.wasm.min.js").text.startswith(("/*", "!function", "var", "\"use strict"))
    js = client.get(f"/{browser.PREFIX}/{browser.JS_NAME}")
    assert js.status_code == 200 and "faceganWeb" in js.text
    for bad in (f"{base}/../../apps/main.py", f"{base}/LICENSE", f"/{browser.PREFIX}/ort-0.0.1/ort.wasm.min.js",
                f"{base}/%2e%2e%2fbrowser.py", f"/{browser.PREFIX}/onnx/../../README.md",
                f"/{browser.PREFIX}/onnx/{'0' * 64}/generator.onnx", f"/{browser.PREFIX}/onnx/abc/generator.onnx"):
        assert client.get(bad).status_code == 404, bad


def test_a_tabs_graph_is_its_checkpoint_and_its_info_what_the_page_needs(client):
    """The DCGAN default's graph: its key names a folder of the app's cache, the served file is an ONNX
    graph that draws the bundled model's faces (within 2/255 of float32), the byte table is the
    face codes' (uniform prior: byte b -> b / 127.5 - 1)."""
    from facegan import latent
    from facegan.pipelines import DCGANPipeline

    r = client.get(f"/{browser.PREFIX}/graph/dcgan", params={"checkpoint": "default"})
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["z_dim"] == 16 and info["image_size"] == 64 and info["prior"] == "uniform"
    assert info["z_table"][0] == -1 and info["z_table"][255] == 1 and abs(info["z_table"][51] - (51 / 127.5 - 1)) < 1e-7
    graph = client.get(f"/{browser.PREFIX}/{info['graph']}", headers={"Accept-Encoding": "gzip"})
    assert graph.status_code == 200 and graph.headers["content-encoding"] == "gzip"
    assert len(gzip.compress(graph.content)) <= info["bytes"] * 1.05  # what the page downloads, said
    session = ort.InferenceSession(graph.content, providers=["CPUExecutionProvider"])
    code = "c82d4e9480c10995a6e7dee79c05b0e9"
    z = np.array([[info["z_table"][b] for b in latent.code_to_bytes(code)]], np.float32)
    (image,) = session.run(["image"], {"z": z})
    got = np.round((np.clip(image[0], -1, 1) + 1) * 127.5).transpose(1, 2, 0)
    want = np.asarray(DCGANPipeline.from_pretrained(dtype="float32", exact=True).face(code), np.float64)
    assert np.abs(got - want).max() <= 2
    # the same checkpoint again: the kept graph, not a new export
    assert client.get(f"/{browser.PREFIX}/graph/dcgan", params={"checkpoint": "default"}).json()["key"] == info["key"]


@pytest.mark.parametrize("technique, ckpt, message", [
    ("dcgan", "../../etc", "not"),
    ("dcgan", "/etc", "not"),
    ("ugatit", "default", "the browser draws dcgan, acgan, stylegan"),
    ("dcgan", "x" * 5000, "checkpoint"),
])
def test_a_graph_only_of_what_the_tab_may_load(client, technique, ckpt, message):
    r = client.get(f"/{browser.PREFIX}/graph/{technique}", params={"checkpoint": ckpt})
    assert r.status_code == 422 and message in r.json()["error"], r.text


def test_both_rendering_modes_keep_the_endpoints():
    """Browser mode: a slider's move runs JavaScript only (no server function) and the endpoints live
    on hidden buttons the page clicks when it cannot draw; --server-rendering: the moves call the
    endpoints themselves, as before. The same API names either way."""
    from apps.main import build_demo
    from apps.serving import Settings

    names = ("dcgan_sliders", "dcgan_face", "acgan_face", "stylegan_generate")
    found = {}
    for browser_mode in (True, False):
        demo = build_demo(Settings(training=False, browser_rendering=browser_mode))
        cfg = demo.get_config_file()
        kinds = {c["id"]: c["type"] for c in cfg["components"]}
        deps = {d["api_name"]: d for d in cfg["dependencies"] if d.get("api_name") in names}
        assert set(deps) == set(names)
        found[browser_mode] = {n: {kinds.get(t) for t, _ in d["targets"]} for n, d in deps.items()}
        js_only = [d for d in cfg["dependencies"] if d.get("js") and not d.get("backend_fn")]
        sliders_js = [d for d in js_only if any(kinds.get(t) == "slider" and e == "input" for t, e in d["targets"])]
        assert bool(sliders_js) == browser_mode  # DCGAN's sliders, psi, the edit's strength
        assert getattr(demo.launch, "browser_rendering", False) == browser_mode  # the routes and scripts at launch
    assert found[True]["dcgan_sliders"] == {"button"} and found[False]["dcgan_sliders"] == {"slider"}
    assert found[True]["stylegan_generate"] == {"button"} == found[False]["stylegan_generate"]


def test_a_generator_too_big_for_a_browser_is_drawn_on_the_server(client, monkeypatch):
    """A checkpoint whose generator has more weights than MAX_PARAMETERS is not exported: the page is
    told why and draws on the server (the bundled DCGAN's 1.65 M against a limit of 1 M here)."""
    monkeypatch.setattr(browser, "MAX_PARAMETERS", 1_000_000)
    r = client.get(f"/{browser.PREFIX}/graph/dcgan", params={"checkpoint": "default"})
    assert r.status_code == 422 and "too big to send to a browser (at most 1 M)" in r.json()["error"]
