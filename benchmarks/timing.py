"""What the speed scripts share: a GPU sync, and timing facegan's Trainer after a warm-up."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from facegan.train import TrainConfig, Trainer


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    trainer: Trainer  # its sample grid and checkpoint writers are skipped while timing (see below)
    warm_s: float  # the warm-up steps: allocator, cuDNN algorithm choice, torch.compile
    timed_s: float  # the timed steps


@contextmanager
def timed_training(technique: str, data, model_cfg, cfg: TrainConfig, steps: int) -> Iterator[Timing]:
    """Run ``cfg.steps`` warm-up steps, then ``steps`` timed ones, in a temporary folder.

    The end of every ``run()`` writes a sample grid and a checkpoint; a long run does that
    every few hundred steps, so both are kept out of the per-step figure (``del
    timing.trainer.save_samples, timing.trainer.save_checkpoint`` brings the real ones back)."""
    with tempfile.TemporaryDirectory(prefix="facegan-bench-") as out:
        trainer = Trainer(technique, data, out, model_cfg, cfg)
        trainer.save_samples = lambda: Path(out) / "samples" / "skipped.png"
        trainer.save_checkpoint = lambda: Path(out) / "checkpoints" / f"step-{trainer.step:06d}"
        t0 = time.perf_counter()
        trainer.run()
        sync(trainer.device)
        warm = time.perf_counter() - t0
        trainer.cfg.steps = cfg.steps + steps
        t0 = time.perf_counter()
        trainer.run()
        sync(trainer.device)
        yield Timing(trainer, warm, time.perf_counter() - t0)
