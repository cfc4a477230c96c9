"""The app in a real browser (Debian's chromium through Playwright): what only a browser shows.

`.ci/run` installs chromium and playwright; elsewhere these tests skip with the reason
(`apt-get install chromium && pip install playwright`)."""

from __future__ import annotations

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
def page(app):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        p = browser.new_page(viewport={"width": 1400, "height": 1000})
        p.goto(app[0])
        p.wait_for_selector("text=facegan", timeout=60_000)
        try:
            yield p
        finally:
            browser.close()


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
