"""One training loop for every technique; the technique's module supplies the step.

An output folder holds everything a run makes, so a run can be watched, stopped,
resumed and loaded by path alone::

    out/
      run.json                 technique, data, model and training config (what --resume reads)
      status.json              live state: step, losses, images/s, ETA, state (the app polls it)
      metrics.jsonl            one JSON line per log step
      samples/step-000500.png  8x8 grids of the EMA generator on fixed latents; latest.png
      checkpoints/step-000500/ config.json + model.safetensors (EMA G + D) + README.md
                               + training_state.pt (raw weights, optimisers, RNG, step)
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import platform
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from facegan import checks, distributed, hub, models
from facegan import data as data_lib
from facegan.images import save_grid
from facegan.models import precision


@dataclass
class TrainConfig:
    steps: int = 10_000
    batch_size: int | None = None  # None: the technique's (Technique.batch_size)
    seed: int = 0
    log_every: int = 50  # also how often the NaN guard looks (a host sync)
    log_seconds: float = 10.0  # ... and at least this often, so slow runs show progress
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_last: int = 3  # checkpoints kept; older ones are deleted
    ema_decay: float = 0.999  # a TrainStep with an ``ema_decay(step, batch_size)`` (StyleGAN) decides instead
    device: str = "auto"  # "auto" = cuda when available
    amp: bool = True  # bf16 autocast on GPU
    cpu_amp: bool = False  # bf16 autocast on the CPU too: ~1.6x faster StarGAN steps on a 2-core x86 CPU
    channels_last: bool = True  # on GPU, and on the CPU for a technique that declares cpu_channels_last
    compile: bool = False  # torch.compile G and D (GPU)
    flip: bool = True  # random horizontal mirror
    n_samples: int = 64  # faces in each sample grid
    limit: int = 0  # use only the first N images (0 = all)
    eval_every: int = 0  # images between quick quality figures (quality.jsonl; not stargan); 0: none
    eval_n: int = 2000  # faces of each quick figure
    # steps over which the learning rates rise linearly from lr/warmup to lr: fresh Adam moments on a
    # trained model take full-size steps at first (an --init run fell back); None: 500 with --init, else 0
    warmup: int | None = None


# What a resumed run may change (its length and how it reports); the rest is the run's own.
RESUME_CHANGES = ("steps", "log_every", "log_seconds", "sample_every", "checkpoint_every", "keep_last",
                  "device", "compile", "eval_every", "eval_n")

INIT_WARMUP = 500  # TrainConfig.warmup's steps for a run started with --init (fresh optimisers)

STOP_CHECK_EVERY = 10  # steps between the ranks' agreeing on a stop asked of one (a tiny all-reduce)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


# ----------------------------------------------------------------------------- helpers


def pick_device(name: str = "auto") -> torch.device:
    name = checks.device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    n = distributed.world_size()
    return name if n == 1 else f"{n} processes x {name}"


def write_json(path: Path, obj) -> None:
    """Atomic: readers see the old or the new file, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def read_json(path: Path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


@contextlib.contextmanager
def warmed_up(optimizers: list[torch.optim.Optimizer], scale: float):
    """Every learning rate times ``scale`` for one step, then back to what the schedule had set."""
    groups = [g for opt in optimizers for g in opt.param_groups] if scale != 1.0 else []
    lrs = [g["lr"] for g in groups]
    for g, lr in zip(groups, lrs):
        g["lr"] = lr * scale
    try:
        yield
    finally:
        for g, lr in zip(groups, lrs):
            g["lr"] = lr


class EMA:
    """Exponential moving average of G's weights; buffers (BN statistics) are copied."""

    def __init__(self, module: nn.Module, decay: float):
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, module: nn.Module, step: int, decay: float | None = None) -> None:
        """``decay``: this step's, when the technique gives it (StyleGAN's half-life in images);
        None: ``self.decay`` with a warm-up, so early checkpoints are not dominated by the random init."""
        if decay is None:
            decay = min(self.decay, (1 + step) / (10 + step))
        ema_p = list(self.module.parameters())
        torch._foreach_lerp_(ema_p, [p.detach() for p in module.parameters()], 1 - decay)
        for b_ema, b in zip(self.module.buffers(), module.buffers()):
            b_ema.copy_(b)


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, sample_latent: Callable, batches: int = 8, batch: int = 64) -> None:
    """Re-estimate BN running statistics of an (EMA) generator from its own outputs, so
    single images in eval mode look like the training-mode batches (a DCGAN pitfall).
    ``sample_latent(n, generator=g)`` gives G's input, or a tuple of its inputs (AC-GAN's z, classes)."""
    bns = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    device = next(generator.parameters()).device
    g = torch.Generator().manual_seed(0)
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    generator.train()
    for _ in range(batches):
        inputs = sample_latent(batch, generator=g)
        generator(*(x.to(device) for x in (inputs if isinstance(inputs, tuple) else (inputs,))))
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    generator.eval()


