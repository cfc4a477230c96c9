"""The app's memory under large pictures: the server's RSS stays near its idle size.

The issue: one 36-megapixel picture (105 KB on disk) took 20 s and raised the server's memory
from 0.7 GB to 4.1 GB, where it stayed. facegan.images.open_picture now reads the pixel count
from the header before decoding (at most 16 MP for PNG and the like), decodes JPEGs up to
100 MP reduced (PIL's draft: 1/2 .. 1/8 of the pixels are never made) and shrinks what is left
to at most 2048 px a side.

This script makes its own test pictures in a temporary folder (every file under the app's
10 MB upload limit):

* ``36 MP PNG``: 7200 x 5000, flat colours and a few shapes, ~130 KB: refused from its header;
* ``36 MP JPEG``: the same picture as a JPEG: decoded reduced, answered;
* ``bomb PNG``: 20000 x 20000 RGB (1.2 GB of pixels) in ~1.2 MB: refused from its header;
* ``15 MP PNG``: 4800 x 3125, under the cap: decoded, shrunk to 2048 px, answered.

It starts the app, calls ``/ugatit_convert`` and ``/stargan_grid`` once with the example photo
(so the models are loaded) and takes the server's RSS then as its idle size; then sends
``--requests`` (default 20) requests of each picture kind, alternating ``/ugatit_convert`` and
``/stargan_grid``, each as a browser does it (upload, call, read the event stream, download the
result pictures), one at a time. It records per request the round trip, whether it was answered
or refused (and the message) and the server's RSS after it (a thread samples the RSS every
20 ms for the peak), prints a table per kind and a one-line summary, and exits non-zero when the
RSS at the end is more than ``--limit-mb`` (default 300) above the idle size, or when a picture
was answered / refused other than expected.

Run (from the repository root)::

    python benchmarks/app_memory.py
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import struct
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import ROOT, cpu_s, rss_mb, running_app

PHOTO = ROOT / "assets" / "examples" / "astronaut.jpg"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # apps/main.py MAX_UPLOAD
ENDPOINTS = (
    ("ugatit_convert", lambda picture: ["default", picture, "a2b", "auto", 0]),
    ("stargan_grid", lambda picture: ["default", picture, "hair", "auto", 0]),
)


# ----------------------------------------------------------------------------- the pictures


def scene(w: int, h: int):
    """A landscape of flat colours (sky, ground, sun, mountain, house): compresses ~1000:1 as PNG."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (w, h), (96, 150, 210))
    d = ImageDraw.Draw(im)
    sx, sy = w / 7200, h / 5000
    d.rectangle((0, 3400 * sy, w, h), fill=(70, 140, 60))
    d.ellipse((5200 * sx, 400 * sy, 6400 * sx, 1600 * sy), fill=(250, 220, 90))
    d.polygon([(800 * sx, 3400 * sy), (2200 * sx, 1200 * sy), (3600 * sx, 3400 * sy)], fill=(120, 110, 100))
    d.rectangle((4200 * sx, 2600 * sy, 5400 * sx, 3800 * sy), fill=(180, 60, 50))
    return im


