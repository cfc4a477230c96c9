"""Training jobs: ``facegan train`` in a separate process that the app starts, watches and stops.

Everything a job knows is in its output folder (``job.json``, ``status.json``,
``train.log``, samples, checkpoints), so the app re-attaches after a page reload or
a restart by reading files. One job runs at a time per machine: ``<runs>/.active``
names it while its process lives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from facegan import data as data_lib
from facegan import distributed, models
from facegan.train import latest_checkpoint, read_json, read_jsonl, write_json

ROOT = Path(__file__).resolve().parent.parent
_children: dict[int, subprocess.Popen] = {}  # processes this app started, reaped on poll


class JobError(ValueError):
    """A job that cannot be started or stopped; the message says why."""


def runs_dir() -> Path:
    """Where jobs write by default: $FACEGAN_RUNS, else ./runs beside the package."""
    return Path(os.environ.get("FACEGAN_RUNS", ROOT / "runs")).resolve()


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid in _children:  # our own child: poll() reaps it, so a finished job is not a zombie
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return True


def active(root: Path | None = None) -> Path | None:
    """The output folder of the job running now, or None."""
    lock = read_json((root or runs_dir()) / ".active")
    if lock and alive(lock.get("pid")) and status(lock["out"])["state"] in ("starting", "running"):
        return Path(lock["out"])
    return None  # none, or one that has said its last word and is only exiting


def start(technique: str, data: str | os.PathLike | None, out: str | os.PathLike, steps: int, batch_size: int,
          resume: bool = False, extra_args: list[str] | None = None, root: Path | None = None,
          gpus: int = 1) -> Path:
    """Start ``facegan train`` in the background; returns its output folder. ``gpus`` > 1: under
    torchrun, one process per GPU (DDP; ``batch_size`` is the global batch).

    Refused with a JobError (before any process starts) when a job is already running,
    the technique is unknown, the data folder has no images, there is nothing to resume, or
    the GPUs asked for are not there.
    """
    root = root or runs_dir()
    models.get(technique)
    out = Path(out).expanduser().resolve()
    if (running := active(root)) is not None:
        raise JobError(f"a training job is already running in {running}: stop it first (one job at a time)")
    if steps < 1 or batch_size < 1:
        raise JobError("steps and batch size must be positive")
    try:
        launcher = distributed.launcher(gpus) if gpus > 1 else [sys.executable]
    except ValueError as e:
        raise JobError(f"{gpus} GPUs asked for: {e}") from None
    if batch_size % gpus:
        raise JobError(f"the batch size {batch_size} does not split over {gpus} GPUs: use a multiple of {gpus}")
    if resume:
        if read_json(out / "run.json") is None:
            raise JobError(f"nothing to resume in {out}: it has no run.json")
    else:
        if not data:
            raise JobError("choose a data folder")
        try:
            check = models.spec(technique).check_data
            n_images = check(data)
        except data_lib.DataError as e:
            raise JobError(str(e)) from e
        if batch_size > n_images:
            # n_images counts readable pictures (their headers opened; a big set sampled), not file names
            raise JobError(f"batch size {batch_size} is larger than the data set ({n_images} readable "
                           f"image{'s' if n_images != 1 else ''})")
        if (out / "run.json").exists():
            raise JobError(f"{out} already holds a run: tick Resume to continue it, or choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    cmd = [*launcher, "-m", "facegan", "train", technique, "--out", str(out),
           "--steps", str(steps), "--quiet", *(extra_args or [])]
    if resume:
        cmd.append("--resume")
    else:
        cmd += ["--data", resolve_data(technique, data), "--batch-size", str(batch_size)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(out / "train.log", "a") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                                env=env, start_new_session=True)  # own group: Ctrl-C in the app's terminal spares it
    _children[proc.pid] = proc
    job = {"pid": proc.pid, "out": str(out), "technique": technique, "command": cmd, "started": time.time(),
           "gpus": gpus}
    write_json(out / "job.json", job)
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / ".active", job)
    return out


def resolve_data(technique: str, data: str | os.PathLike) -> str:
    """The data argument as absolute paths (the job runs in another folder): one folder, or, for
    a technique that takes several joined by its ``data_separator`` (StarGAN: os.pathsep, one
    per data set), each of them."""
    sep = models.spec(technique).data_separator
    if not sep:
        return str(Path(data).resolve())
    return sep.join(str(Path(part).resolve()) for part in str(data).split(sep) if part)


def status(out: str | os.PathLike) -> dict:
    """The job's state: status.json (step, losses, images/s, ETA, sample, checkpoint) plus
    ``state`` corrected by the process table: a job whose process is gone without saying
    so is 'died', with the end of its log as ``error``."""
    out = Path(out)
    job = read_json(out / "job.json", {})
    st = read_json(out / "status.json", {}) or {}
    pid = run_pid(job, st)
    running = alive(pid)
    state = st.get("state")
    if running and (state is None or st.get("job_pid", st.get("pid")) != pid):  # no word yet from this process
        state = "starting"
    elif not running and state in (None, "running"):
        if job.get("stop_requested"):  # stopped before it could say so (e.g. while still starting up)
            state = "stopped"
        else:
            state = "died" if pid else (state or "none")
            if pid:
                st["error"] = log_tail(out) or "the training process ended without a word"
    st["state"] = state
    st["out"] = str(out)
    st["running"] = running
    last = latest_checkpoint(out)
    st["checkpoint"] = str(last) if last else None
    return st


def run_pid(job: dict, st: dict) -> int | None:
    """The training process of a run: from job.json (started by the app) or, for a run
    started with `facegan train` in a terminal, from its status.json; None when that
    pid now belongs to another program."""
    pid = job.get("pid") or st.get("pid")
    if not pid or pid in _children:
        return pid
    try:
        if b"facegan" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None
    except OSError:
        pass  # gone (alive() says so) or no /proc (not Linux): trust the pid
    return pid


def log_tail(out: Path, lines: int = 5) -> str:
    try:
        text = (Path(out) / "train.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def stop(out: str | os.PathLike, timeout: float = 60.0) -> dict:
    """Ask the job to stop (SIGTERM): it finishes the step, writes a checkpoint, exits."""
    out = Path(out)
    job = read_json(out / "job.json", {})
    st = read_json(out / "status.json", {}) or {}
    pid = run_pid(job, st)
    if not alive(pid):
        raise JobError(f"no training job is running in {out}")
    if st.get("job_pid") == pid and st.get("pid") != pid and alive(st.get("pid")):
        pid = st["pid"]  # torchrun's job: ask rank 0, which tells the other ranks (see distributed.job_pid)
    # Recorded first: a job stopped while still starting (before its SIGTERM handler is in
    # place) ends without writing its state, and is 'stopped', not 'died'.
    write_json(out / "job.json", {**job, "stop_requested": time.time()})
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    return status(out)


def metrics(out: str | os.PathLike) -> list[dict]:
    """The run's metrics.jsonl as a list of records (step, losses, images_per_s); a line being
    written is skipped."""
    return read_jsonl(Path(out) / "metrics.jsonl")


def finished_checkpoints(root: Path | None = None, technique: str | None = None) -> list[Path]:
    """The latest checkpoint of every run under ``root`` (newest first), for checkpoint choosers."""
    root = root or runs_dir()
    if not root.is_dir():
        return []
    found = []
    for run in root.iterdir():
        info = read_json(run / "run.json") if run.is_dir() else None
        if not info or (technique and info.get("technique") != technique):
            continue
        if (last := latest_checkpoint(run)) is not None:
            found.append(last)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
