"""The app in a real browser (Debian's chromium through Playwright): what only a browser shows.

`.ci/run` installs chromium and playwright; elsewhere these tests skip with the reason
(`apt-get install chromium && pip install playwright`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser tests)")
if not Path(CHROMIUM).is_file():
    pytest.skip("no chromium: apt-get install chromium (the browser tests)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The whole app with training on; its data: 16 random faces under an operator data folder."""
    from facegan import jobs

    base = tmp_path_factory.mktemp("browser")
    faces = base / "faces"
    faces.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(faces / f"{i:02d}.png")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEGAN_RUNS", str(base / "runs"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("OMP_NUM_THREADS", "1")
        from apps.main import CSS, build_demo
        from apps.serving import Settings

        demo = build_demo(Settings(training=True, data_dirs=[base], checkpoint_dirs=[base]))
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS)
        try:
            yield f"http://127.0.0.1:{port}/", faces
        finally:
            for pid, proc in list(jobs._children.items()):
                if proc.poll() is None:
                    os.kill(pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            demo.close()


@pytest.fixture(scope="module")
def chromium():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(chromium, url: str, init_script: str | None = None):
    """A page of its own browser context (``init_script`` run before the page's own), closed after."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        if init_script:
            context.add_init_script(init_script)
        p = context.new_page()
        p.goto(url)
        p.wait_for_selector("text=facegan", timeout=60_000)
        yield p
    finally:
        context.close()


@pytest.fixture(scope="module")
def page(app, chromium):
    with open_page(chromium, app[0]) as p:
        yield p


def test_the_loss_plot_draws_lines_in_the_tab_that_started_the_job(app, page):
    """The job is started from this very page: the loss plot gets numeric axes and a line per loss
    (the first table it was sent used to be empty, and the chart then drew no lines at all)."""
    _, faces = app
    page.get_by_role("tab", name="Training", exact=True).click()
    data = page.get_by_label("Data set")
    data.fill(str(faces))
    data.press("Enter")
    for label, value in (("Steps", "400"), ("Batch size", "4")):
        page.locator("label:visible").filter(has_text=label).first.locator("input").fill(value)
    run_name = page.locator("label:visible").filter(has_text="Run name").first.locator("input, textarea")
    first_name = run_name.input_value()
    page.get_by_role("button", name="▶ Start").click()
    # the job took the form's run name; the form now offers a fresh one, and Resume stays off
    sync_api.expect(run_name).not_to_have_value(first_name, timeout=30_000)
    assert first_name.startswith("dcgan-") and run_name.input_value().startswith("dcgan-")
    sync_api.expect(page.get_by_text(f"Start trains a new dcgan run in runs/{run_name.input_value()}")).to_be_visible()
    assert not page.get_by_label("Resume the run from its last checkpoint").is_checked()
    page.wait_for_function("() => document.querySelectorAll('.mark-line path').length >= 2 && "
                           "Array.from(document.querySelectorAll('.mark-line path')).every(p => "
                           "(p.getAttribute('d') || '').length > 10) && document.querySelectorAll("
                           "\"g[aria-label^='X-axis'] .role-axis-label text\").length >= 3", timeout=120_000)
    for axis in ("X", "Y"):  # a quantitative axis: round, evenly spaced ticks (categories would be the values)
        ticks = page.evaluate(f"() => Array.from(document.querySelectorAll(\"g[aria-label^='{axis}-axis'] "
                              ".role-axis-label text\")).map(t => t.textContent || '')")
        values = [float(t.replace(",", "")) for t in ticks]
        steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
        assert len(values) >= 3 and len(steps) == 1 and steps.pop() > 0, (axis, ticks)
        assert all(len(t.partition(".")[2]) <= 2 for t in ticks), (axis, ticks)
    page.get_by_role("button", name="■ Stop").click()
    page.wait_for_selector("text=stopped", timeout=60_000)
    assert not page.get_by_label("Resume the run from its last checkpoint").is_checked()  # until a run is chosen


def test_the_stylegan_tab_shows_a_face_when_it_opens(page):
    page.get_by_role("tab", name="StyleGAN studio", exact=True).click()
    face = page.locator(".block:visible:has(label:text-is('Face')) img").first
    face.wait_for(timeout=30_000)
    size = face.evaluate("img => [img.naturalWidth, img.complete]")
    assert size[0] >= 64 and size[1], size


# -- faces drawn in the browser (apps/browser.py, onnxruntime-web) ----------------------------------


def _where(page, technique: str) -> str:
    return page.evaluate(f"() => (document.getElementById('facegan-{technique}-where') || {{}}).textContent || ''")


def _shown_face(page) -> np.ndarray:
    """The visible Face picture as drawn by the page (a PNG data URL), as an array."""
    import base64
    import io

    src = page.locator(".block:visible:has(label:text-is('Face')) img").first.get_attribute("src")
    assert src.startswith("data:image/png;base64,"), src[:60]  # drawn by the page, not fetched
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"), np.int16)


def _move(page, label: str, value: str, where: str) -> list[str]:
    """Set the slider ``label`` to ``value`` as a drag would and wait until the page drew the face
    (its small print ``facegan-<where>-where``); the requests the move sent: an event of the slider
    or of a hidden server button (the fallback), or anything to /facegan-web/. (A tab's own refresh
    or gradio's heartbeat meanwhile is not the move's.)"""
    import json

    mine = set(page.evaluate(
        "(label) => window.gradio_config.components.filter(c => c.props && (c.props.label === label || "
        "String(c.props.elem_id || '').endsWith('-server'))).map(c => c.id)", label))
    assert mine, label
    sent = []

    def listener(request):
        try:
            trigger = json.loads(request.post_data or "{}").get("trigger_id")
        except (ValueError, AttributeError):
            trigger = None
        if trigger in mine or "/facegan-web/" in request.url:
            sent.append(request.url)

    page.on("request", listener)
    page.evaluate(f"() => {{ document.getElementById('facegan-{where}-where').textContent = ''; }}")
    page.get_by_label(f"range slider for {label}").fill(value)
    page.wait_for_function(f"() => document.getElementById('facegan-{where}-where').textContent.includes(' ms)')",
                           timeout=60_000)
    page.wait_for_timeout(300)  # anything sent just after the face was painted
    page.remove_listener("request", listener)
    return sent


@pytest.fixture()
def fresh_page(app, chromium):
    """A page of its own: no other test's tab (the Training tab polls its job) sends requests meanwhile."""
    with open_page(chromium, app[0]) as p:
        yield p


def test_slider_moves_draw_in_the_browser_and_send_nothing(fresh_page):
    """A DCGAN slider and the StyleGAN psi slider: the page draws the face with onnxruntime-web, no
    request reaches the server for the move, and the picture is within 2/255 of the library's
    float32 face for the same code (what the server draws with --server-rendering)."""
    from facegan.pipelines import DCGANPipeline, StyleGANPipeline

    page = fresh_page  # it opens on the DCGAN explorer
    page.wait_for_function("() => ((document.getElementById('facegan-dcgan-where') || {}).textContent || '').includes("
                           "'in your browser')", timeout=120_000)  # its graph, exported and loaded once
    assert _move(page, "z0", "200", "dcgan") == []
    assert "drawn in your browser" in _where(page, "dcgan")
    code = page.evaluate("() => Array.from(document.querySelectorAll('textarea, input')).map(e => e.value)"
                         ".find(v => /^c8[0-9a-f]{30}$/.test(v))")  # z0 = 200 = 0xc8
    assert code, "the code box shows the moved face's code"
    want = np.asarray(DCGANPipeline.from_pretrained(dtype="float32", exact=True).face(code), np.int16)
    assert np.abs(_shown_face(page) - want).max() <= 2

    page.get_by_role("tab", name="StyleGAN studio", exact=True).click()
    page.wait_for_function("() => ((document.getElementById('facegan-stylegan-where') || {}).textContent || '').includes("
                           "'in your browser')", timeout=120_000)
    assert _move(page, "psi (truncation)", "0.5", "stylegan") == []
    st = StyleGANPipeline.from_pretrained(dtype="float32")
    want = np.asarray(st.face("0", psi=0.5).picture, np.int16)
    assert np.abs(_shown_face(page) - want).max() <= 2
    # the edit's strength slider: the face moved along the labelled direction the sub-tab opens with
    page.get_by_role("tab", name="Edit along a direction", exact=True).click()
    direction = "hair: blue"  # what the sub-tab opens with for a checkpoint that has it (the bundled one does)
    assert page.get_by_text(direction, exact=True).filter(visible=True).count() or \
        page.locator("input:visible").evaluate_all("els => els.map(e => e.value)").count(direction)
    assert _move(page, "Strength", "12", "stylegan-edit") == []
    want = np.asarray(st.edit("0", direction, None, 12, psi=0.5).picture, np.int16)
    edited = page.locator(".block:visible:has(label:text-is('Edited face')) img").first.get_attribute("src")
    import base64
    import io
    got = np.asarray(Image.open(io.BytesIO(base64.b64decode(edited.split(",", 1)[1]))).convert("RGB"), np.int16)
    assert np.abs(got - want).max() <= 2, direction


def test_a_seed_is_the_same_face_code_in_the_page(page):
    """A StyleGAN seed's code in the page (mt19937, written in facegan-web.js) is torch's
    (latent.random_codes: torch.randint of a generator seeded with it), large seeds too."""
    from facegan import latent

    for seed in (0, 7, 123456789, 2**32 + 5, 2**63 - 1):
        got = page.evaluate(f"() => window.faceganWeb.seedBytes('{seed}', 64)")
        assert latent.bytes_to_code(got) == latent.random_codes(1, 64, seed)[0], seed
    assert page.evaluate(f"() => window.faceganWeb.seedBytes('{2**63}', 64)") is None  # past the largest seed


def test_without_webassembly_the_server_draws_and_says_so(app, chromium):
    with open_page(chromium, app[0], "delete window.WebAssembly;") as p:
        p.wait_for_function("() => (document.getElementById('facegan-dcgan-where') || {}).textContent", timeout=60_000)
        assert "drawn on the server: this browser has no WebAssembly" in _where(p, "dcgan")
        before = p.locator(".block:visible:has(label:text-is('Face')) img").first.get_attribute("src")
        sent = []
        p.on("request", lambda r: sent.append(r.url))
        p.get_by_label("range slider for z3").fill("17")
        p.wait_for_function("b => { const i = document.querySelector('.facegan-picture img'); return i && i.src !== b; }",
                            arg=before, timeout=60_000)
        assert any("/gradio_api/queue/join" in u for u in sent)  # the server drew it (the hidden button's event)
        src = p.locator(".block:visible:has(label:text-is('Face')) img").first.get_attribute("src")
        assert not src.startswith("data:")
        assert "drawn on the server" in _where(p, "dcgan")
