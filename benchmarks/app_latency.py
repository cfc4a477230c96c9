"""App latency: start-up time of the facegan app and the round trip of its DCGAN explorer endpoints.

Starts ``python apps/main.py --port P`` as a subprocess (its own process group) and measures:

* start to first page: seconds from spawning the process until ``GET /`` answers 200 with
  a page that contains "facegan" (imports, the default checkpoint lookup, building the
  Blocks, the server coming up);
* ``/dcgan_sliders`` through ``gradio_client``: ``--calls`` calls, each with one of the 16
  slider values changed from the previous call (a slider move; the first argument is the
  checkpoint "default"), reported as median and p90 after ``--warmup`` untimed calls;
* ``/dcgan_face`` the same way, each call with a new random 32-hex-digit code;
* ``/dcgan_sliders`` over plain HTTP (httpx, one connection and one session): the server's part.

Each figure is the full client round trip: queue, G on one latent, PNG encoding, and the
client fetching the image file. The first call of all (which loads the model into the
server's cache) is printed on its own. The server is always stopped at the end. On plain http
the gradio_client is made with ``ssl_verify=False``: otherwise it builds a TLS context (loading
the CA bundle) for every call and file, ~40 ms of the client's own (``--ssl-verify`` keeps it).

Run (from the repository root)::

    python benchmarks/app_latency.py --calls 30

Example output (``--calls 30``, the 2-core machine idle)::

    app start to first page: 4.26 s
    /dcgan_sliders (one slider moved per call): median 59.3 ms, p90 60.1 ms, min 58.2 ms, max 60.5 ms (n=30)
    /dcgan_sliders over plain HTTP (httpx, one connection: the server's part): median 17.7 ms, p90 18.9 ms, ...
    /dcgan_face (a new code per call):          median 59.7 ms, p90 60.8 ms, min 58.5 ms, max 62.1 ms (n=30)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import percentile, running_app

START_CODE = "732d4e9480c10995a6e7dee79c05b0e9"  # the app's first face (apps/dcgan.py)
N_SLIDERS = 16


def summary(ms: list[float]) -> str:
    return (f"median {percentile(ms, 50):.1f} ms, p90 {percentile(ms, 90):.1f} ms, "
            f"min {min(ms):.1f} ms, max {max(ms):.1f} ms (n={len(ms)})")


def timed_calls(client, n: int, args_for, check=None) -> list[float]:
    ms = []
    for i in range(n):
        args = args_for(i)
        t0 = time.perf_counter()
        result = client.predict(*args, api_name=args_for.api_name)
        ms.append((time.perf_counter() - t0) * 1e3)
        if check:
            check(args, result)
    return ms


def raw_slider_calls(url: str, n: int, rng: random.Random) -> list[float]:
    """A slider move as the gradio HTTP API sees it: POST /call, read its event stream, GET the face."""
    import json

    import httpx

    api = url.rstrip("/") + "/gradio_api"
    values = list(bytes.fromhex(START_CODE))
    ms = []
    with httpx.Client(timeout=60) as http:
        for i in range(n + 2):
            values[i % N_SLIDERS] = (values[i % N_SLIDERS] + rng.randint(1, 255)) % 256
            t0 = time.perf_counter()
            # the same session for every call, as a browser page or a gradio_client Client keeps
            event = http.post(f"{api}/call/dcgan_sliders", json={"data": ["default", *values],
                                                                 "session_hash": "bench"}).json()["event_id"]
            stream = http.get(f"{api}/call/dcgan_sliders/{event}").text
            face = json.loads(stream.split("data: ", 1)[1].split("\n", 1)[0])[0]
            http.get(face["url"]).raise_for_status()
            if i >= 2:  # two warm-up calls
                ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Example: python benchmarks/app_latency.py --calls 30")
    p.add_argument("--calls", type=int, default=30, help="timed calls per endpoint (default 30)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls per endpoint first (default 2)")
    p.add_argument("--port", type=int, default=0, help="port for the app (default: a free one)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--start-timeout", type=float, default=300, help="seconds to wait for the first page")
    p.add_argument("--seed", type=int, default=0, help="seed of the slider moves and codes")
    p.add_argument("--ssl-verify", action="store_true",
                   help="let gradio_client build its TLS context per call even on http (its default)")
    p.add_argument("--float32", action="store_true",
                   help="the server computes in float32 (FACEGAN_DTYPE=float32), as on a CPU without native bf16")
    args = p.parse_args(argv)
    if args.calls < 1 or args.warmup < 0:
        raise SystemExit("--calls must be >= 1 and --warmup >= 0")

    downloads = tempfile.mkdtemp(prefix="facegan-bench-client-")
    env = {"FACEGAN_DTYPE": "float32"} if args.float32 else {}
    with running_app(args.host, args.port, timeout=args.start_timeout, env=env) as (url, _proc, start_s):
        client = None
        try:
            print(f"app start to first page: {start_s:.2f} s")

            from gradio_client import Client

            t1 = time.perf_counter()
            # On plain http gradio_client still builds a TLS context (loading the CA bundle) for every
            # call and every file it downloads: ~40 ms a slider move on the 2-core machine, none of it
            # the app's. --ssl-verify keeps that (what a default Client pays).
            client = Client(url, verbose=False, download_files=downloads, analytics_enabled=False,
                            ssl_verify=args.ssl_verify or not url.startswith("http://"))
            print(f"gradio_client connect: {(time.perf_counter() - t1) * 1e3:.0f} ms")

            rng = random.Random(args.seed)
            values = list(bytes.fromhex(START_CODE))

            def slider_args(i: int):
                j = i % N_SLIDERS  # move one slider per call, like a user dragging them in turn
                values[j] = (values[j] + rng.randint(1, 255)) % 256  # always a different value
                return ("default", *values)
            slider_args.api_name = "/dcgan_sliders"

            def check_sliders(call_args, result):
                face, code = result
                want = bytes(call_args[1:]).hex()
                if code != want or not Path(face).is_file():
                    raise SystemExit(f"/dcgan_sliders returned {result!r}, expected a face file and code {want}")

            codes = iter([bytes(rng.randrange(256) for _ in range(N_SLIDERS)).hex()
                          for _ in range(args.warmup + args.calls)])

            def face_args(i: int):
                return ("default", next(codes))  # a new face each call
            face_args.api_name = "/dcgan_face"

            def check_face(call_args, result):
                if result[1] != call_args[1] or not Path(result[0]).is_file() or len(result) != 2 + N_SLIDERS:
                    raise SystemExit(f"/dcgan_face returned {result!r} for code {call_args[1]}")

            first = timed_calls(client, 1, slider_args, check_sliders)[0]
            print(f"first call (/dcgan_sliders, loads the default checkpoint into the server): {first:.0f} ms")

            timed_calls(client, args.warmup, slider_args, check_sliders)
            sliders = timed_calls(client, args.calls, slider_args, check_sliders)
            timed_calls(client, args.warmup, face_args, check_face)
            faces = timed_calls(client, args.calls, face_args, check_face)

            raw = raw_slider_calls(url, args.calls, rng)
            print(f"/dcgan_sliders (one slider moved per call): {summary(sliders)}")
            print(f"/dcgan_sliders over plain HTTP (httpx, one connection: the server's part): {summary(raw)}")
            print(f"/dcgan_face (a new code per call):          {summary(faces)}")
            print(f"facegan app: start {start_s:.2f} s; /dcgan_sliders median {percentile(sliders, 50):.0f} ms "
                  f"p90 {percentile(sliders, 90):.0f} ms; /dcgan_face median {percentile(faces, 50):.0f} ms "
                  f"p90 {percentile(faces, 90):.0f} ms; plain HTTP slider median {percentile(raw, 50):.0f} ms "
                  f"({args.calls} calls each, {os.cpu_count()} CPUs visible"
                  f"{', server in float32' if args.float32 else ''})")
        finally:
            if client is not None:
                client.close()
            shutil.rmtree(downloads, ignore_errors=True)


if __name__ == "__main__":
    main()
