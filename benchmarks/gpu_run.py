"""The prepared GPU run (issue #13): train every bundled model on a lent GPU, export it, and time facegan
against the reference implementations, in one command of under 9 minutes.

    python benchmarks/gpu_run.py prepare            # here, before the GPU call: the data subset and the carry list
    python benchmarks/gpu_run.py run                # on the GPU machine (or benchmarks/gpu_run.sh): writes $OUT
    python benchmarks/gpu_run.py run --cpu --tiny   # the same code end to end on the CPU, tiny, in a minute (CI)
    python benchmarks/gpu_run.py install DIR        # here, after: the returned checkpoints into checkpoints/

``prepare`` copies a seeded random subset of ``../shared/data`` into ``gpu-data/`` (ignored by git): anime
faces as they are (64 px JPEGs of ~3.3 kB) to fill what the 64 MiB working tree leaves, 500 + 500
selfie2anime training pictures (and 30 + 30 test ones for the sample grids), 150 FER2013 photos per
expression; it measures the tree that travels (tracked + untracked files + the subset) and prints the
``carry`` list and the device command.

``run`` works against one clock (``--budget``, default 520 s) in three phases:

1. **Speed**, alone on the GPU, at the targets' sizes and batches: facegan's Trainer as ``facegan train``
   runs it (bf16 autocast and channels_last on CUDA, the data decoded once on the device; EMA included,
   sample grids and checkpoints left out, as ``timing.timed_training`` does) beside each reference
   loop, float32 with its own data loading as its code has it (``dcgan_speed.Reference``: pytorch/examples
   DCGAN; ``stargan_speed.Reference``: yunjey StarGAN; ``ugatit_speed.Reference``: UGATIT-pytorch;
   ``acgan_train_speed.GitlimlabLoop``). Each is a few warm-up steps, a probe, then about ``--window``
   seconds of steps (a whole number of StarGAN's n_critic and StyleGAN's R1 periods). StyleGAN2 at
   preset "64" is held against StyleGAN2-ADA's published 4.45 s/kimg (no reference run). The bundled
   sizes of StarGAN and U-GAT-IT are timed too: they size those runs (below).
2. **Training**: ``facegan train`` of each bundled model (``checkpoints/<folder>/config.json``: the same
   config, batch and size; on the subset), as subprocesses, **all six at once** on the one GPU: each of
   these models is far too small to fill it alone (its steps are bound by kernel launches), so they
   share it. Each is stopped with SIGTERM at its cap (the Trainer stops after the step with a sample
   grid and a checkpoint; SIGKILL ``GRACE_S`` later), so the whole stays inside the budget.
3. **Export** as the bundled ones were (``facegan export`` with their precision, the same folder names),
   the pictures their cards show, StyleGAN's labelled directions, a card section with the run's figures;
   then ``$OUT`` (default ``<work>/out``): ``results.json`` (every figure), ``table.md``, ``log.txt``,
   ``runs.tar`` (each run's status, metrics, log, last sample grid) and ``checkpoints-N.tar`` (the exported
   folders, packed into files of at most 16 MiB): at most 8 files, checked before the end.

The budget split, by what gains most: every model trains for the whole training window except DCGAN
and AC-GAN, capped at half of it. Their bundled models saw 324k and 587k images on the CPU, which
the GPU passes within that half at a few thousand images/s; the freed GPU goes to the four that need
it: StyleGAN, which gains most from images (its bundled model saw 90k where StyleGAN2 trains on
millions), the two StarGANs (10,000 CPU steps where the official code trains 200,000) and U-GAT-IT
(batch 1, the slowest per image; 4,396 CPU iterations). StarGAN and U-GAT-IT decay the lr linearly
over the second half of ``--steps``, so theirs is sized from the speed phase, ``CONCURRENCY`` times the
speed of their bundled size times their cap, so that the schedule ends before the cap; the others run
until the cap. Nothing is written to ``checkpoints/`` on the GPU machine: ``install`` does that here,
by default for each model whose run saw more images than the bundled one.

``--cpu --tiny`` runs all of it on the CPU with tiny models (the bundled configs with tiny widths), a
few steps each, one training at a time, on tiny data copied from ``../shared/data`` (or drawn when it
is absent), exporting into the work folder only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
for p in (ROOT, BENCH):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import card_pictures  # noqa: E402

MiB = 2**20
TREE_LIMIT = 64 * MiB  # what travels to the device machine: tracked + untracked files + carried paths
OUT_FILES, OUT_FILE_BYTES, OUT_TOTAL = 8, 16 * MiB, 64 * MiB  # what comes back from $OUT
OUT_NAME = re.compile(r"[A-Za-z0-9._-]+")
CHECKPOINTS_BUDGET = 40 * 10**6  # checkpoints/ in all (tests/test_bundled.py)
DATA_DIR = "gpu-data"  # prepare's subset, ignored by git, carried
CONCURRENCY = 0.5  # a run's speed beside the five others, as a share of its speed alone (a guess; results.json records both)
STARTUP_S = 20  # a training subprocess's imports, decoding and CUDA warm-up before its first steps
GRACE_S = 30  # from SIGTERM to SIGKILL
TINY_WINDOW_S = 8  # --tiny: the training window; the runs without an lr decay stop at their cap, as on the GPU
OURS = ("results.json", "table.md", "log.txt", "runs.tar")  # and checkpoints-N.tar


@dataclass(frozen=True)
class Bundle:
    """A bundled model: trained from its ``checkpoints/<folder>/config.json``, exported as it was."""

    folder: str
    technique: str
    data: tuple[str, ...]  # data sets under the data root, one per data set of the labels
    export: tuple[str, ...]  # its `facegan export` flags
    batch: int
    share: float  # of the training window
    tiny: dict  # model-config overrides in the tiny mode
    tiny_batch: int
    init: bool = False  # continue the bundled model (--init, with its D), as the CPU campaign does; not --tiny


TINY_STARGAN = {"g_conv_dim": 4, "d_conv_dim": 4, "g_repeat_num": 1}
BUNDLES = (
    # the campaign's model and recipe (README "Training details (StyleGAN)"): continued, exported with D
    Bundle("stylegan-anime-64", "stylegan", ("anime-faces-64",), ("--fp16",), 32, 1.0,
           {"image_size": 16, "z_dim": 32, "w_dim": 32, "channel_base": 256, "channel_max": 32}, 4, init=True),
    Bundle("stargan-anime-64", "stargan", ("anime-faces-64",), ("--int8",), 16, 1.0, TINY_STARGAN, 4),
    Bundle("stargan-anime-fer-64", "stargan", ("anime-faces-64", "fer2013-48"), ("--int8",), 16, 1.0, TINY_STARGAN, 4),
    Bundle("ugatit-selfie2anime-128", "ugatit", ("selfie2anime/128",), ("--fp16", "--generators-only"), 1, 1.0,
           {"ch": 2, "n_res": 1, "image_size": 96}, 1),
    Bundle("dcgan-anime-64", "dcgan", ("anime-faces-64",), ("--fp16",), 64, 0.5, {"ngf": 4, "ndf": 4}, 8),
    Bundle("acgan-hair-64", "acgan", ("anime-faces-64",), ("--int8",), 64, 0.5, {"ngf": 4, "ndf": 4}, 8),
)

# The speed rows: facegan's model config and batch at the targets' settings (GPU) or tiny (CPU).
SPEED = {
    "gpu": {"dcgan": ({"nz": 100, "ngf": 64, "ndf": 64}, 128), "stargan": ({"g_conv_dim": 64, "d_conv_dim": 64}, 16),
            "ugatit": ({"image_size": 128, "ch": 64, "n_res": 4, "light": True}, 1),
            "stylegan": ({"preset": "64"}, 32), "acgan": ({}, 64)},
    "tiny": {"dcgan": ({"nz": 8, "ngf": 8, "ndf": 8}, 8), "stargan": ({"g_conv_dim": 8, "d_conv_dim": 8,
                                                                        "g_repeat_num": 1}, 4),
             "ugatit": ({"image_size": 96, "ch": 4, "n_res": 1, "light": True}, 1),
             "stylegan": (BUNDLES[0].tiny, 4), "acgan": ({}, 4)},
}
WARMUP = {"dcgan": 10, "stargan": 10, "ugatit": 5, "stylegan": 32, "acgan": 5}  # untimed steps (GPU)
PERIOD = {"stargan": 5, "stylegan": 16}  # a timed window holds whole n_critic / lazy-R1 periods
ANCHOR_S_PER_KIMG = 4.45  # StyleGAN2-ADA at 64 px, batch 32, on an H100 (published; not run here)


# ----------------------------------------------------------------------------- small helpers


class Log:
    """Lines to stdout and to ``$OUT/log.txt`` as they come (a run cut short still returns its log)."""

    def __init__(self, path: Path | None = None):
        self.t0 = time.monotonic()
        self.file = open(path, "a", buffering=1) if path else None  # noqa: SIM115 - open for the whole run

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def __call__(self, text: str = "") -> None:
        line = f"[{self.elapsed():6.1f} s] {text}" if text else ""
        print(line, flush=True)
        if self.file:
            self.file.write(line + "\n")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def git_files(*args: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", *args], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def tree_bytes() -> tuple[int, int]:
    """Bytes of the tracked files and of the untracked files git does not ignore: they all travel."""
    def total(files: list[Path]) -> int:
        return sum(p.lstat().st_size for p in files if p.is_file() or p.is_symlink())
    return total(git_files()), total(git_files("--others", "--exclude-standard"))


def bundled_images(folder: Path) -> int | None:
    """Images a checkpoint saw: config.json's ``summary`` (what runs and cards now write), else its
    card's ``| steps | N (iterations) at batch B`` row."""
    try:
        seen = json.loads((folder / "config.json").read_text()).get("summary", {}).get("images_seen")
    except (OSError, ValueError, AttributeError):
        seen = None
    if isinstance(seen, int) and not isinstance(seen, bool):
        return seen
    card = folder / "README.md"
    text = card.read_text() if card.is_file() else ""
    m = re.search(r"^\| steps \| ([\d,]+) (?:iterations )?at batch (\d+)", text, re.MULTILINE)
    return int(m[1].replace(",", "")) * int(m[2]) if m else None