def png_bomb(path: Path, w: int = 20000, h: int = 20000) -> None:
    """A valid w x h RGB PNG of black, written chunk by chunk (its pixels never exist here)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    comp = zlib.compressobj(9)
    rows = (b"\x00" + bytes(w * 3)) * 100  # filter byte 0 + one row, 100 rows at a time
    idat = bytearray()
    for start in range(0, h, 100):
        idat += comp.compress(rows if start + 100 <= h else rows[: (h - start) * (3 * w + 1)])
    idat += comp.flush()
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", bytes(idat)))
        f.write(chunk(b"IEND", b""))


@dataclass
class Kind:
    name: str
    path: Path
    mime: str
    expect: str  # "answered" or "refused"


def make_pictures(folder: Path) -> list[Kind]:
    big = scene(7200, 5000)
    kinds = [Kind("bomb PNG 20000x20000", folder / "bomb-20000x20000.png", "image/png", "refused"),
             Kind("36 MP PNG 7200x5000", folder / "big-7200x5000.png", "image/png", "refused"),
             Kind("36 MP JPEG 7200x5000", folder / "big-7200x5000.jpg", "image/jpeg", "answered"),
             Kind("15 MP PNG 4800x3125", folder / "under-cap-4800x3125.png", "image/png", "answered")]
    png_bomb(kinds[0].path)
    big.save(kinds[1].path, "PNG", compress_level=9)
    big.save(kinds[2].path, "JPEG", quality=85)
    del big
    scene(4800, 3125).save(kinds[3].path, "PNG", compress_level=9)
    for k in kinds:
        size = k.path.stat().st_size
        if size >= MAX_UPLOAD_BYTES:
            raise SystemExit(f"{k.path.name} is {size / 1e6:.1f} MB: over the app's upload limit")
        print(f"picture: {k.name:22s} {size / 1e3:8.0f} KB  {k.path.name}")
    return kinds


# ----------------------------------------------------------------------------- the requests


@dataclass
class Result:
    kind: str
    endpoint: str
    seconds: float
    answered: bool
    message: str
    rss_after: float
    server_cpu: float


@dataclass
class Sampler:
    """The server's RSS every ``interval`` s in a thread: its peak since the last reset."""

    pid: int
    interval: float = 0.02
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def reset(self) -> None:
        self.peak = rss_mb(self.pid)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def call(http, url: str, name: str, path: Path, mime: str) -> tuple[bool, str]:
    """Upload ``path``, call ``/name`` with it, read the event stream, download the result's files:
    (answered, message). A refusal is an error event (its message) or a refused upload."""
    api = url.rstrip("/") + "/gradio_api"
    with open(path, "rb") as f:
        r = http.post(f"{api}/upload", files={"files": (path.name, f, mime)})
    if r.status_code != 200:
        return False, f"upload refused: HTTP {r.status_code} {r.text[:200]}"
    picture = {"path": r.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}
    args = dict(ENDPOINTS)[name](picture)
    r = http.post(f"{api}/call/{name}", json={"data": args})
    r.raise_for_status()
    stream = http.get(f"{api}/call/{name}/{r.json()['event_id']}").text
    kind, _, data = stream.partition("data: ")
    data = data.split("\n", 1)[0].strip()
    if kind.strip().endswith("complete"):
        out = json.loads(data)
        for u in re.findall(r'"url": "([^"]+)"', json.dumps(out)):
            http.get(u if u.startswith("http") else url.rstrip("/") + u).raise_for_status()
        return True, ""
    try:
        msg = json.loads(data)
    except ValueError:
        msg = data or stream
    if isinstance(msg, dict):
        msg = msg.get("error") or msg.get("message") or json.dumps(msg)
    return False, str(msg) if msg is not None else f"error without a message: {stream[:200]}"


def timed_call(http, url: str, pid: int, kind: str, name: str, path: Path, mime: str) -> Result:
    cpu0, t0 = cpu_s(pid), time.perf_counter()
    answered, message = call(http, url, name, path, mime)
    seconds = time.perf_counter() - t0
    return Result(kind, name, seconds, answered, message, rss_mb(pid), cpu_s(pid) - cpu0)


# ----------------------------------------------------------------------------- the report


