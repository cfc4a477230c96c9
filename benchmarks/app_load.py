"""The app under load: N clients at once, each calling `/dcgan_generate` (32 faces) and
`/stargan_grid` (every hair colour of the example photo) several times, through gradio_client.

Prints requests/s over the whole run, p50 / p95 round trip per endpoint, and every failure
(an exception of any kind counts: a protocol error, a timeout, an error message).

Run (from the repository root)::

    python benchmarks/app_load.py --clients 16 --calls 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import ROOT, percentile, rss_mb, running_app

PHOTO = ROOT / "assets" / "examples" / "astronaut.jpg"


def client_run(url: str, k: int, calls: int, results: dict, failures: list, lock: threading.Lock) -> None:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=tempfile.mkdtemp(prefix=f"facegan-load-{k}-"),
                    analytics_enabled=False)
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
    args = p.parse_args(argv)
    with running_app(args.host) as (url, proc, _start_s):
        # one warm-up call of each, so the models are loaded before the clock starts
        client_run(url, -1, 1, defaultdict(list), [], threading.Lock())
        results: dict[str, list[float]] = defaultdict(list)
        failures: list[str] = []
        lock = threading.Lock()
        threads = [threading.Thread(target=client_run, args=(url, k, args.calls, results, failures, lock))
                   for k in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        rss = rss_mb(proc.pid)
    n = sum(len(v) for v in results.values())
    for name, ms in sorted(results.items()):
        print(f"{name}: {len(ms)} answered, p50 {percentile(ms, 50) / 1e3:.2f} s, p95 {percentile(ms, 95) / 1e3:.2f} s")
    for f in failures[:20]:
        print("FAILED", f)
    print(f"app load: {args.clients} clients x {args.calls} x (dcgan_generate 32 faces + stargan_grid): "
          f"{n} answered, {len(failures)} failed in {wall:.1f} s = {n / wall:.2f} requests/s "
          f"({os.cpu_count()} CPUs visible; server RSS at the end {rss:.0f} MB)")


if __name__ == "__main__":
    main()