def manifest_name(folder: str, manifest: dict) -> str:
    """The manifest entry of a bundled folder (a technique's name for a tab's default)."""
    return next((n for n, e in manifest.items() if e.get("bundled") == folder), folder)


# ----------------------------------------------------------------------------- data: prepare, tiny


def copy_subset(src: Path, dest: Path, anime: int | None, selfie: int, selfie_test: int, fer: int, seed: int,
                budget: int | None = None) -> dict:
    """A seeded random subset of the data root ``src`` in the same layout under ``dest``: ``selfie``
    training and ``selfie_test`` test pictures per selfie2anime domain, ``fer`` FER2013 training photos
    per expression, then ``anime`` tagged anime faces with their tags.csv rows (None: as many as fit
    in ``budget`` bytes in all). Returns the counts (also written to ``dest/manifest.json``)."""
    from facegan import data as data_lib

    rng = random.Random(seed)
    picked: list[tuple[Path, str]] = []  # (file, its path under dest)
    counts: dict[str, int] = {}
    for domain, k in (("trainA", selfie), ("trainB", selfie), ("testA", selfie_test), ("testB", selfie_test)):
        paths = data_lib.list_images(src / "selfie2anime" / "128" / domain)
        chosen = sorted(rng.sample(paths, min(k, len(paths)))) if domain.startswith("train") else paths[:k]
        picked += [(path, f"selfie2anime/128/{domain}/{path.name}") for path in chosen]
        counts[f"selfie2anime/128/{domain}"] = len(chosen)
    for cls in sorted(d for d in (src / "fer2013-48" / "train").iterdir() if d.is_dir()):
        paths = data_lib.list_images(cls)
        chosen = sorted(rng.sample(paths, min(fer, len(paths))))
        picked += [(path, f"fer2013-48/train/{cls.name}/{path.name}") for path in chosen]
        counts[f"fer2013-48/train/{cls.name}"] = len(chosen)
    used = sum(path.stat().st_size for path, _ in picked)
    rows = data_lib.read_label_csv(src / "anime-faces-64" / "tags.csv")
    faces = [(n, f) for n in rows if (f := data_lib.find_labelled_file(src / "anime-faces-64", n))]
    rng.shuffle(faces)
    keep = set()
    for name, path in faces:
        if (anime is not None and len(keep) >= anime) or (anime is None and used + path.stat().st_size > (budget or 0)):
            break
        keep.add(name)
        picked.append((path, f"anime-faces-64/images/{path.name}"))
        used += path.stat().st_size
    counts["anime-faces-64"] = len(keep)
    for path, rel in picked:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / rel)
    (dest / "anime-faces-64" / "tags.csv").write_text("".join(f"{n},{t}\n" for n, t in rows.items() if n in keep))
    info = {"source": str(src), "seed": seed, "counts": counts, "of": {"anime-faces-64": len(faces)},
            "bytes": folder_bytes(dest)}
    (dest / "manifest.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def draw_data(dest: Path, seed: int = 0) -> dict:
    """Tiny drawn data in the subset's layout, for a machine without ../shared/data: 48 tagged
    "faces" (every hair colour), 4 FER "photos" per expression, 8 + 8 (+ 2 + 2) selfie2anime pictures."""
    import numpy as np
    from PIL import Image

    from facegan.labels import ANIME_EYES, ANIME_HAIR

    rng = np.random.default_rng(seed)

    def picture(size: int, path: Path, grey: bool = False) -> None:
        yy, xx = np.mgrid[0:size, 0:size]
        arr = (rng.integers(0, 256, 3) + xx[..., None] * rng.integers(1, 4, 3) + yy[..., None] * rng.integers(0, 3, 3)
               + rng.integers(0, 32, (size, size, 3))) % 256
        im = Image.fromarray(arr.astype(np.uint8))
        path.parent.mkdir(parents=True, exist_ok=True)
        (im.convert("L") if grey else im).save(path, quality=90)

    tags = []
    for i in range(48):
        picture(64, dest / "anime-faces-64" / "images" / f"{i}.jpg")
        tags.append(f"{i},{ANIME_HAIR[i % len(ANIME_HAIR)]} hair {ANIME_EYES[i % len(ANIME_EYES)]} eyes\n")
    (dest / "anime-faces-64" / "tags.csv").write_text("".join(tags))
    for cls in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"):
        for i in range(4):
            picture(48, dest / "fer2013-48" / "train" / cls / f"{i}.jpg", grey=True)
    for domain, k in (("trainA", 8), ("trainB", 8), ("testA", 2), ("testB", 2)):
        for i in range(k):
            picture(128, dest / "selfie2anime" / "128" / domain / f"{i}.jpg")
    info = {"source": "drawn", "seed": seed, "counts": {"anime-faces-64": 48}, "bytes": folder_bytes(dest)}
    (dest / "manifest.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def cmd_prepare(args) -> int:
    from facegan import data as data_lib

    src = Path(args.data) if args.data else data_lib.data_root()
    if not (src / "anime-faces-64" / "tags.csv").is_file():
        raise SystemExit(f"prepare: no data set at {src} (give --data, or set FACEGAN_DATA)")
    dest = Path(args.dest).resolve()
    if dest.exists():
        if any(dest.iterdir()) and not (dest / "manifest.json").is_file():
            raise SystemExit(f"prepare: {dest} holds other files; give another --dest")
        shutil.rmtree(dest)
    tracked, untracked = tree_bytes()
    inside = dest.is_relative_to(ROOT)
    if inside and subprocess.run(["git", "check-ignore", "-q", f"{dest}/"], cwd=ROOT, check=False).returncode != 0:
        raise SystemExit(f"prepare: {dest} is not ignored by git: add it to .gitignore (it travels as `carry`)")
    room = TREE_LIMIT - args.margin_mb * MiB - tracked - untracked
    budget = min(int(args.budget_mb * 10**6), room)
    t0 = time.perf_counter()
    info = copy_subset(src, dest, args.anime, args.selfie, args.selfie_test, args.fer_per_class, args.seed,
                       budget=budget - 256 * 1024)  # tags.csv and manifest.json
    total = tracked + untracked + info["bytes"]
    for name, n in info["counts"].items():
        print(f"  {name}: {n}")
    print(f"{dest}: {info['bytes'] / 1e6:.1f} MB ({info['counts']['anime-faces-64']:,} of the "
          f"{info['of']['anime-faces-64']:,} tagged anime faces) in {time.perf_counter() - t0:.1f} s")
    print(f"travels: tracked {tracked / 1e6:.1f} MB + untracked {untracked / 1e6:.1f} MB + carried "
          f"{info['bytes'] / 1e6:.1f} MB = {total / MiB:.1f} MiB of {TREE_LIMIT // MiB} MiB")
    if total > TREE_LIMIT:
        why = (f" ({untracked / 1e6:.1f} MB of it untracked files git does not ignore: they travel too)"
               if untracked > TREE_LIMIT / 4 else ": give --anime fewer faces or --margin-mb more")
        message = f"prepare: {total / MiB:.1f} MiB would travel, over {TREE_LIMIT // MiB} MiB{why}"
        if inside:
            raise SystemExit(message)
        print(message + "; the subset here does not travel, so it is only a warning")
    carry = [str(dest.relative_to(ROOT))] if inside else []
    print(f"carry: {json.dumps(carry)}" + ("" if inside else f"  ({dest} is outside the repository: it does not travel)"))
    print("device command (timeout_s 600): PYTHONUNBUFFERED=1 benchmarks/gpu_run.sh run")
    return 0


# ----------------------------------------------------------------------------- phase 1: speed


def timed_window(run, device, warmup: int, window_s: float, period: int = 1) -> tuple[int, float]:
    """``run(n)`` does n steps: ``warmup`` untimed ones, a probe of ``period`` to size the window, then
    about ``window_s`` seconds' worth (a multiple of ``period``) timed. Returns (steps, seconds)."""
    from timing import sync

    run(warmup)
    sync(device)
    t0 = time.perf_counter()
    run(period)
    sync(device)
    n = period * max(1, round(window_s / max(time.perf_counter() - t0, 1e-6)))
    t0 = time.perf_counter()
    run(n)
    sync(device)
    return n, time.perf_counter() - t0


def facegan_rate(technique: str, data, model_cfg, batch: int, device, warmup: int, window_s: float,
                 period: int = 1) -> dict:
    """Steps/s of facegan's Trainer (as ``facegan train`` runs it) on in-memory ``data``."""
    from timing import timed_training

    from facegan.train import TrainConfig

    never = 10**9
    cfg = TrainConfig(steps=0, batch_size=batch, seed=0, log_every=never, log_seconds=0, sample_every=never,
                      checkpoint_every=never, device=str(device), n_samples=4)
    with timed_training(technique, data, model_cfg, cfg, 0) as t:
        trainer = t.trainer

        def run(n: int) -> None:
            if n:
                trainer.cfg.steps += n
                trainer.run()

        steps, seconds = timed_window(run, device, warmup, window_s, period)
    return {"steps": steps, "seconds": seconds, "it_per_s": steps / seconds, "images_per_s": steps * batch / seconds}


def loop_rate(step, batch: int, device, warmup: int, window_s: float, period: int = 1) -> dict:
    """The same for a reference loop: ``step()`` is one iteration."""
    def run(n: int) -> None:
        for _ in range(n):
            step()

    steps, seconds = timed_window(run, device, warmup, window_s, period)
    return {"steps": steps, "seconds": seconds, "it_per_s": steps / seconds, "images_per_s": steps * batch / seconds}


def training_config(b: Bundle, tiny: bool) -> dict:
    """The bundled model's config (its Config's fields), with D, and the tiny widths in the tiny mode."""
    from facegan import models

    given = json.loads((ROOT / "checkpoints" / b.folder / "config.json").read_text())
    fields = {f.name for f in dataclasses.fields(models.get(b.technique).Config)}
    cfg = {k: v for k, v in given.items() if k in fields}
    if "discriminators" in cfg:
        cfg["discriminators"] = True  # shipped without (export --generators-only); trained with
    return {**cfg, **(b.tiny if tiny else {})}


def speed_phase(args, data_root: Path, device, log: Log, deadline: float) -> tuple[list[dict], dict]:
    """The side-by-side figures (rows for the table) and each decaying technique's speed at its bundled size."""
    import torch
    from acgan_train_speed import CLASSES, SIZE, FaceganLoop, GitlimlabLoop
    from dcgan_speed import Reference as DcganReference
    from stargan_speed import Reference as StarganReference
    from ugatit_speed import Reference as UgatitReference

    from facegan import data as data_lib
    from facegan import models

    mode = "tiny" if args.tiny else "gpu"
    window = args.window
    warmup = {k: (1 if args.tiny else v) for k, v in WARMUP.items()}
    period = {k: (1 if args.tiny else PERIOD.get(k, 1)) for k in WARMUP}
    anime, selfie = data_root / "anime-faces-64", data_root / "selfie2anime" / "128"
    cache: dict = {}

    def data(technique: str, cfg):
        labels = json.dumps(cfg.labels.to_dict()) if technique == "stargan" else None
        key = (technique if technique in ("stargan", "ugatit") else "images", cfg.image_size, labels)
        if key not in cache:
            path = selfie if technique == "ugatit" else anime
            cache[key] = models.spec(technique).load_data(path, cfg)
        return cache[key]

    def config(technique: str, given: dict):
        return models.spec(technique).Config(**{**models.read_from_data(technique, str(anime), given), **given})

    def facegan(technique: str, given: dict, batch: int) -> dict:
        cfg = config(technique, given)
        torch.manual_seed(0)
        return facegan_rate(technique, data(technique, cfg), cfg, batch, device, warmup[technique], window,
                            period[technique])

    s = dict(SPEED[mode])  # the rows' (config, batch); StarGAN with the bundled model's 12 hair + 10 eye colours
    s["stargan"] = ({**s["stargan"][0], "labels": training_config(BUNDLES[1], args.tiny)["labels"]}, s["stargan"][1])
    workers = {"dcgan": 0, "stargan": 0} if args.tiny else {"dcgan": 2, "stargan": 1}  # their scripts' defaults

    def reference(technique: str):
        given, batch = s[technique]
        if technique == "dcgan":
            return DcganReference(data_lib.list_images(anime), device, batch, given["nz"], given["ngf"], given["ndf"],
                                  workers["dcgan"])
        if technique == "stargan":  # D with 5 stride-2 convs at 64 px, as facegan's
            return StarganReference(anime, device, batch, 64, given["g_conv_dim"], given.get("g_repeat_num", 6), 5,
                                    workers["stargan"])
        return UgatitReference(selfie, device, given["image_size"], given["ch"], given["n_res"], given["light"])

    def acgan(loop) -> dict:  # acgan_train_speed's measurement: one in-memory batch, reused
        batch = s["acgan"][1]
        torch.manual_seed(0)
        real = torch.rand(batch, 3, SIZE, SIZE, device=device) * 2 - 1
        label = torch.randint(len(CLASSES), (batch,), device=device)
        return loop_rate(lambda: loop(real, label), batch, device, warmup["acgan"], window)

    sides = {t: {"facegan": lambda t=t: facegan(t, *s[t]),
                 "reference": lambda t=t: loop_rate(reference(t), s[t][1], device, warmup[t], window, period[t])}
             for t in ("dcgan", "stargan", "ugatit")}
    sides["stylegan"] = {"facegan": lambda: facegan("stylegan", *s["stylegan"])}  # against a published figure
    sides["acgan"] = {"facegan": lambda: acgan(FaceganLoop(device, bf16=device.type == "cuda")),
                      "reference": lambda: acgan(GitlimlabLoop(device, s["acgan"][1], len(CLASSES)))}
    rows, bundled = [], {}
    for technique, fns in sides.items():
        row = {"technique": technique, "config": s[technique][0], "batch": s[technique][1]}
        for side, fn in fns.items():
            if log.elapsed() > deadline:
                row[f"{side}_error"] = "skipped: the speed phase's time was up"
                log(f"speed {technique} {side}: skipped (time)")
                continue
            benchmark = torch.backends.cudnn.benchmark
            try:
                row[side] = fn()
                log(f"speed {technique} {side}: {row[side]['it_per_s']:.2f} it/s, {row[side]['images_per_s']:.0f} "
                    f"images/s ({row[side]['steps']} steps in {row[side]['seconds']:.1f} s)")
            except Exception as e:  # noqa: BLE001 - one row failing must not cost the run
                row[f"{side}_error"] = f"{type(e).__name__}: {e}"
                log(f"speed {technique} {side}: FAILED {row[f'{side}_error']}")
            torch.backends.cudnn.benchmark = benchmark  # a reference turns it on, as its script does
            if device.type == "cuda":
                torch.cuda.empty_cache()
        rows.append(row)

    # the bundled sizes of the techniques whose lr decays over --steps: they size those runs
    for b in BUNDLES:
        cfg = training_config(b, args.tiny)
        if b.technique in bundled or not cfg.get("decay") or log.elapsed() > deadline:
            continue
        try:
            r = facegan(b.technique, cfg, b.tiny_batch if args.tiny else b.batch)
            bundled[b.technique] = r
            log(f"speed {b.technique} at the bundled size: {r['it_per_s']:.2f} it/s")
        except Exception as e:  # noqa: BLE001
            log(f"speed {b.technique} at the bundled size: FAILED {type(e).__name__}: {e}")
    cache.clear()
    return rows, bundled


def speed_table(rows: list[dict], gpu: bool, tiny: bool) -> tuple[list[str], list[dict]]:
    """Markdown lines of the speed table, and the rows' figures (facegan, reference, ratio, target, met);
    "met?" is left open off the targets' setting (the CPU, tiny models)."""
    lines = ["| technique | setting | facegan | reference | ratio | target | met? |", "|---|---|---|---|---|---|---|"]
    out = []
    for r in rows:
        t, f, ref = r["technique"], r.get("facegan"), r.get("reference")
        c = r["config"]
        if t == "stylegan":
            value = 1000 / f["images_per_s"] if f else None
            ref_value, unit = ANCHOR_S_PER_KIMG, "s/kimg"
            ratio = ref_value / value if value else None
            ref_text = f"{ref_value:.2f} s/kimg (StyleGAN2-ADA on an H100, published; not run)"
            target, met = "<= 3.7 s/kimg", value is not None and value <= 3.7
            size = f"preset {c['preset']}" if "preset" in c else f"{c.get('image_size')} px, z / w {c.get('z_dim')}"
            setting = f"StyleGAN2 {size}, batch {r['batch']}"
        else:
            per = "it_per_s" if t == "ugatit" else "images_per_s"
            unit = "it/s" if t == "ugatit" else "images/s"
            value = f[per] if f else None
            ref_value = ref[per] if ref else None
            ratio = value / ref_value if value and ref_value else None
            name = {"dcgan": "pytorch/examples DCGAN", "stargan": "yunjey StarGAN", "ugatit": "UGATIT-pytorch",
                    "acgan": "gitlimlab ACGAN"}[t]
            ref_text = f"{ref_value:,.2f} {unit} ({name})" if ref_value else f"- ({name}: {r.get('reference_error')})"
            target, met = {"dcgan": (">= 2x the reference", ratio is not None and ratio >= 2),
                           "stargan": (">= 1,000 images/s", value is not None and value >= 1000),
                           "ugatit": (">= 6 it/s", value is not None and value >= 6),
                           "acgan": ("-", None)}[t]
            setting = {"dcgan": f"64 px, nz {c.get('nz')}, ngf/ndf {c.get('ngf')}, batch {r['batch']}",
                       "stargan": f"64 px, conv dim {c.get('g_conv_dim')}, batch {r['batch']}",
                       "ugatit": f"light, {c.get('image_size')} px, ch {c.get('ch')}, batch {r['batch']}",
                       "acgan": f"64 px, ngf/ndf 48, 12 classes, batch {r['batch']}"}[t]
        ours = f"{value:,.2f} {unit} ({'bf16' if gpu else 'CPU'})" if value is not None else f"- ({r.get('facegan_error')})"
        shown = "-" if met is None else ("yes" if met else "no")
        if (tiny or not gpu) and met is not None:
            shown = f"({'tiny' if tiny else 'CPU'}: not the target's setting)"
        lines.append(f"| {t} | {setting} | {ours} | {ref_text} | {f'{ratio:.2f}x' if ratio else '-'} | {target} | {shown} |")
        out.append({"technique": t, "setting": setting, "unit": unit, "facegan": value, "reference": ref_value,
                    "ratio": ratio, "target": target, "met": met})
    return lines, out


# ----------------------------------------------------------------------------- phase 2: training


@dataclass
class Job:
    bundle: Bundle
    out: Path
    cmd: list[str]
    cap_s: float
    steps: int
    proc: subprocess.Popen | None = None
    started: float = 0.0
    deadline: float = 0.0
    running_at: float | None = None  # when its status.json first said "running"
    term_at: float | None = None
    killed: bool = False
    seconds: float = 0.0


def plan_jobs(args, data_root: Path, work: Path, window_s: float, bundled_rates: dict, device) -> list[Job]:
    """One `facegan train` per bundle: its config, batch and data; its cap (share x window) and steps."""
    jobs = []
    overrides = dict(s.split("=", 1) for s in args.steps or [])
    for b in BUNDLES:
        if args.only and b.folder not in args.only:
            continue
        cfg = training_config(b, args.tiny)
        cap = b.share * window_s
        batch = b.tiny_batch if args.tiny else b.batch
        if b.folder in overrides:
            steps = int(overrides[b.folder])
        elif cfg.get("decay") and b.technique in bundled_rates:  # the lr schedule ends before the cap
            steps = max(10, int(bundled_rates[b.technique]["it_per_s"] * max(cap - STARTUP_S, 10) * CONCURRENCY))
        else:
            steps = 1_000_000  # until the cap
        if args.tiny and steps < 1_000_000:
            steps = min(steps, 4)
        every = max(10, steps // 3) if steps < 1_000_000 else (1000 if b.technique == "stylegan" else 5000)
        out = work / "train" / b.folder
        data = os.pathsep.join(str(data_root / d) for d in b.data)
        cmd = [sys.executable, "-m", "facegan", "train", b.technique, "--data", data, "--out", str(out),
               "--steps", str(steps), "--batch-size", str(batch), "--device", device.type, "--model", json.dumps(cfg),
               "--log-every", "50", "--sample-every", str(every), "--checkpoint-every", str(every),
               "--keep-last", "1", "--quiet"]
        if b.init and not args.tiny:
            cmd += ["--init", str(ROOT / "checkpoints" / b.folder)]
        jobs.append(Job(b, out, cmd, cap, steps))
    return jobs


def train_phase(jobs: list[Job], lanes: int, train_end: float, log: Log, env: dict) -> None:
    """Run the jobs, ``lanes`` at a time; SIGTERM each at its cap (or ``train_end``) once its Trainer
    runs (it then stops with a checkpoint), SIGKILL ``GRACE_S`` later."""
    from facegan.train import read_json

    def trainer_runs(job: Job, now: float) -> bool:  # its SIGTERM handler is set right after status.json says so
        if job.running_at is None and (read_json(job.out / "status.json", {}) or {}).get("state") == "running":
            job.running_at = now
        return job.running_at is not None and now >= job.running_at + 1

    queue, running = list(jobs), []
    while queue or running:
        now = log.elapsed()
        while queue and len(running) < lanes:
            job = queue.pop(0)
            job.out.mkdir(parents=True, exist_ok=True)
            job.started, job.deadline = now, min(now + job.cap_s, train_end)
            with open(job.out / "train.log", "w") as f:
                job.proc = subprocess.Popen(job.cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
            log(f"train {job.bundle.folder}: started, {job.steps:,} steps, cap {job.deadline - now:.0f} s")
            running.append(job)
        for job in list(running):
            if job.proc.poll() is not None:
                job.seconds = log.elapsed() - job.started
                log(f"train {job.bundle.folder}: exit {job.proc.returncode} after {job.seconds:.0f} s")
                running.remove(job)
            elif job.term_at is None and now >= job.deadline and trainer_runs(job, now):
                job.proc.send_signal(signal.SIGTERM)
                job.term_at = now
                log(f"train {job.bundle.folder}: SIGTERM at its cap")
            elif not job.killed and now >= (job.term_at or job.deadline) + GRACE_S:
                job.proc.kill()
                job.killed = True
                log(f"train {job.bundle.folder}: SIGKILL, {GRACE_S} s after its " + ("SIGTERM" if job.term_at else "cap"))
        time.sleep(0.2)


def job_result(job: Job) -> dict:
    """What a run did, from its status.json and metrics.jsonl."""
    from facegan.train import latest_checkpoint, read_json

    s = read_json(job.out / "status.json", {}) or {}
    ckpt = s.get("checkpoint") if s.get("state") in ("finished", "stopped") else None
    if ckpt is None and (last := latest_checkpoint(job.out)):
        ckpt = str(last)
    windows = []
    with contextlib.suppress(OSError, ValueError):
        windows = [json.loads(line)["images_per_s"] for line in (job.out / "metrics.jsonl").read_text().splitlines()]
    steady = windows[1:] or windows  # the first window holds the warm-up
    b = job.bundle
    return {"folder": b.folder, "technique": b.technique, "state": s.get("state", "not started"),
            "error": s.get("error"), "exit": job.proc.returncode if job.proc else None, "killed": job.killed,
            "steps": s.get("step", 0), "steps_planned": job.steps, "batch": s.get("batch_size"),
            "images": s.get("step", 0) * (s.get("batch_size") or 0), "cap_s": round(job.cap_s, 1),
            "wall_s": round(job.seconds, 1), "train_s": round(s.get("elapsed_s", 0.0), 1),
            "images_per_s": s.get("images_per_s"), "median_images_per_s": statistics.median(steady) if steady else None,
            "hardware": s.get("hardware"), "n_images": s.get("n_images"), "checkpoint": ckpt,
            "bundled_images": bundled_images(ROOT / "checkpoints" / b.folder), "command": job.cmd[1:]}


# ----------------------------------------------------------------------------- phase 3: export


def cli(*argv: str) -> tuple[int, str]:
    """``facegan ARGV`` in this process (the same code as the command, without its start-up)."""
    from facegan import cli as facegan_cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = facegan_cli.main([str(a) for a in argv])
    return rc, buf.getvalue().strip()


def card_section(r: dict, data_info: dict, exported: dict, made: list[str]) -> str:
    b_img, n = r["bundled_images"], r.get("n_images")
    gpu, stopped = "CPU" not in (r["hardware"] or "CPU"), r["state"] == "stopped"
    lines = [
        "", "## GPU run", "",
        (f"Trained by `benchmarks/gpu_run.py run` (issue #13) on {r['hardware']}"
         + (", at the same time as the other bundled models on the one GPU, bf16 autocast and channels_last:"
            if gpu else ":")), "",
        "| | |", "|---|---|",
        (f"| command | `facegan train {r['technique']} --steps {r['steps_planned']:,} --batch-size {r['batch']}` with "
         "the bundled model's config (`--model`)" + (", stopped with SIGTERM at its cap |" if stopped else " |")),
        f"| data | {n:,} images of the subset `gpu_run.py prepare` carries (seed {data_info.get('seed')}) |"
        if n else "| data | - |",
        f"| steps | {r['steps']:,} at batch {r['batch']} ({r['images']:,} images; the CPU-trained model this replaces "
        f"saw {b_img:,}), {r['state']}{' at its cap' if stopped else ''} |" if b_img else
        f"| steps | {r['steps']:,} at batch {r['batch']} ({r['images']:,} images), {r['state']} |",
        f"| training time | {r['train_s']:.0f} s of steps, {r['median_images_per_s'] or 0:,.0f} images/s"
        + (" beside the others |" if gpu else " |"),
        f"| weights | `facegan export {' '.join(exported['flags'])}`: {exported['mb']:.1f} MB |",
    ]
    if made:
        lines.append(f"| pictures | {', '.join(f'`{m}`' for m in made)} |")
    lines += ["", "Quality not measured yet: run this project's benchmark for it (README, Benchmarks).", ""]
    return "\n".join(lines)


def export_phase(args, results: list[dict], work: Path, data_info: dict, device, log: Log, end: float) -> None:
    """Each run's checkpoint exported as its bundle was, with its card's pictures: ``r["export"]``, or
    ``r["export_error"]``; pictures not drawn by ``end`` (seconds on the log's clock) are skipped."""
    for r in results:
        b = next(x for x in BUNDLES if x.folder == r["folder"])
        if not r["checkpoint"]:
            r["export_error"] = f"no checkpoint (state {r['state']}: {r.get('error')})"
            continue
        try:
            export_one(args, r, b, work / "export" / b.folder, data_info, device, log, end)
        except Exception as e:  # noqa: BLE001 - one model failing must not cost the others
            r.pop("export", None)
            r["export_error"] = f"{type(e).__name__}: {e}"
        if "export_error" in r:
            log(f"export {b.folder}: FAILED {r['export_error']}")
        else:
            log(f"export {b.folder}: {r['export']['mb']:.1f} MB weights, {r['export']['bytes'] / 1e6:.1f} MB folder"
                + (f"; pictures failed: {r['picture_errors']}" if r["picture_errors"] else ""))


def export_one(args, r: dict, b: Bundle, folder: Path, data_info: dict, device, log: Log, end: float) -> None:
    import torch

    from facegan import hub

    shutil.rmtree(folder, ignore_errors=True)
    rc, text = cli("export", r["checkpoint"], "--out", folder, *b.export)
    if rc:
        r["export_error"] = text
        return
    made, failed = [], []
    for name, argv in card_pictures.commands(b.technique, folder, expressions=len(b.data) > 1):
        if log.elapsed() > end:
            failed.append(f"{name}: skipped (time)")
            continue
        rc, text = cli(*argv)
        (made if rc == 0 else failed).append(f"{name}: facegan {' '.join(argv[:2])}" if rc == 0 else f"{name}: {text}")
    if b.technique == "stylegan" and log.elapsed() <= end:
        from facegan import attributes, directions

        try:
            model = hub.load_folder(folder, device)
            found = directions.labelled(model, attributes.load_classifier(device=device), n=64 if args.tiny else 2000)
            found.save(folder)
            made.append("directions.safetensors: the labelled directions, as stylegan_directions.py --write")
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001
            failed.append(f"directions: {type(e).__name__}: {e}")
    weights = folder / hub.WEIGHTS_NAME
    r["export"] = {"folder": b.folder, "flags": list(b.export), "mb": weights.stat().st_size / 1e6,
                   "sha256": hub.sha256_of(weights)}
    card = folder / hub.CARD_NAME
    card.write_text(card.read_text() + card_section(r, data_info, r["export"], [m.split(":")[0] for m in made]))
    r["export"]["bytes"] = folder_bytes(folder)
    r["pictures"], r["picture_errors"] = made, failed


# ----------------------------------------------------------------------------- $OUT


def pack(out: Path, work: Path, results: list[dict], slots: int) -> list[str]:
    """The exported folders into checkpoints-N.tar files of at most OUT_FILE_BYTES (first fit, largest first)."""
    folders = [(r["export"]["bytes"], work / "export" / r["folder"]) for r in results if "export" in r]
    bins: list[list] = []
    errors = []
    for size, folder in sorted(folders, reverse=True):
        need = size + 1024 * (1 + sum(1 for _ in folder.rglob("*")))  # tar headers
        if need > OUT_FILE_BYTES - 10240:
            errors.append(f"{folder.name}: {size / MiB:.1f} MiB, over the {OUT_FILE_BYTES // MiB} MiB of one file")
            continue
        target = next((b for b in bins if b[0] + need <= OUT_FILE_BYTES - 10240), None)
        if target is None:
            target = [0, []]
            bins.append(target)
        target[0] += need
        target[1].append(folder)
    if len(bins) > slots:
        errors.append(f"the exports need {len(bins)} files of {OUT_FILE_BYTES // MiB} MiB, {slots} are left of {OUT_FILES}")
        bins = bins[:slots]
    for i, (_, members) in enumerate(bins, 1):
        with tarfile.open(out / f"checkpoints-{i}.tar", "w") as tar:
            for folder in members:
                tar.add(folder, arcname=folder.name)
                next(r for r in results if r["folder"] == folder.name)["export"]["tar"] = f"checkpoints-{i}.tar"
    return errors


def pack_runs(out: Path, jobs: list[Job]) -> None:
    """Each run's run.json, status.json, metrics.jsonl, the tail of its log and its last sample grid
    (the grids only while the file stays under OUT_FILE_BYTES)."""
    with tarfile.open(out / "runs.tar", "w") as tar:
        for job in jobs:
            for name in ("run.json", "status.json", "metrics.jsonl"):
                if (job.out / name).is_file():
                    tar.add(job.out / name, arcname=f"{job.bundle.folder}/{name}")
            if (job.out / "train.log").is_file():
                tail = (job.out / "train.log").read_bytes()[-MiB // 4:]
                info = tarfile.TarInfo(f"{job.bundle.folder}/train.log")
                info.size = len(tail)
                tar.addfile(info, io.BytesIO(tail))
        for job in jobs:
            grid = job.out / "samples" / "latest.png"
            if grid.is_file() and tar.fileobj.tell() + grid.stat().st_size + 10240 < OUT_FILE_BYTES - MiB:
                tar.add(grid, arcname=f"{job.bundle.folder}/samples/latest.png")


def out_problems(out: Path) -> list[str]:
    """What the device tool would not return of ``out``: the limits of README (device), Limits."""
    files = [p for p in out.rglob("*") if not p.is_dir()]
    problems = [f"{len(files)} files, at most {OUT_FILES}"] if len(files) > OUT_FILES else []
    for p in files:
        rel = p.relative_to(out)
        if p.is_symlink():
            problems.append(f"{rel}: a link")
        elif p.stat().st_size > OUT_FILE_BYTES:
            problems.append(f"{rel}: {p.stat().st_size / MiB:.1f} MiB, over {OUT_FILE_BYTES // MiB} MiB")
        if len(rel.parts) > 3:
            problems.append(f"{rel}: more than 2 folders down")
        if not all(OUT_NAME.fullmatch(part) for part in rel.parts):
            problems.append(f"{rel}: a name of other characters than letters, digits, '.', '_', '-'")
    total = sum(p.stat().st_size for p in files if p.is_file())
    if total > OUT_TOTAL:
        problems.append(f"{total / MiB:.1f} MiB in all, over {OUT_TOTAL // MiB} MiB")
    return problems


def clear_out(out: Path) -> None:
    """$OUT is emptied on the device machine; locally only this script's own files may be there."""
    out.mkdir(parents=True, exist_ok=True)
    for p in out.iterdir():
        if p.name in OURS or re.fullmatch(r"checkpoints-\d+\.tar", p.name):
            p.unlink()
        else:
            raise SystemExit(f"run: $OUT {out} holds {p.name}, not a file of this script: give an empty $OUT")


def training_table(results: list[dict]) -> list[str]:
    lines = ["| model | steps | images (the bundled model's) | state | train s | images/s | export |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        e = r.get("export")
        lines.append(f"| {r['folder']} | {r['steps']:,} at batch {r['batch'] or '-'} | {r['images']:,} "
                     f"({r['bundled_images'] or 0:,}) | {r['state']}{' (killed)' if r['killed'] else ''} | "
                     f"{r['train_s']:.0f} | {r['median_images_per_s'] or 0:,.0f} | "
                     + (f"{e['mb']:.1f} MB, {e.get('tar', 'not packed')}" if e else r.get("export_error", "-")) + " |")
    return lines


# ----------------------------------------------------------------------------- run


def cmd_run(args) -> int:
    work = Path(args.work or ROOT / "runs" / ("gpu-run-tiny" if args.tiny else "gpu-run")).resolve()
    if work.exists():
        if any(work.iterdir()) and not (work / ".gpu_run").is_file():
            raise SystemExit(f"run: {work} holds other files; give another --work")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / ".gpu_run").write_text("made by benchmarks/gpu_run.py; removed by its next run\n")
    out = Path(os.environ.get("OUT") or work / "out").resolve()
    clear_out(out)
    log = Log(out / "log.txt")

    import torch

    device = torch.device("cpu" if args.cpu else "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("run: no CUDA device here; --cpu --tiny runs the same on the CPU")
    from facegan.data import data_root

    if args.tiny:  # tiny data: copied from the real sets where they are, else drawn
        src, data_root_ = Path(args.data) if args.data else data_root(), work / "data"
        if (src / "anime-faces-64" / "tags.csv").is_file():
            data_info = copy_subset(src, data_root_, 48, 8, 2, 3, seed=0)
        else:
            data_info = draw_data(data_root_)
    else:
        data_root_ = Path(args.data) if args.data else ROOT / DATA_DIR
        if not (data_root_ / "manifest.json").is_file():
            raise SystemExit(f"run: no data subset at {data_root_}: run `python benchmarks/gpu_run.py prepare` on the "
                             f"CPU machine and name {DATA_DIR} in the device call's carry")
        data_info = json.loads((data_root_ / "manifest.json").read_text())
    hw = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    log(f"gpu_run {'--cpu ' if args.cpu else ''}{'--tiny ' if args.tiny else ''}on {hw}, torch {torch.__version__}, "
        f"python {sys.version.split()[0]}; budget {args.budget:.0f} s; data {data_root_} "
        f"({data_info.get('source')}: {data_info['counts'].get('anime-faces-64')} anime faces, "
        f"{data_info['bytes'] / 1e6:.1f} MB); out {out}")
    summary = {"mode": "tiny" if args.tiny else "full", "device": str(device), "hardware": hw,
               "torch": torch.__version__, "budget_s": args.budget, "data": data_info, "errors": [], "phases": {}}

    post_s = 20 if args.tiny else 60
    speed_rows, bundled_rates = [], {}
    if not args.no_speed:
        speed_rows, bundled_rates = speed_phase(args, data_root_, device, log, deadline=args.budget * 0.3)
    summary["phases"]["speed_end_s"] = round(log.elapsed(), 1)

    train_end = args.budget - post_s - GRACE_S
    window = TINY_WINDOW_S if args.tiny else max(train_end - log.elapsed(), 10)
    jobs = plan_jobs(args, data_root_, work, window, bundled_rates, device)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
           "OMP_NUM_THREADS": "1" if args.tiny else "2", "PYTHONUNBUFFERED": "1"}
    lanes = args.lanes or (1 if device.type == "cpu" else len(jobs))
    train_phase(jobs, lanes, train_end, log, env)
    results = [job_result(j) for j in jobs]
    summary["phases"]["train_end_s"] = round(log.elapsed(), 1)
    for r in results:
        if r["state"] not in ("finished", "stopped"):
            summary["errors"].append(f"train {r['folder']}: {r['state']} ({r.get('error') or 'see runs.tar'})")

    export_phase(args, results, work, data_info, device, log, end=args.budget - 15)
    summary["phases"]["export_end_s"] = round(log.elapsed(), 1)
    for r in results:
        if "export_error" in r:
            summary["errors"].append(f"export {r['folder']}: {r['export_error']}")
        summary["errors"] += [f"picture {r['folder']}: {e}" for e in r.get("picture_errors", [])]

    # the bundle budget, were every model that saw more images than the bundled one installed
    current = folder_bytes(ROOT / "checkpoints")
    better = [r for r in results if "export" in r and r["images"] > (r["bundled_images"] or 0)]
    projected = current + sum(r["export"]["bytes"] - folder_bytes(ROOT / "checkpoints" / r["folder"]) for r in better)
    summary["checkpoints_budget"] = {"now_bytes": current, "with_better_installed_bytes": projected,
                                     "budget_bytes": CHECKPOINTS_BUDGET, "better": [r["folder"] for r in better]}

    pack_runs(out, jobs)
    summary["errors"] += [f"pack: {e}" for e in pack(out, work, results, OUT_FILES - len(OURS))]
    lines, figures = speed_table(speed_rows, device.type == "cuda", args.tiny)
    table = ["## Speed, side by side", "", *lines, "", "## Training (all at once on one device)", "",
             *training_table(results), "",
             (f"checkpoints/: {current / 1e6:.1f} MB now, {projected / 1e6:.1f} MB with the {len(better)} better "
              f"model(s) installed (budget {CHECKPOINTS_BUDGET / 1e6:.0f} MB)")]
    (out / "table.md").write_text(f"# gpu_run on {hw}, torch {torch.__version__}\n\n" + "\n".join(table) + "\n")
    summary.update(speed=speed_rows, figures=figures, bundled_rates=bundled_rates, training=results,
                   elapsed_s=round(log.elapsed(), 1))
    (out / "results.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    problems = out_problems(out)
    if problems:
        summary["errors"] += [f"$OUT: {p}" for p in problems]
    log()
    for line in table:
        log(line)
    log(f"done in {log.elapsed():.0f} s; $OUT {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    if summary["errors"]:
        (out / "results.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
        log(f"{len(summary['errors'])} error(s):")
        for e in summary["errors"]:
            log(f"  {e}")
    if problems:
        log(f"$OUT IS OVER THE DEVICE TOOL'S LIMITS, files would not come back: {problems}")
        return 3
    return 1 if summary["errors"] else 0


# ----------------------------------------------------------------------------- install


def cmd_install(args) -> int:
    """The returned checkpoints into checkpoints/ (and its manifest), by default the better ones only."""
    from facegan import hub

    files, target = Path(args.files), Path(args.checkpoints).resolve()
    results = json.loads((files / "results.json").read_text())
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    chosen = []
    for r in results["training"]:
        e = r.get("export")
        if e is None:
            print(f"{r['folder']}: not exported ({r.get('export_error')})")
            continue
        want = (r["folder"] in args.only) if args.only else (args.all or r["images"] > (r["bundled_images"] or 0))
        print(f"{r['folder']}: {r['images']:,} images (the bundled model's {r['bundled_images'] or 0:,}): "
              + ("install" if want else "keep the bundled one (--all or --only installs it anyway)"))
        if want:
            chosen.append(r)
    if not chosen:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for tar in sorted({r["export"]["tar"] for r in chosen}):
            with tarfile.open(files / tar) as t:
                t.extractall(tmp, filter="data")
        for r in chosen:  # the folder as exported: it loads, and its weights are the ones the run wrote down
            folder = Path(tmp) / r["folder"]
            hub.load_folder(folder)
            if hub.sha256_of(folder / hub.WEIGHTS_NAME) != r["export"]["sha256"]:
                raise SystemExit(f"install: {r['folder']}'s weights differ from results.json's sha256")
        total = folder_bytes(target) + sum(folder_bytes(Path(tmp) / r["folder"]) - folder_bytes(target / r["folder"])
                                           for r in chosen)
        if total >= CHECKPOINTS_BUDGET:
            raise SystemExit(f"install: checkpoints/ would hold {total / 1e6:.1f} MB, over the "
                             f"{CHECKPOINTS_BUDGET / 1e6:.0f} MB budget; install fewer (--only)")
        if args.dry_run:
            print(f"(dry run) checkpoints/ would hold {total / 1e6:.1f} MB")
            return 0
        for r in chosen:
            name = manifest_name(r["folder"], manifest)
            shutil.rmtree(target / r["folder"], ignore_errors=True)
            shutil.move(str(Path(tmp) / r["folder"]), target / r["folder"])
            entry = manifest.setdefault(name, {})  # as `facegan export --manifest NAME` writes it
            entry.update(sha256=r["export"]["sha256"], bundled=r["folder"])
            if name != r["technique"]:
                entry["technique"] = r["technique"]
            print(f"installed {target / r['folder']} as manifest entry {name!r}")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"checkpoints/ now {folder_bytes(target) / 1e6:.1f} MB. Next: python -m pytest tests/test_bundled.py, "
          "the quality benchmarks for the cards and README (Checkpoints, Benchmarks)")
    return 0


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for what each phase does and why.")
    sub = p.add_subparsers(dest="command")
    pr = sub.add_parser("prepare", help="copy the data subset into gpu-data/ and print the carry list")
    pr.add_argument("--data", help="the data root (default $FACEGAN_DATA or ../shared/data)")
    pr.add_argument("--dest", default=str(ROOT / DATA_DIR), help=f"where (default {DATA_DIR}/, ignored by git)")
    pr.add_argument("--budget-mb", type=float, default=28.0, dest="budget_mb",
                    help="the subset's size at most, in MB (default 28; less if the tree leaves less)")
    pr.add_argument("--margin-mb", type=float, default=2.0, dest="margin_mb",
                    help="MiB of the 64 MiB tree kept free for files added before the call (default 2)")
    pr.add_argument("--anime", type=int, help="anime faces (default: as many as the budget holds)")
    pr.add_argument("--selfie", type=int, default=500, help="selfie2anime training pictures per domain (500)")
    pr.add_argument("--selfie-test", type=int, default=30, dest="selfie_test", help="test pictures per domain (30)")
    pr.add_argument("--fer-per-class", type=int, default=150, dest="fer_per_class", help="FER2013 photos per class (150)")
    pr.add_argument("--seed", type=int, default=0)
    pr.set_defaults(fn=cmd_prepare)
    r = sub.add_parser("run", help="speed, training and export in one command (the default)")
    r.add_argument("--cpu", action="store_true", help="on the CPU (with --tiny: the CI check)")
    r.add_argument("--tiny", action="store_true", help="tiny models, a few steps, tiny data")
    r.add_argument("--budget", type=float, help="seconds for the whole run (default 520; --tiny 150)")
    r.add_argument("--window", type=float, help="seconds of each timed speed window (default 4; --tiny 0.2)")
    r.add_argument("--only", nargs="+", help="train only these bundled folders")
    r.add_argument("--steps", nargs="+", metavar="FOLDER=N", help="a run's steps instead of the plan's")
    r.add_argument("--lanes", type=int, help="trainings at once (default: all on a GPU, one on the CPU)")
    r.add_argument("--no-speed", action="store_true", dest="no_speed", help="skip the speed phase")
    r.add_argument("--data", help="the data root (default gpu-data/; --tiny: copied from ../shared/data or drawn)")
    r.add_argument("--work", help="the work folder (default runs/gpu-run, runs/gpu-run-tiny)")
    r.set_defaults(fn=cmd_run)
    i = sub.add_parser("install", help="the returned checkpoints into checkpoints/")
    i.add_argument("files", help="the folder the device call's files came back to (results.json, checkpoints-N.tar)")
    i.add_argument("--only", nargs="+", help="these folders, whatever their images")
    i.add_argument("--all", action="store_true", help="every exported folder")
    i.add_argument("--dry-run", action="store_true", dest="dry_run")
    i.add_argument("--checkpoints", default=str(ROOT / "checkpoints"), help=argparse.SUPPRESS)  # a copy, in tests
    i.set_defaults(fn=cmd_install)
    args = p.parse_args(argv if argv is not None else (sys.argv[1:] or ["run"]))
    if args.command == "run":
        args.budget = args.budget or (150.0 if args.tiny else 520.0)
        args.window = args.window or (0.2 if args.tiny else 4.0)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
