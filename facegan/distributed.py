"""Training on several processes (GPUs, machines) with PyTorch's DistributedDataParallel.

``torchrun --nproc-per-node N -m facegan train ...`` starts N copies of the training command;
``init()`` joins them into one process group (NCCL on GPUs, gloo on CPUs). Every rank computes the
same *global* batch's order and random numbers and keeps its share of them (``shard``: ranks take
every N-th sample, so rank r holds global samples r, r + N, ...), the nets are wrapped in DDP
(``wrap``: gradients all-reduced, averaged), and the few statistics taken over a batch are taken
over the global one (``batch_mean``, ``GlobalBatchNorm``). So N ranks at local batch B / N compute
what one process computes at batch B, within float rounding, and a checkpoint of N ranks resumes on
M. Outside a process group every function here is the single-process identity.

Interleaved shards keep StyleGAN's minibatch-std groups (every (B / group)-th sample) whole on each
rank. The one rule for code that runs on rank 0 only (samples, checkpoints): no collective in it,
and no draw from the default generator (``Trainer`` forks the RNG around it).
"""

from __future__ import annotations

import datetime
import inspect
import os
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn

# Its suggested replacement (torch.distributed._functional_collectives.all_reduce) has no backward.
warnings.filterwarnings("ignore", "torch.distributed.nn.functional.all_reduce is deprecated", FutureWarning)
# DDP's note on a (1, C) weight whose gradient has the other, equivalent strides of a size-1 dim.
warnings.filterwarnings("ignore", "Grad strides do not match bucket view strides", UserWarning)


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def is_main() -> bool:
    return rank() == 0


def launched() -> bool:
    """Started by torchrun (or another launcher that sets WORLD_SIZE) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def job_pid() -> int:
    """The process that lives as long as the run: torchrun's when it started this one, else this
    one. (A stop is asked of rank 0, which tells the others at the next check: torchrun would
    pass a SIGTERM to every rank, then give them 30 s and exit with an error.)"""
    parent = os.getppid()
    if launched():
        try:
            cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
        except OSError:
            return os.getpid()
        if b"torch.distributed.run" in cmdline or b"torchrun" in cmdline:
            return parent
    return os.getpid()


def launcher(gpus: int) -> list[str]:
    """The command that starts ``-m facegan ...`` as ``gpus`` processes on this machine (torchrun),
    or a ValueError when the machine has fewer GPUs."""
    import sys

    if torch.cuda.device_count() < gpus:
        raise ValueError(f"this machine has {torch.cuda.device_count()} GPU(s) visible")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={gpus}"]


def init(device: str = "auto") -> torch.device:
    """Join the process group torchrun describes (its RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR
    environment); returns this rank's device: ``cuda:LOCAL_RANK`` with NCCL when GPUs are used,
    the CPU with gloo otherwise. Idempotent."""
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        if torch.cuda.device_count() <= local:
            raise RuntimeError(f"rank {local} of this machine has no GPU: {torch.cuda.device_count()} visible, "
                               "start at most that many processes per node")
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if not active():
        dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(minutes=30),
                                device_id=dev if cuda else None)
    return dev


def close() -> None:
    if active():
        dist.destroy_process_group()


def barrier() -> None:
    if active():
        dist.barrier()


# ----------------------------------------------------------------------------- the batch


def global_size(n_local: int) -> int:
    return n_local * world_size()


def local_size(n_global: int) -> int:
    w = world_size()
    if n_global % w:
        raise ValueError(f"the batch size {n_global} does not split over {w} processes: use a multiple of {w}")
    return n_global // w


def shard(x):
    """This rank's part of a global batch (a tensor, or None): samples rank, rank + N, ... ."""
    w = world_size()
    return x if w == 1 or x is None else x[rank()::w]


def gather(x: torch.Tensor) -> torch.Tensor:
    """The global batch of every rank's ``x`` (not differentiable), in the single-process order."""
    w = world_size()
    if w == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(w)]
    dist.all_gather(parts, x.contiguous())
    return torch.stack(parts, 1).flatten(0, 1)  # rank r's i-th sample is global sample i * w + r


def randn(n: int, *shape, device=None, dtype=None) -> torch.Tensor:
    """``torch.randn(n, *shape)`` for a local batch of n: the global batch's draw, this rank's part.
    Every rank draws the same (their generators stay in step), so the result is the single process's."""
    return shard(torch.randn(global_size(n), *shape, device=device, dtype=dtype))


def rand(n: int, *shape, device=None, dtype=None) -> torch.Tensor:
    """``torch.rand`` like ``randn``."""
    return shard(torch.rand(global_size(n), *shape, device=device, dtype=dtype))


def batch_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean over dim 0 of the global batch, differentiable (the gradient reaches every rank's part)."""
    if world_size() == 1:
        return x.mean(0)
    return dist_fn.all_reduce(x.sum(0)) / global_size(x.shape[0])


def reduce_mean(values: torch.Tensor) -> torch.Tensor:
    """The mean over the ranks of a tensor each holds (not differentiable): e.g. the logged losses."""
    if world_size() == 1:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / world_size()


def any_rank(flag: bool, device) -> bool:
    """True on every rank when ``flag`` is true on one (a stop asked of one rank, e.g. by SIGTERM)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def broadcast(obj):
    """Rank 0's ``obj`` (a small picklable value: a path, a step) on every rank."""
    if world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


# ----------------------------------------------------------------------------- the nets


def wrap(module: nn.Module) -> nn.Module:
    """``module`` in DistributedDataParallel when training on several processes, else itself.

    Buffers are not broadcast at each forward: every buffer is computed alike on every rank
    (``GlobalBatchNorm``, the global ``batch_mean``) or unused by the outputs."""
    if world_size() == 1:
        return module
    device = next(module.parameters()).device
    ddp = nn.parallel.DistributedDataParallel
    # forward_sync_buffers replaces broadcast_buffers (deprecated) from torch 2.14
    off = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(ddp).parameters else "broadcast_buffers"
    return ddp(module, device_ids=[device] if device.type == "cuda" else None, **{off: False})


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch (the mean and variance
    all-reduced, differentiable), like ``nn.SyncBatchNorm``, which runs on GPUs only; the same
    tensors as BatchNorm2d. In eval mode, or outside a process group, it is BatchNorm2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and world_size() > 1):
            return super().forward(x)
        count = x.shape[0] * x.shape[2] * x.shape[3] * world_size()
        xf = x.float()
        mean = dist_fn.all_reduce(xf.sum((0, 2, 3))) / count
        var = dist_fn.all_reduce((xf - mean[None, :, None, None]).square().sum((0, 2, 3))) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), m)
                self.running_var.lerp_((var.detach() * count / max(count - 1, 1)).to(self.running_var.dtype), m)
        y = (xf - mean[None, :, None, None]) * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(x.dtype)


def global_batchnorm(module: nn.Module) -> nn.Module:
    """Every BatchNorm2d in ``module`` takes the global batch's statistics (in place; same tensors)."""
    for m in module.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = GlobalBatchNorm  # a subclass with no state of its own: the tensors stay
    return module


def local_batchnorm(module: nn.Module) -> nn.Module:
    """Undo ``global_batchnorm`` (in place): for the copies rank 0 alone runs (export, samples)."""
    for m in module.modules():
        if type(m) is GlobalBatchNorm:
            m.__class__ = nn.BatchNorm2d
    return module

