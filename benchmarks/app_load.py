"""The app under load: N clients at once, each calling `/dcgan_generate` (32 faces) and
`/stargan_grid` (every hair colour of the example photo) several times.

Each client does what a browser or gradio_client does per call: upload the picture, join the
queue, read the result stream and download every picture of the result. ``--client http`` (the
default) does it with plain HTTP requests (httpx), so the load generator costs little CPU;
``--client gradio_client`` uses gradio_client, which on a 2-core machine spends more CPU than
the server (about 0.9 s per call: its threads poll), so that figure measures the client too.

Prints requests/s over the whole run, p50 / p95 round trip per endpoint, every failure (an
exception of any kind counts: a protocol error, a short download, a timeout, an error message),
and the CPU seconds the server and the clients used.

Run (from the repository root)::

    python benchmarks/app_load.py --clients 16 --calls 5

``--sliders``: N clients moving the DCGAN explorer's sliders instead, the server's CPU time per
move compared between the two rendering modes in one run: with ``--server-rendering`` each client
calls ``/dcgan_sliders`` over HTTP (and downloads the face); in the default browser mode each client
is a Chromium page (Playwright) whose moves the page draws itself (apps/browser.py), so the server's
CPU time during the moves should be about zero (gradio's own heartbeat aside)::

    python benchmarks/app_load.py --sliders --clients 16 --calls 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import ROOT, cpu_s, percentile, rss_mb, running_app

PHOTO = ROOT / "assets" / "examples" / "astronaut.jpg"


def http_client_run(url: str, k: int, calls: int, results: dict, failures: list, lock: threading.Lock) -> None:
    """The gradio HTTP API by hand: POST /upload, POST /call/<name>, read its event stream,
    GET every file of the result (checking its length)."""
    import httpx

    api = url.rstrip("/") + "/gradio_api"
    with httpx.Client(timeout=600) as http:
        with open(PHOTO, "rb") as f:
            uploaded = http.post(f"{api}/upload", files={"files": (PHOTO.name, f, "image/jpeg")}).json()[0]
        picture = {"path": uploaded, "orig_name": PHOTO.name, "meta": {"_type": "gradio.FileData"}}
        for i in range(calls):
            for name, args in (("dcgan_generate", ["default", k * 100 + i, 32]),
                               ("stargan_grid", ["default", picture, "hair", "auto", 0])):
                t0 = time.perf_counter()
                try:
                    # one session per client, as a browser page or a gradio_client Client keeps
                    event = http.post(f"{api}/call/{name}", json={"data": args, "session_hash": f"load-{k}"}
                                      ).json()["event_id"]
                    stream = http.get(f"{api}/call/{name}/{event}").text
                    kind, _, data = stream.partition("data: ")
                    if not kind.strip().endswith("complete"):
                        raise RuntimeError(stream[:200])
                    out = json.loads(data.split("\n", 1)[0])
                    urls = [m for m in re.findall(r'"url": "([^"]+)"', json.dumps(out))]
                    for u in urls:
                        r = http.get(u if u.startswith("http") else url.rstrip("/") + u)
                        r.raise_for_status()
                    if name == "dcgan_generate" and len(out[0]) != 32:
                        raise RuntimeError(f"{len(out[0])} faces instead of 32")
                    with lock:
                        results["/" + name].append((time.perf_counter() - t0) * 1e3)
                except Exception as e:  # noqa: BLE001 - every failure is counted and printed
                    with lock:
                        failures.append(f"/{name}: {type(e).__name__}: {str(e)[:200]}")


def client_run(url: str, k: int, calls: int, results: dict, failures: list, lock: threading.Lock) -> None:
    from gradio_client import Client, handle_file

    # ssl_verify off on plain http: gradio_client otherwise loads the CA bundle for every call and file
    client = Client(url, verbose=False, download_files=tempfile.mkdtemp(prefix=f"facegan-load-{k}-"),
                    analytics_enabled=False, ssl_verify=not url.startswith("http://"))
    try:
        for i in range(calls):
            for name, args in (("/dcgan_generate", ("default", k * 100 + i, 32)),
                               ("/stargan_grid", ("default", handle_file(str(PHOTO)), "hair", "auto", 0))):
                t0 = time.perf_counter()
                try:
                    out = client.predict(*args, api_name=name)
                    if name == "/dcgan_generate" and len(out) != 32:
                        raise RuntimeError(f"{len(out)} faces instead of 32")
                    with lock:
                        results[name].append((time.perf_counter() - t0) * 1e3)
                except Exception as e:  # noqa: BLE001 - every failure is counted and printed
                    with lock:
                        failures.append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
    finally:
        client.close()


def slider_moves_server(url: str, k: int, calls: int, results: dict, failures: list, lock: threading.Lock) -> None:
    """A client of the server-rendering app: ``calls`` slider moves, each a /dcgan_sliders call and its face."""
    import httpx

    api = url.rstrip("/") + "/gradio_api"
    values = [128] * 16
    with httpx.Client(timeout=600) as http:
        for i in range(calls):
            values[i % 16] = (37 * i + 11 * k) % 256
            t0 = time.perf_counter()
            try:
                event = http.post(f"{api}/call/dcgan_sliders", json={"data": ["default", *values],
                                                                     "session_hash": f"sliders-{k}"}).json()["event_id"]
                stream = http.get(f"{api}/call/dcgan_sliders/{event}").text
                if "complete" not in stream.split("data:", 1)[0]:
                    raise RuntimeError(stream[:200])
                for u in re.findall(r'"url": "([^"]+)"', stream):
                    http.get(u if u.startswith("http") else url.rstrip("/") + u).raise_for_status()
                with lock:
                    results["server"].append((time.perf_counter() - t0) * 1e3)
            except Exception as e:  # noqa: BLE001 - every failure is counted and printed
                with lock:
                    failures.append(f"/dcgan_sliders: {type(e).__name__}: {str(e)[:200]}")


def slider_load(args) -> None:
    """--sliders: the server's CPU seconds per slider move, server rendering against browser rendering."""
    from browser_latency import CHROMIUM, MOVE_JS, moves
    from playwright.sync_api import sync_playwright

    report = []
    with tempfile.TemporaryDirectory() as runs:
        env = {"FACEGAN_RUNS": runs, "HF_HUB_OFFLINE": "1"}
        with running_app(args.host, args=("--training", "off", "--server-rendering"), env=env) as (url, proc, _):
            slider_moves_server(url, -1, 2, defaultdict(list), [], threading.Lock())  # the model loaded
            results, failures, lock = defaultdict(list), [], threading.Lock()
            threads = [threading.Thread(target=slider_moves_server, args=(url, k, args.calls, results, failures, lock))
                       for k in range(args.clients)]
            cpu0, t0 = cpu_s(proc.pid), time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            n, cpu, wall = len(results["server"]), cpu_s(proc.pid) - cpu0, time.perf_counter() - t0
            report.append(f"server rendering: {n} moves ({len(failures)} failed) by {args.clients} clients in {wall:.1f} s; "
                          f"server CPU {cpu:.2f} s = {1e3 * cpu / max(n, 1):.1f} ms per move; round trip p50 "
                          f"{percentile(results['server'], 50):.0f} ms, p95 {percentile(results['server'], 95):.0f} ms")
            report += [f"  FAILED {f}" for f in failures[:5]]
        with running_app(args.host, args=("--training", "off"), env=env) as (url, proc, _), sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            pages = []
            for _k in range(args.clients):
                page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.goto(url)
                page.wait_for_function("() => ((document.getElementById('facegan-dcgan-where') || {})"
                                       ".textContent || '').includes('in your browser')", timeout=300_000)
                pages.append(page)
            sent = []
            for page in pages:
                page.on("request", lambda r: sent.append(r.url) if "/gradio_api/" in r.url else None)
            cpu0, t0, times = cpu_s(proc.pid), time.perf_counter(), []
            for move in moves("dcgan", args.calls):  # round robin: each page moves in turn
                for page in pages:
                    times.append(page.evaluate(MOVE_JS, list(move)))
            n, cpu, wall = len(times), cpu_s(proc.pid) - cpu0, time.perf_counter() - t0
            chromium.close()
            report.append(f"browser rendering: {n} moves by {args.clients} pages in {wall:.1f} s; server CPU {cpu:.2f} s "
                          f"= {1e3 * cpu / n:.2f} ms per move; {len(sent)} requests reached the server's API meanwhile; "
                          f"move to paint p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms "
                          "(all pages in one Chromium on this machine)")
    print("\n".join(report))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--calls", type=int, default=5, help="calls of each endpoint per client (default 5)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--client", choices=["http", "gradio_client"], default="http")
    p.add_argument("--sliders", action="store_true", help="slider moves: server against browser rendering")
    args = p.parse_args(argv)
    if args.sliders:
        return slider_load(args)
    run = http_client_run if args.client == "http" else client_run
    with running_app(args.host) as (url, proc, _start_s):
        # one warm-up call of each, so the models are loaded before the clock starts
        run(url, -1, 1, defaultdict(list), [], threading.Lock())
        results: dict[str, list[float]] = defaultdict(list)
        failures: list[str] = []
        lock = threading.Lock()
        threads = [threading.Thread(target=run, args=(url, k, args.calls, results, failures, lock))
                   for k in range(args.clients)]
        cpu0, mine0 = cpu_s(proc.pid), time.process_time()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        server_cpu, client_cpu = cpu_s(proc.pid) - cpu0, time.process_time() - mine0
        rss = rss_mb(proc.pid)
    n = sum(len(v) for v in results.values())
    for name, ms in sorted(results.items()):
        print(f"{name}: {len(ms)} answered, p50 {percentile(ms, 50) / 1e3:.2f} s, p95 {percentile(ms, 95) / 1e3:.2f} s")
    for f in failures[:20]:
        print("FAILED", f)
    print(f"app load ({args.client} clients): {args.clients} clients x {args.calls} x (dcgan_generate 32 faces + "
          f"stargan_grid): {n} answered, {len(failures)} failed in {wall:.1f} s = {n / wall:.2f} requests/s; CPU: "
          f"server {server_cpu:.0f} s, clients {client_cpu:.0f} s ({os.cpu_count()} CPUs visible; server RSS at the "
          f"end {rss:.0f} MB)")


if __name__ == "__main__":
    main()
