"""Training on several processes: torchrun with 2 gloo processes on the CPU gives what 1 process
gives at the same global batch, for every technique, and its checkpoint resumes in 1 process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import make_faces
from test_stargan import make_class_set, make_tag_set
from test_ugatit import make_two_domains

from facegan import distributed, jobs

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
STYLEGAN = {"image_size": 16, "z_dim": 16, "w_dim": 16, "channel_base": 64, "channel_max": 16, "mapping_layers": 2,
            "pl_interval": 2, "r1_interval": 2}  # both regularisers within the 4 steps
# technique -> (model config, global batch, the largest learning rate): tiny nets; dcgan and acgan have BatchNorm (global
# statistics), acgan DiffAugment (random per image), stargan shuffled target labels and WGAN-GP
CASES = {
    "dcgan": ({"ngf": 8, "ndf": 8}, 8, 2e-4),
    "acgan": ({"nz": 8, "ngf": 8, "ndf": 8, "diffaugment": True}, 8, 2e-4),
    "stargan": ({"image_size": 32, "g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1, "d_repeat_num": 4,
                 "n_critic": 2}, 4, 1e-4),
    "ugatit": ({"image_size": 96, "ch": 4, "n_res": 1}, 2, 1e-4),
    "stylegan": (STYLEGAN, 8, 2.5e-3),
}


def make_data(technique: str, root) -> str:
    if technique in ("dcgan", "stylegan"):
        return str(make_faces(root / "faces"))
    if technique == "acgan":
        return str(make_class_set(root / "moods", n=6))
    if technique == "stargan":
        return f"{make_tag_set(root / 'anime')}{os.pathsep}{make_class_set(root / 'fer')}"
    return str(make_two_domains(root / "two"))


def train(technique: str, data: str, out, steps: int, nproc: int = 1, resume: bool = False, **popen):
    config, batch, _ = CASES[technique]
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
                if nproc > 1 else [sys.executable])
    cmd = [*launcher, "-m", "facegan", "train", technique, "--out", str(out), "--steps", str(steps),
           "--device", "cpu", "--quiet", "--log-every", "1", "--sample-every", "2", "--checkpoint-every", "2",
           "--keep-last", "5"]
    if not resume:
        cmd += ["--data", data, "--batch-size", str(batch), "--model", json.dumps(config)]
    else:
        cmd.append("--resume")
    if popen:
        return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    r = subprocess.run(cmd, check=False, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def state(out, step: int) -> dict:
    return torch.load(out / "checkpoints" / f"step-{step:06d}" / "training_state.pt", weights_only=True)


def assert_same_training(a: dict, b: dict, lr: float, unused: tuple[str, ...] = ()) -> None:
    """Every weight and buffer of the model and of the EMA G, and the optimisers' moments, agree
    within float rounding. Except a few weights: Adam moves a weight whose gradient is float noise
    (a sum that cancels) by about lr, either way, so those may differ by at most lr a step, in at
    most 1 % of a tensor (one StarGAN process on 2 threads and on 1 differ so in 27 of 4,704 weights
    of G's first conv after 2 G steps; 2 processes and 1 in 23). On an AVX2 AMD EPYC more do (2 DCGAN
    processes and 1: 547 of 16,384 weights of G's first layer, whose BatchNorm makes those gradients sums
    that cancel, and D's BatchNorm statistics downstream): a tensor may then have more apart as long as
    the whole differs by at most 0.1 % of its norm (ranks that did not share their gradients: several %).
    ``unused``: name endings of buffers that no
    output depends on (StarGAN's instance-norm running statistics: rank 0's batch's)."""
    assert a["step"] == b["step"]
    for part in ("model", "ema"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            if k.endswith(unused):
                continue
            x, y = a[part][k].float(), b[part][k].float()
            diff = (x - y).abs()
            off = diff > 2e-5 + 1e-4 * y.abs()
            few = off.sum() <= max(2, 0.01 * x.numel()) or diff.norm() <= 1e-3 * y.norm()
            assert few and diff.max() <= 1.01 * lr * a["step"] + 2e-5, \
                f"{part} {k}: {int(off.sum())} of {x.numel()} differ, by up to {diff.max():.3g}"
    for opt in ("opt_g", "opt_d"):
        for i, sa in a["step_fn"][opt]["state"].items():
            sb = b["step_fn"][opt]["state"][i]
            # relative to the tensor's size; 10 %: the gradients follow the weights Adam moved apart, and
            # the gap grows step by step (AVX2 EPYC, DCGAN, 2 processes and 1: 2e-6 after one step,
            # 0.3 % after two, 5.7 % after four; ranks that did not share their gradients: their own)
            for k in ("exp_avg", "exp_avg_sq"):
                assert (sa[k] - sb[k]).norm() <= 0.1 * sb[k].norm() + 1e-7, f"{opt} {i} {k}"


def losses(out) -> list[dict]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k.startswith("loss")} for r in rows]


@pytest.mark.parametrize("technique", list(CASES))
def test_two_processes_train_as_one_and_resume_in_one(technique, tmp_path):
    data = make_data(technique, tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    train(technique, data, one, steps=4)
    r = train(technique, data, two, steps=4, nproc=2)
    assert "2 processes" in r.stderr and r.stdout.count("finished at step 4") == 1  # rank 0 alone reports
    lr = CASES[technique][2]
    unused = ("running_mean", "running_var") if technique == "stargan" else ()
    assert_same_training(state(two, 4), state(one, 4), lr, unused)
    # the logged losses are the global batch's (all-reduced), as one process logs them
    for la, lb in zip(losses(two), losses(one), strict=True):
        assert la.keys() == lb.keys()
        for k in la:
            assert la[k] == pytest.approx(lb[k], rel=1e-3, abs=1e-5), k
    status = json.loads((two / "status.json").read_text())
    assert status["state"] == "finished" and "2 processes" in status["hardware"]
    assert sorted(p.name for p in (two / "samples").glob("step-*.png")) == ["step-000002.png", "step-000004.png"]

    # the 2-process checkpoint of step 2 resumes in 1 process and ends where one process ends
    resumed = tmp_path / "resumed"
    shutil.copytree(two, resumed)
    shutil.rmtree(resumed / "checkpoints" / "step-000004")
    train(technique, data, resumed, steps=4, resume=True)
    assert_same_training(state(resumed, 4), state(one, 4), lr, unused)


def test_a_stop_reaches_every_rank_and_ends_with_a_checkpoint(tmp_path):
    """The Training tab's Stop (jobs.stop) of a torchrun job ends both ranks at the same step, with
    a checkpoint, exit 0; and the run resumes on 2 processes."""
    data = make_data("dcgan", tmp_path)
    out = tmp_path / "run"
    proc = train("dcgan", data, out, steps=100_000, nproc=2, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            status = json.loads((out / "status.json").read_text()) if (out / "status.json").is_file() else {}
            if status.get("step", 0) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the run did not start")
        assert status["job_pid"] == proc.pid != status["pid"]  # torchrun's; rank 0's
        (out / "job.json").write_text(json.dumps({"pid": proc.pid, "out": str(out), "gpus": 2}))  # as jobs.start
        jobs.stop(out, timeout=120)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, output
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "stopped"
    step = status["step"]
    assert (out / "checkpoints" / f"step-{step:06d}" / "training_state.pt").is_file()
    train("dcgan", data, out, steps=step + 2, nproc=2, resume=True)
    assert state(out, step + 2)["step"] == step + 2


def test_gpus_asks_for_gpus_that_are_there(tmp_path):
    if torch.cuda.device_count() >= 2:
        pytest.skip("this machine has 2 GPUs")
    r = subprocess.run([sys.executable, "-m", "facegan", "train", "dcgan", "--data", str(tmp_path), "--out",
                        str(tmp_path / "run"), "--gpus", "2"], check=False, env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--gpus 2: this machine has" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_outside_a_process_group_the_helpers_are_the_identity():
    x = torch.arange(12.0).view(6, 2)
    assert distributed.world_size() == 1 and distributed.shard(x) is x and distributed.gather(x) is x
    torch.testing.assert_close(distributed.batch_mean(x), x.mean(0))
    torch.manual_seed(3)
    a = distributed.randn(4, 2)
    torch.manual_seed(3)
    torch.testing.assert_close(a, torch.randn(4, 2))


def test_a_global_batch_that_does_not_split_is_refused(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "facegan",
           "train", "dcgan", "--data", str(make_faces(tmp_path / "faces")), "--out", str(tmp_path / "run"),
           "--steps", "2", "--batch-size", "7", "--device", "cpu", "--quiet"]
    r = subprocess.run(cmd, check=False, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "facegan: error: the batch size 7 does not split over 2 processes: use a multiple of 2" in r.stderr


def test_a_job_on_gpus_that_are_not_there_is_refused(tmp_path):
    if torch.cuda.device_count() >= 2:
        pytest.skip("this machine has 2 GPUs")
    with pytest.raises(jobs.JobError, match="2 GPUs asked for: this machine has"):
        jobs.start("dcgan", str(make_faces(tmp_path / "faces")), tmp_path / "run", 10, 8, gpus=2, root=tmp_path)