def model_card(run: dict, status: dict) -> str:
    cfg = run["model_config"]
    lines = [
        "---", "library_name: facegan", f"tags: [gan, {run['technique']}, anime, faces]", "---", "",
        f"# facegan {run['technique']} checkpoint", "",
        f"Trained with `facegan train {run['technique']}` ({run['technique']} on {cfg.get('image_size', '?')} px faces).",
        "",
        "| | |", "|---|---|",
        f"| data | `{run['data']}` ({status.get('n_images', '?')} images, {status.get('skipped', 0)} unreadable skipped) |",
        f"| steps | {status['step']} at batch {run['train_config']['batch_size']} |",
        f"| hardware | {status.get('hardware', '?')} |",
        f"| training time | {status.get('elapsed_s', 0) / 3600:.2f} h |",
        f"| images seen | {status.get('images_seen', '?'):,} (with what an --init model had seen) |"
        if isinstance(status.get("images_seen"), int) else "| images seen | ? |",
        f"| CPU-hours | {status.get('cpu_hours', 0):.2f} (process CPU time; GPU-hours {status.get('gpu_hours', 0):.2f}) |",
        f"| speed | {status.get('images_per_s', 0):.0f} images/s |",
        f"| last losses | {', '.join(f'{k} {v:.3f}' for k, v in status.get('losses', {}).items())} |",
        "", "## Config", "", "```json", json.dumps(cfg, indent=1), "```", "",
        ("Weights: `model.safetensors` (the EMA generator and the discriminator). "
         "Load with `facegan.hub.load(folder)`."), "",
    ]
    return "\n".join(lines)


def read_jsonl(path: Path) -> list[dict]:
    """The JSON lines of a log (a line being written, or cut by a crash, is skipped)."""
    if not Path(path).is_file():
        return []
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def checkpoints(out: Path) -> list[Path]:
    """A run's checkpoint folders, oldest first."""
    d = Path(out) / "checkpoints"
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if re.fullmatch(r"step-\d+", p.name) and (p / "training_state.pt").is_file())


def latest_checkpoint(out: str | os.PathLike) -> Path | None:
    found = checkpoints(Path(out))
    return found[-1] if found else None


_TMP_LEFTOVER = re.compile(r"\.tmp-[A-Za-z0-9_]+")  # save_checkpoint's tempfile.mkdtemp(prefix=".tmp-")
_OLD_LEFTOVER = re.compile(r"\.(step-\d+)\.old")  # hub.replace_dir's ".<name>.old"


def clean_checkpoints(out: str | os.PathLike) -> list[str]:
    """Tidy what an interrupted save_checkpoint (kill -9, power cut) left in ``out``/checkpoints:
    its temporary ``.tmp-*`` folders are removed; a ``.step-N.old`` of hub.replace_dir is moved
    back to ``step-N`` when the kill came between replace_dir's two renames (``step-N`` is then
    missing and the old folder is a whole checkpoint), else removed. Only real folders directly
    in that one checkpoints folder, named so, are touched (never a symlink, never elsewhere).
    Returns what was done."""
    folder = Path(out) / "checkpoints"
    if folder.is_symlink() or not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_dir():
            continue
        if _TMP_LEFTOVER.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed the unfinished checkpoint {path.name}")
        elif (m := _OLD_LEFTOVER.fullmatch(path.name)):
            final = folder / m[1]
            if not final.exists() and not final.is_symlink() and (path / "training_state.pt").is_file():
                os.replace(path, final)
                done.append(f"restored {final.name} from {path.name}")
            else:
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed the replaced checkpoint {path.name}")
    return done


