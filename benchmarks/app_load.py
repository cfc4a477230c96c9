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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--calls", type=int, default=5, help="calls of each endpoint per client (default 5)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--client", choices=["http", "gradio_client"], default="http")
    args = p.parse_args(argv)
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
