"""Slider move -> new face painted, in Chromium (Playwright), for the faces the page draws itself
(onnxruntime-web, apps/browser.py) and for the same moves drawn by the server
(``python apps/main.py --server-rendering``), measured in one run on the same machine.

For each mode an app is started (``appserver.running_app``), a page opened, the tab's graph left to
load (browser mode), a few warm-up moves made, then --moves moves: in the page, the slider's value
set and its input / change / pointerup events sent as a drag would, and the time taken until the
visible face's picture changed (a MutationObserver), was decoded and the next frame was painted
(``performance.now()``). Moves:
each DCGAN slider in turn to a new value; StyleGAN's psi between 0.3 and 1.0.

Also: the bytes the page downloads for drawing (the runtime, each tab's graph: as sent, gzip),
and the page's whole download, per mode.

    python benchmarks/browser_latency.py [--moves 40] [--json out.json]

Needs Debian's chromium (apt-get install chromium) and playwright (pip).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import percentile, running_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

MOVE_JS = """async ([label, value]) => {
  const visible = (el) => el && el.offsetParent !== null;
  const face = () => Array.from(document.querySelectorAll('.facegan-picture img')).find(visible);
  const input = Array.from(document.querySelectorAll(`input[aria-label="range slider for ${label}"]`)).find(visible);
  const before = face() ? face().src : null;
  const t0 = performance.now();
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, value);
  for (const kind of ['input', 'change']) input.dispatchEvent(new Event(kind, {bubbles: true}));
  input.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}));
  await new Promise((done, fail) => {  // the new picture as soon as the page sets it, then decoded
    const timer = setTimeout(() => { observer.disconnect(); fail(new Error('no new face in 60 s')); }, 60000);
    const look = () => {
      const f = face();
      if (!f || f.src === before) return;
      observer.disconnect();
      clearTimeout(timer);
      f.decode().then(done, done);
    };
    const observer = new MutationObserver(look);
    observer.observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    look();
  });
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def moves(technique: str, n: int) -> list[tuple[str, str]]:
    if technique == "dcgan":
        return [(f"z{i % 16}", str((37 * i + 11) % 256)) for i in range(n)]
    return [("psi (truncation)", "0.3" if i % 2 else "1") for i in range(n)]


def measure(url: str, browser_mode: bool, n: int, warmup: int) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        sizes = {}

        def seen(response):
            try:
                sizes[response.url] = int(response.headers.get("content-length") or len(response.body()))
            except Exception:  # a streamed response (the queue's events): not a download
                pass

        page.on("response", seen)
        page.goto(url)
        page.wait_for_selector("text=facegan", timeout=120_000)
        for technique, tab in (("dcgan", "DCGAN explorer"), ("stylegan", "StyleGAN studio")):
            page.get_by_role("tab", name=tab, exact=True).click()
            if browser_mode:
                page.wait_for_function(f"() => ((document.getElementById('facegan-{technique}-where') || {{}})"
                                       ".textContent || '').includes('in your browser')", timeout=300_000)
            else:
                page.wait_for_timeout(2000)
            times = [page.evaluate(MOVE_JS, list(m)) for m in moves(technique, warmup + n)][warmup:]
            out[technique] = {"median_ms": percentile(times, 50), "p90_ms": percentile(times, 90), "moves": n}
            print(f"{'browser' if browser_mode else 'server '} {technique:8s} median {out[technique]['median_ms']:6.1f} ms"
                  f"  p90 {out[technique]['p90_ms']:6.1f} ms  ({n} moves)", flush=True)
        page.get_by_role("tab", name="AC-GAN class grid", exact=True).click()
        if browser_mode:
            page.wait_for_function("() => ((document.getElementById('facegan-acgan-where') || {})"
                                   ".textContent || '').includes('in your browser')", timeout=300_000)
        chromium.close()
    web = {u: b for u, b in sizes.items() if "/facegan-web/" in u}
    out["bytes_drawing"] = sum(web.values())
    out["bytes_drawing_files"] = {u.split("/facegan-web/", 1)[1].split("?")[0][:60]: b for u, b in web.items()}
    out["bytes_page"] = sum(sizes.values())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moves", type=int, default=40)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as runs:  # the browser mode's graphs are exported into a fresh cache
        env = {"FACEGAN_RUNS": runs, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        for mode, extra in (("browser", ()), ("server", ("--server-rendering",))):
            with running_app(args=("--training", "off", *extra), env=env) as (url, _, _):
                results[mode] = measure(url, mode == "browser", args.moves, args.warmup)
    for mode, r in results.items():
        print(f"{mode}: the page downloaded {r['bytes_page'] / 1e6:.2f} MB in all; for drawing "
              f"{r['bytes_drawing'] / 1e6:.2f} MB")
        for name, b in sorted(r["bytes_drawing_files"].items()):
            print(f"    {b / 1e6:6.2f} MB  {name}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