# ----------------------------------------------------------------------------- the loop


class Trainer:
    """Owns a run: the model, its step, EMA, data, output folder. ``run()`` trains to ``cfg.steps``.

    Started by torchrun with several processes (``facegan.distributed``), each rank trains on its
    part of every global batch of ``cfg.batch_size`` with the nets in DDP; rank 0 alone writes
    (status, logs, samples, checkpoints: the folder must be one every rank sees, for resuming).
    """

    def __init__(self, technique: str, data: str | os.PathLike | data_lib.ImageSet, out: str | os.PathLike,
                 model_config=None, cfg: TrainConfig | None = None, resume: bool = False,
                 init: str | os.PathLike | None = None, changes: dict | None = None):
        """``changes`` (with ``resume``): settings of ``RESUME_CHANGES`` given again, e.g. a longer run or
        quality figures it did not log before; a resumed run otherwise keeps its saved configs."""
        self.out = Path(out)
        self.spec = models.spec(technique)
        run = read_json(self.out / "run.json") if resume else None
        if resume and run is None:
            raise FileNotFoundError(f"nothing to resume in {self.out}: no run.json")
        if run:  # the saved configs win, except the length of the run and how it reports
            model_config = self.spec.Config(**run["model_config"])
            changes = dict(changes or {}) | ({"steps": cfg.steps} if cfg else {})
            saved = run["train_config"]
            if fixed := sorted(k for k, v in changes.items() if k not in RESUME_CHANGES and saved.get(k, v) != v):
                raise ValueError(f"a resumed run keeps its own {', '.join(f'{k} ({saved.get(k)})' for k in fixed)}; "
                                 f"it can change only {', '.join(RESUME_CHANGES)}")
            cfg = TrainConfig(**{**run["train_config"], **changes})
            data = data if _in_memory(data) else (data or run["data"])
        self.cfg = cfg or TrainConfig()
        if self.cfg.batch_size is None:
            self.cfg = dataclasses.replace(self.cfg, batch_size=self.spec.batch_size)
        self.model_config = model_config or self.spec.Config()
        self.technique = technique
        self.device = distributed.init(self.cfg.device) if distributed.launched() else pick_device(self.cfg.device)
        self.main = distributed.is_main()  # the rank that writes
        self.warnings = []  # said once at the start (the CLI's stderr, status.json)
        if self.device.type == "cpu" and self.cfg.cpu_amp and not precision.native_bf16(self.device):
            self.warnings.append("this CPU has no bf16 in hardware (AVX512-BF16 / AMX): bf16 autocast (--cpu-bf16) "
                                 "is emulated here, about 15x slower than float32; leave it out")
        local_batch = distributed.local_size(self.cfg.batch_size)

        # Data first: a bad folder is refused before anything is written.
        self.write_phase("reading the data set")
        self.data = data if _in_memory(data) else self.load_data(data)
        self.data_name = "(in memory)" if _in_memory(data) else str(data)

        self.write_phase(f"building the model ({len(self.data)} images read)")
        torch.manual_seed(self.cfg.seed)
        self.model = self.spec.Model(self.model_config).to(self.device)
        # oneDNN's fast path on the CPU too for some nets (StyleGAN: 1.9x per step), not for all
        self.channels_last = self.cfg.channels_last and (
            self.device.type == "cuda" or self.spec.cpu_channels_last)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.ema = EMA(self.model.generator, self.cfg.ema_decay)
        if distributed.world_size() > 1:
            distributed.global_batchnorm(self.model)  # after the EMA copy: it never trains
        self.step_fn = self.spec.TrainStep(self.model, self.model_config)
        batches = self.spec.batches(self.data, self.cfg, self.model_config, self.device)
        # the global batch of the step, then this rank's part of it
        self.batches = batches if local_batch == self.cfg.batch_size else (
            lambda step: tuple(distributed.shard(t) for t in batches(step)))
        # The same inputs for every sample grid of the run (latents, or held-out images).
        self.preview_inputs = self.model.preview_inputs(self.data, self.cfg.n_samples, torch.Generator().manual_seed(1234))
        self.step = 0
        self.elapsed = 0.0
        self.cpu_s = 0.0  # this run's process CPU time (all its threads), kept across resumes
        self.status: dict = {}
        self.stop_requested = False

        self.run_info = {
            "technique": technique, "data": self.data_name,
            "model_config": dataclasses.asdict(self.model_config), "train_config": dataclasses.asdict(self.cfg),
        }
        if run:  # a resumed run keeps where it started from and what that had cost
            self.run_info.update({k: v for k, v in run.items() if k.startswith("init")})
        self.cleaned = []
        if self.main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "samples").mkdir(exist_ok=True)
            # A save killed mid-write leaves .tmp-* (and perhaps .step-N.old) in checkpoints/: tidy
            # it before the latest checkpoint is looked for (a restored step-N counts).
            self.cleaned = clean_checkpoints(self.out)
        ckpt = latest_checkpoint(self.out) if resume and self.main else None
        ckpt = distributed.broadcast(None if ckpt is None else str(ckpt))  # the one rank 0 found
        if init is not None and not ckpt:  # a warm start: an exported model's weights, fresh optimisers
            self.init_from(init)
        if resume and not ckpt and self.main:  # killed before its first checkpoint: it starts again, with clean logs
            for log in (self.out / "metrics.jsonl", self.out / "quality.jsonl"):
                log.unlink(missing_ok=True)
        if ckpt:
            if not (Path(ckpt) / "training_state.pt").is_file():
                raise FileNotFoundError(f"rank {distributed.rank()} cannot read {ckpt}: the output folder must be "
                                        "on a file system every process sees")
            self.load_state(Path(ckpt))
        if self.main:
            write_json(self.out / "run.json", self.run_info)
        if self.cfg.compile:
            if hasattr(self.step_fn, "compile"):  # a step that knows which of its phases may be compiled
                self.step_fn.compile()
            else:
                self.model.generator.compile()
                self.model.discriminator.compile()

    def warmup_scale(self) -> float:
        """This step's factor on every learning rate: (step + 1) / warmup during the warm-up, else 1."""
        steps = self.cfg.warmup if self.cfg.warmup is not None else (INIT_WARMUP if "init" in self.run_info else 0)
        return min(1.0, (self.step + 1) / steps) if steps else 1.0

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [v for v in vars(self.step_fn).values() if isinstance(v, torch.optim.Optimizer)]

    def init_from(self, ref: str | os.PathLike) -> None:
        """Start from an exported model (a folder or ``repo@revision``): its generator becomes G and
        the EMA, its D (when the checkpoint holds one) this run's D; the optimisers start fresh.
        A generator-only checkpoint keeps this run's freshly initialised D."""
        source = hub.load(ref, self.device, technique=self.technique)
        state = self.spec.init_state(source, self.model) if self.spec.init_state else source.state_dict()
        try:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # tensor shapes differ
            raise ValueError(f"--init {ref}: its networks have other shapes than this run's (leave out the --model "
                             f"settings that change them): {str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else e}") from None
        d_only = all(k.startswith("discriminator") for k in missing)
        if unexpected or not d_only:
            raise ValueError(f"--init {ref}: its weights do not fit this run's model "
                             f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
        self.ema.module.load_state_dict(self.model.generator.state_dict())
        self.run_info["init"] = str(ref)
        card = getattr(source, "extra_config", {}).get(hub.SUMMARY_KEY) or {}
        for key in ("images_seen", "cpu_hours", "gpu_hours"):  # what the source had already cost
            if isinstance(card.get(key), (int, float)) and not isinstance(card.get(key), bool):
                self.run_info[f"init_{key}"] = card[key]

    def load_data(self, path) -> data_lib.ImageSet:
        return self.spec.load_data(path, self.model_config, limit=self.cfg.limit or None)

    def autocast(self):
        if self.device.type == "cuda" and self.cfg.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        if self.device.type == "cpu" and self.cfg.cpu_amp:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- state ----------------------------------------------------------------

    def export_model(self) -> nn.Module:
        """The model as shipped: the EMA generator (BN re-estimated) and the current D."""
        export = distributed.local_batchnorm(copy.deepcopy(self.model))
        export.generator.load_state_dict(self.ema.module.state_dict())
        if hasattr(export, "sample_inputs"):  # a conditional G: (z, class)
            recalibrate_batchnorm(export.generator, export.sample_inputs)
        elif hasattr(export, "sample_latent"):
            recalibrate_batchnorm(export.generator, export.sample_latent)
        return export.eval()

    def training_state(self) -> dict:
        state = {
            "step": self.step, "elapsed": self.elapsed, "cpu_s": self.cpu_s, "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict(), "step_fn": self.step_fn.state_dict(),
            "rng_cpu": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state(self, ckpt: Path) -> None:
        # weights_only: torch's restricted unpickler (tensors, dicts, numbers), no code.
        state = torch.load(ckpt / "training_state.pt", map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.ema.module.load_state_dict(state["ema"])
        self.step_fn.load_state_dict(state["step_fn"])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if "rng_cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), self.device)
        self.step, self.elapsed, self.cpu_s = state["step"], state.get("elapsed", 0.0), float(state.get("cpu_s", 0.0))
        # Log lines written after this checkpoint (a crash, a stop before it) describe steps
        # that will be trained again: drop them so the loss plot has one line per step.
        for log in (self.out / "metrics.jsonl", self.out / "quality.jsonl"):
            if self.main and log.is_file():
                keep = [json.dumps(r) for r in read_jsonl(log) if r.get("step", 0) <= self.step]
                log.write_text("".join(line + "\n" for line in keep))

    def save_checkpoint(self) -> Path | None:
        """Write checkpoints/step-N atomically (temporary folder, then rename); keep the last K.
        Rank 0's work (None on the others), which leaves the random generators as they were."""
        if not self.main:
            return None
        ckpt_dir = self.out / "checkpoints"
        ckpt_dir.mkdir(exist_ok=True)
        final = ckpt_dir / f"step-{self.step:06d}"
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=ckpt_dir))
        try:
            with _rng_kept(self.device):
                cost = self.cost()
                hub.write_model_files(self.export_model(), tmp, model_card(self.run_info, {**self.status, **cost}),
                                      extra_config={hub.SUMMARY_KEY: {**cost, "interim": True}})
            torch.save(self.training_state(), tmp / "training_state.pt")
            hub.replace_dir(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in checkpoints(self.out)[:-self.cfg.keep_last]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def save_samples(self) -> Path | None:
        """The sample grid of this step; rank 0's work, like ``save_checkpoint``."""
        if not self.main:
            return None
        with _rng_kept(self.device), torch.no_grad():
            images, ncol = self.export_model().preview(_to(self.preview_inputs, self.device))
        path = self.out / "samples" / f"step-{self.step:06d}.png"
        save_grid(images, path, ncol=ncol)
        shutil.copyfile(path, self.out / "samples" / ".latest.png")
        os.replace(self.out / "samples" / ".latest.png", self.out / "samples" / "latest.png")
        return path

    @property
    def images_seen(self) -> int:
        """Images the model has seen, with those of the model an --init run started from."""
        return int(self.run_info.get("init_images_seen", 0)) + self.step * self.cfg.batch_size

    def cost(self) -> dict:
        """What the model has cost so far, counting what an --init model had cost before: images seen,
        CPU-hours (process CPU time of every thread; rank 0's times the ranks under DDP), GPU-hours
        (wall time times the GPUs)."""
        gpus = distributed.world_size() if self.device.type == "cuda" else 0
        return {"images_seen": self.images_seen,
                "cpu_hours": round(float(self.run_info.get("init_cpu_hours", 0))
                                   + self.cpu_s * distributed.world_size() / 3600, 6),
                "gpu_hours": round(float(self.run_info.get("init_gpu_hours", 0)) + self.elapsed * gpus / 3600, 6)}

    @property
    def next_eval(self) -> int:
        """The images seen (by this run) at which the next quick quality figure is due: from
        quality.jsonl once (a resumed run's last line), then kept as the figures are logged."""
        if getattr(self, "_next_eval", None) is None:
            done = [r.get("run_images", 0) for r in read_jsonl(self.out / "quality.jsonl")] if self.main else []
            self._next_eval = self._after(max(done)) if done else self.cfg.eval_every
        return self._next_eval

    def _after(self, images: int) -> int:
        return (images // self.cfg.eval_every + 1) * self.cfg.eval_every

    def log_quality(self) -> None:
        """One line of quality.jsonl: FID and anime-FD of ``eval_n`` faces of the EMA generator
        (``quality.QuickMetric``; a translation model's test-set KID, ``quality.TranslationMetric``), with the step, images seen and CPU-hours (of training: the figures'
        own time is left out of the run's cost): a point of the run's curve."""
        self._next_eval = self._after(self.step * self.cfg.batch_size)
        if not self.main:
            return
        from facegan import quality

        if not hasattr(self, "_quick"):  # None: the technique logs no quick figure (StarGAN)
            self._quick = quality.quick_metric(models.technique_of(self.model), self.data, self.cfg.eval_n)
        if self._quick is None:
            return
        t0 = time.perf_counter()
        with _rng_kept(self.device):
            figures = self._quick(self.export_model().to("cpu").float())
        line = {"step": self.step, "run_images": self.step * self.cfg.batch_size, **self.cost(), **figures,
                "seconds": round(time.perf_counter() - t0, 1)}
        with open(self.out / "quality.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")
        self.status["quality"] = line

    def write_phase(self, phase: str) -> None:
        """Before step 0 (reading the data, building the model, the first step): a status.json with
        state "starting" and the phase, so the app shows what the job is doing. Only into an output
        folder that exists (the app's jobs make it first); a new CLI run writes nothing before its data is read."""
        if not self.main or not self.out.is_dir():
            return
        write_json(self.out / "status.json", {
            "state": "starting", "phase": phase, "pid": os.getpid(), "job_pid": distributed.job_pid(),
            "technique": getattr(self, "technique", None), "steps": self.cfg.steps, "updated": time.time(),
            "hardware": hardware(self.device) if hasattr(self, "device") else ""})

    def write_status(self, state: str, **extra) -> None:
        if not self.main:
            return
        self.status.update(state=state, step=self.step, steps=self.cfg.steps, pid=os.getpid(),
                           job_pid=distributed.job_pid(),
                           technique=self.technique, updated=time.time(), elapsed_s=self.elapsed,
                           **self.cost(),
                           hardware=hardware(self.device), batch_size=self.cfg.batch_size,
                           n_images=len(self.data), skipped=len(self.data.skipped), warnings=self.warnings, **extra)
        write_json(self.out / "status.json", self.status)

    # -- the loop -------------------------------------------------------------

    def run(self, progress: Callable[[dict], None] | None = None) -> Path | None:
        """Train until ``cfg.steps``; returns the last checkpoint. SIGTERM/SIGINT or
        ``request_stop()`` end the run after the current step with a checkpoint."""
        cfg = self.cfg
        self.write_phase(f"the first step (step {self.step + 1}: the first steps are the slowest)")
        old_handlers = self._install_signal_handlers()
        last = latest_checkpoint(self.out) if self.main else None
        several = distributed.world_size() > 1  # then the ranks agree on when to log and stop
        stopping = self.stop_requested and not several  # a stop asked (SIGTERM, request_stop), agreed by every rank
        sums: dict[str, torch.Tensor] = {}
        count, t0, c0 = 0, time.perf_counter(), time.process_time()
        try:
            while self.step < cfg.steps and not stopping:
                batch = self.batches(self.step)
                if self.channels_last:
                    batch = tuple(t.contiguous(memory_format=torch.channels_last) if t is not None and t.ndim == 4
                                  else t for t in batch)
                if hasattr(self.step_fn, "schedule"):  # e.g. a learning-rate decay; a function of the step
                    self.step_fn.schedule(self.step, cfg.steps)
                with warmed_up(self.optimizers(), self.warmup_scale()):
                    losses = self.step_fn(batch, self.autocast)
                # a step that knows its EMA (StyleGAN2-ADA's half-life in images) overrides ema_decay;
                # its ramp counts the images an --init model had seen: its EMA goes on, not again
                decay = (self.step_fn.ema_decay(self.images_seen, cfg.batch_size)
                         if hasattr(self.step_fn, "ema_decay") else None)
                self.ema.update(self.model.generator, self.step, decay)
                self.step += 1
                if count == 0:  # the first step of this process is done: running from here on
                    self.write_status("running")
                for k, v in losses.items():  # summed on the device: no host sync per step
                    sums[k] = sums[k] + v.float() if k in sums else v.float()
                count += 1
                due = {n for n, every in (("log", cfg.log_every), ("sample", cfg.sample_every),
                                          ("ckpt", cfg.checkpoint_every)) if every and self.step % every == 0}
                if self.step == cfg.steps:
                    due |= {"log", "sample", "ckpt"}
                elif cfg.log_seconds and not several and time.perf_counter() - t0 > cfg.log_seconds:
                    due.add("log")
                if not several:
                    stopping = self.stop_requested
                elif due or self.step % STOP_CHECK_EVERY == 0:  # every rank asks at the same steps
                    stopping = distributed.any_rank(self.stop_requested, self.device)
                if not due and not stopping:
                    continue
                # NaN guard, before anything is saved: the last good checkpoint stays.
                names = list(sums)
                values = distributed.reduce_mean(torch.stack([sums[k] for k in names]) / count).tolist()
                means = dict(zip(names, values))
                bad = [k for k, v in means.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingDiverged(
                        f"{', '.join(bad)} became NaN/inf between steps {self.step - count} and {self.step}; "
                        f"stopped. Last good checkpoint: {last or 'none'}. Try a lower learning rate.")
                ips = count * cfg.batch_size / max(time.perf_counter() - t0, 1e-9)  # steps only, no saving
                sums, count = {}, 0
                record = {"step": self.step, **means, "images_per_s": ips, "time": time.time()}
                if self.main:
                    with open(self.out / "metrics.jsonl", "a") as f:
                        f.write(json.dumps(record) + "\n")
                eta = (cfg.steps - self.step) * cfg.batch_size / ips if ips > 0 else None
                self.status.update(losses=means, images_per_s=ips, eta_s=eta)
                if "sample" in due or stopping:
                    self.status["sample"] = str(self.save_samples())
                if cfg.eval_every and self.step * cfg.batch_size >= self.next_eval:
                    now, cpu_now = time.perf_counter(), time.process_time()
                    self.elapsed, self.cpu_s = self.elapsed + now - t0, self.cpu_s + cpu_now - c0
                    self.log_quality()  # its cost counted up to here; the figure's own time is not the model's
                    t0, c0 = time.perf_counter(), time.process_time()
                if "ckpt" in due or stopping:
                    last = self.save_checkpoint() or last
                    self.status["checkpoint"] = str(last)
                now, cpu_now = time.perf_counter(), time.process_time()
                self.elapsed += now - t0
                self.cpu_s += cpu_now - c0
                t0, c0 = now, cpu_now
                self.write_status("running")
                if progress and self.main:
                    progress(self.status)
            state = "finished" if self.step >= cfg.steps else "stopped"
            if self.main and (last is None or last.name != f"step-{self.step:06d}"):
                last = self.save_checkpoint()
                self.status["checkpoint"] = str(last)
            self.write_status(state)
            return Path(distributed.broadcast(str(last) if self.main else None))  # every rank: rank 0's
        except TrainingDiverged as e:
            self.write_status("failed", error=str(e))
            raise
        except BaseException as e:
            self.write_status("failed", error=f"{type(e).__name__}: {e}")
            raise
        finally:
            self._restore_signal_handlers(old_handlers)

    def request_stop(self, *_) -> None:
        self.stop_requested = True

    def _install_signal_handlers(self):
        if not _in_main_thread():
            return None
        return {s: signal.signal(s, self.request_stop) for s in (signal.SIGTERM, signal.SIGINT)}

    @staticmethod
    def _restore_signal_handlers(old) -> None:
        for s, h in (old or {}).items():
            signal.signal(s, h)


def _in_memory(data) -> bool:
    """A decoded data set (ImageSet, TwoDomainSet) rather than a path."""
    return data is not None and not isinstance(data, (str, os.PathLike))


def _to(inputs, device):
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device)
    return type(inputs)(_to(x, device) for x in inputs)


def _rng_kept(device: torch.device):
    """The default random generators (CPU, and ``device``'s) restored after the block: work that
    rank 0 alone does must not move them, or the ranks' draws would part."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def train(technique: str, data, out, model_config=None, cfg: TrainConfig | None = None, resume: bool = False,
          progress: Callable[[dict], None] | None = None) -> Path | None:
    """Train ``technique`` on ``data`` (a folder or an ImageSet) into ``out``; returns the last checkpoint."""
    return Trainer(technique, data, out, model_config, cfg, resume).run(progress)
