"""The facegan app as a subprocess for the app benchmarks (latency, load, memory): started in its
own process group, waited for until it serves its page, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), without importing numpy."""
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def tail(log: Path, n: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def wait_for_page(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    """Poll ``url`` every 50 ms until it answers 200 with 'facegan' in the page."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode} before serving a page:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200 and "facegan" in r.read().decode("utf-8", "replace"):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"no page with 'facegan' at {url} within {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the app's process group (only the one started here), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running_app(host: str = "127.0.0.1", port: int = 0, args: tuple[str, ...] = (), timeout: float = 300,
                env: dict | None = None):
    """``python apps/main.py`` on a free port -> (url, process, seconds to the first page)."""
    port = port or free_port(host)
    url = f"http://{host}:{port}/"
    log = Path(tempfile.mkstemp(prefix="facegan-app-", suffix=".log")[1])
    cmd = [sys.executable, str(ROOT / "apps" / "main.py"), "--port", str(port), "--host", host, *args]
    print(f"starting: {' '.join(cmd)} (log {log})")
    with open(log, "wb") as log_f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, **(env or {})})
    try:
        wait_for_page(url, proc, timeout, log)
        yield url, proc, time.perf_counter() - t0
    finally:
        stop(proc)
        print(f"app stopped (exit code {proc.returncode})")