def main(argv: list[str] | None = None) -> None:
    import httpx

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=20, help="requests of each picture kind (default 20)")
    p.add_argument("--limit-mb", type=float, default=300, help="most MB the final RSS may exceed the idle RSS")
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="facegan-memory-") as tmp:
        t0 = time.perf_counter()
        kinds = make_pictures(Path(tmp))
        print(f"pictures made in {time.perf_counter() - t0:.1f} s")
        results: list[Result] = []
        per_kind: dict[str, tuple[float, float]] = {}  # kind -> (peak, final)
        with running_app(args.host) as (url, proc, start_s), httpx.Client(timeout=600) as http:
            print(f"app serving after {start_s:.1f} s, RSS {rss_mb(proc.pid):.0f} MB")
            for name, _ in ENDPOINTS:  # warm-up: the models are loaded
                r = timed_call(http, url, proc.pid, "warm-up", name, PHOTO, "image/jpeg")
                if not r.answered:
                    raise SystemExit(f"warm-up /{name} with {PHOTO.name} refused: {r.message}")
                print(f"warm-up /{name}: {r.seconds:.2f} s, RSS {r.rss_after:.0f} MB")
            time.sleep(1.0)
            idle = rss_mb(proc.pid)
            print(f"idle RSS {idle:.0f} MB")
            sampler = Sampler(proc.pid)
            overall_peak = idle
            try:
                for kind in kinds:
                    sampler.reset()
                    for i in range(args.requests):
                        name = ENDPOINTS[i % len(ENDPOINTS)][0]
                        r = timed_call(http, url, proc.pid, kind.name, name, kind.path, kind.mime)
                        results.append(r)
                        if i == 0 or (r.answered != (kind.expect == "answered")):
                            what = "answered" if r.answered else f"refused: {r.message[:160]}"
                            print(f"  {kind.name} /{name}: {r.seconds:.2f} s, {what}, RSS {r.rss_after:.0f} MB")
                    per_kind[kind.name] = (max(sampler.peak, results[-1].rss_after), results[-1].rss_after)
                    overall_peak = max(overall_peak, per_kind[kind.name][0])
                    print(f"  {kind.name}: {args.requests} requests done, RSS {results[-1].rss_after:.0f} MB "
                          f"(peak {per_kind[kind.name][0]:.0f} MB)")
            finally:
                sampler.close()
            final = rss_mb(proc.pid)

    print()
    header = (f"{'kind':22s} {'answered':>8s} {'refused':>7s} {'median s':>9s} {'CPU s':>6s} "
              f"{'RSS idle':>9s} {'peak':>6s} {'final':>6s} {'final-idle':>10s}  message")
    print(header)
    print("-" * len(header))
    unexpected = []
    for kind in kinds:
        rs = [r for r in results if r.kind == kind.name]
        answered = sum(r.answered for r in rs)
        refused = len(rs) - answered
        peak, fin = per_kind[kind.name]
        messages = sorted({r.message for r in rs if not r.answered})
        print(f"{kind.name:22s} {answered:8d} {refused:7d} {statistics.median(r.seconds for r in rs):9.2f} "
              f"{statistics.median(r.server_cpu for r in rs):6.2f} {idle:6.0f} MB {peak:6.0f} {fin:6.0f} "
              f"{fin - idle:+7.0f} MB  {'; '.join(m[:120] for m in messages)}")
        if (answered if kind.expect == "refused" else refused):
            unexpected.append(f"{kind.name}: expected {kind.expect}, got {answered} answered / {refused} refused")
    print(f"{'all':22s} {sum(r.answered for r in results):8d} {sum(not r.answered for r in results):7d} "
          f"{statistics.median(r.seconds for r in results):9.2f} {statistics.median(r.server_cpu for r in results):6.2f} "
          f"{idle:6.0f} MB {overall_peak:6.0f} {final:6.0f} {final - idle:+7.0f} MB")
    print("(median s: round trip of upload + call + result downloads; CPU s: the server's CPU seconds per request, "
          "median)")

    def med(kind: Kind) -> float:
        return statistics.median(r.seconds for r in results if r.kind == kind.name)

    def outcome(kind: Kind) -> str:
        rs = [r for r in results if r.kind == kind.name]
        word = "answered" if all(r.answered for r in rs) else "refused" if not any(r.answered for r in rs) \
            else f"{sum(r.answered for r in rs)}/{len(rs)} answered"
        t = med(kind)
        return f"{word} in {t * 1e3:.0f} ms" if t < 1 else f"{word} in {t:.1f} s"

    bomb, png36, jpeg36, png15 = kinds
    print()
    print(f"app memory: idle {idle:.0f} MB, after {len(results)} large-picture requests {final:.0f} MB "
          f"({final - idle:+.0f} MB; peak {overall_peak:.0f} MB), bomb {outcome(bomb)}, 36 MP PNG {outcome(png36)}, "
          f"36 MP JPEG {outcome(jpeg36)}, 15 MP PNG {outcome(png15)}")
    failed = False
    if final - idle > args.limit_mb:
        print(f"FAILED: the server's RSS grew {final - idle:.0f} MB over its idle size (limit {args.limit_mb:.0f} MB)")
        failed = True
    for u in unexpected:
        print(f"FAILED: {u}")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
