"""The training loop: its output folder, exact resume, the NaN guard, and the CLI end to end."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import N_FACES, ROOT
from PIL import Image

from facegan import data, hub
from facegan.models import dcgan
from facegan.train import INIT_WARMUP, TrainConfig, Trainer, TrainingDiverged, latest_checkpoint

TINY = {"ngf": 8, "ndf": 8}


def tiny_model(**kw) -> dcgan.Config:
    return dcgan.Config(**TINY, **kw)


def tiny_train(**kw) -> TrainConfig:
    base = {"steps": 4, "batch_size": 4, "device": "cpu", "n_samples": 4, "log_every": 1, "sample_every": 0,
            "checkpoint_every": 0, "seed": 0}
    return TrainConfig(**{**base, **kw})


@pytest.fixture
def face_set(face_folder) -> data.ImageSet:
    return data.load_folder(face_folder, 64)


def _assert_tree_equal(a, b, where="") -> None:
    """Bit-identical nested state (dicts / lists of tensors and numbers)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_tree_equal(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_tree_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{where} differs"
    else:
        assert a == b, where


def test_cpu_bf16_autocast_is_a_choice(face_set, tmp_path):
    x = torch.randn(4, 4)
    for cpu_amp, dtype in ((False, torch.float32), (True, torch.bfloat16)):
        trainer = Trainer("dcgan", face_set, tmp_path / str(cpu_amp), tiny_model(), tiny_train(cpu_amp=cpu_amp))
        with trainer.autocast():
            assert (x @ x).dtype == dtype
    trainer.run()  # a bf16 run trains: finite losses, one checkpoint
    assert all(math.isfinite(v) for v in trainer.status["losses"].values())


def test_run_writes_its_output_folder(face_folder, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_train(steps=4, sample_every=2, checkpoint_every=1, keep_last=2)
    last = Trainer("dcgan", face_folder, out, tiny_model(), cfg).run()

    run = json.loads((out / "run.json").read_text())
    assert run["technique"] == "dcgan" and run["data"] == str(face_folder)
    assert run["model_config"]["ngf"] == 8 and run["train_config"]["steps"] == 4

    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "finished" and status["step"] == 4 and status["steps"] == 4
    assert status["n_images"] == N_FACES and status["skipped"] == 1
    assert status["checkpoint"] == str(last)

    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    for r in records:
        assert {"loss_d", "loss_g", "loss_fm"} <= r.keys()
        assert all(math.isfinite(r[k]) for k in ("loss_d", "loss_g", "loss_fm"))

    samples = out / "samples"
    assert (samples / "step-000002.png").is_file() and (samples / "step-000004.png").is_file()
    assert (samples / "latest.png").read_bytes() == (samples / "step-000004.png").read_bytes()
    with Image.open(samples / "latest.png") as im:
        assert im.mode == "RGB" and im.size[0] > 64

    # keep_last=2: only the two newest of the four checkpoints remain
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert ckpts == ["step-000003", "step-000004"]
    assert last == out / "checkpoints" / "step-000004" == latest_checkpoint(out)
    for name in ("config.json", "model.safetensors", "training_state.pt", "README.md"):
        assert (last / name).is_file(), name

    model = hub.load_folder(last)
    assert isinstance(model, dcgan.Model) and not model.training
    assert model.config.ngf == 8
    images = model.generate(model.sample_latent(3, generator=torch.Generator().manual_seed(0)))
    assert images.shape == (3, 3, 64, 64) and torch.isfinite(images).all()
    assert images.abs().max() <= 1 and images.std() > 0


def test_resume_is_exact(face_set, tmp_path):
    """4 steps straight == 2 steps, checkpoint, a new Trainer(resume=True), 2 more: bit for bit."""
    straight = Trainer("dcgan", face_set, tmp_path / "a", tiny_model(), tiny_train(steps=4))
    straight.run()

    first = Trainer("dcgan", face_set, tmp_path / "b", tiny_model(), tiny_train(steps=2))
    first.run()
    assert latest_checkpoint(tmp_path / "b").name == "step-000002"
    torch.manual_seed(999)  # the checkpoint, not the process, must carry the RNG
    resumed = Trainer("dcgan", face_set, tmp_path / "b", cfg=TrainConfig(steps=4), resume=True)
    assert resumed.step == 2 and resumed.cfg.batch_size == 4 and resumed.model_config.ngf == 8
    resumed.run()
    assert resumed.step == 4

    _assert_tree_equal(straight.model.state_dict(), resumed.model.state_dict(), "model")
    _assert_tree_equal(straight.ema.module.state_dict(), resumed.ema.module.state_dict(), "ema")
    _assert_tree_equal(straight.step_fn.state_dict(), resumed.step_fn.state_dict(), "optimisers")
    a = (tmp_path / "a" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    b = (tmp_path / "b" / "checkpoints" / "step-000004" / "model.safetensors").read_bytes()
    assert a == b
    # and the straight run really moved away from step 2
    two = torch.load(tmp_path / "b" / "checkpoints" / "step-000002" / "training_state.pt", weights_only=True)
    assert not torch.equal(two["model"]["generator.net.0.weight"],
                           straight.model.state_dict()["generator.net.0.weight"])


def test_resume_after_a_crash_keeps_one_log_line_per_step(face_set, tmp_path):
    """Steps logged after the last checkpoint are trained again on resume: their old log
    lines go, so metrics.jsonl (the app's loss plot) has each step once."""
    import shutil

    out = tmp_path / "run"
    cfg = tiny_train(steps=3, log_every=1, checkpoint_every=2, keep_last=5)
    Trainer("dcgan", face_set, out, tiny_model(), cfg).run()
    shutil.rmtree(out / "checkpoints" / "step-000003")  # as if it died before writing it
    Trainer("dcgan", face_set, out, cfg=tiny_train(steps=4), resume=True).run()
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_a_checkpoint_write_killed_midway_is_tidied_on_resume(face_set, tmp_path):
    """kill -9 inside save_checkpoint leaves checkpoints/.tmp-* (and, between hub.replace_dir's
    two renames, .step-N.old): a Trainer removes the first, restores the second when step-N is
    gone, and touches nothing else; the resume then trains on."""
    import shutil

    out = tmp_path / "run"
    Trainer("dcgan", face_set, out, tiny_model(), tiny_train(steps=2, checkpoint_every=1, keep_last=5)).run()
    ckpts = out / "checkpoints"
    partial = ckpts / ".tmp-abc"  # the save of step 3, killed while writing
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"\0" * 100)
    os.replace(ckpts / "step-000002", ckpts / ".step-000002.old")  # a re-save of step 2 killed between renames
    (ckpts / ".tmp-x_9").mkdir()
    shutil.copytree(ckpts / "step-000001", ckpts / ".step-000001.old")  # step-000001 is there: this one goes
    (ckpts / ".tmp-note").write_text("a file, not a folder of save_checkpoint's")  # not leftovers: kept
    elsewhere = tmp_path / ".tmp-keep"
    elsewhere.mkdir()
    (ckpts / ".tmp-link").symlink_to(elsewhere, target_is_directory=True)
    (out / ".tmp-outside").mkdir()

    resumed = Trainer("dcgan", face_set, out, cfg=tiny_train(steps=3), resume=True)
    assert resumed.step == 2  # from the restored step-000002
    assert sorted(p.name for p in ckpts.iterdir()) == [".tmp-link", ".tmp-note", "step-000001", "step-000002"]
    assert elsewhere.is_dir() and (out / ".tmp-outside").is_dir()
    assert len(resumed.cleaned) == 4
    resumed.run()
    assert resumed.step == 3 and latest_checkpoint(out).name == "step-000003"
    assert not any(p.name.startswith(".tmp-") for p in ckpts.iterdir() if p.is_dir() and not p.is_symlink())
    hub.load_folder(latest_checkpoint(out))

    fresh = tmp_path / "fresh"  # a new run in a folder with a leftover: tidied when it starts too
    (fresh / "checkpoints" / ".tmp-zz").mkdir(parents=True)
    Trainer("dcgan", face_set, fresh, tiny_model(), tiny_train(steps=1))
    assert not (fresh / "checkpoints" / ".tmp-zz").exists()


def test_resume_without_a_run_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        Trainer("dcgan", None, tmp_path / "empty", resume=True)


def test_a_resumed_run_takes_new_reporting_settings_and_refuses_other_changes(face_set, tmp_path):
    """A resume may lengthen the run and change how it reports (e.g. quick quality figures it did
    not log before); a change of what is trained (the batch size) is refused, not silently lost."""
    out = tmp_path / "run"
    Trainer("dcgan", face_set, out, tiny_model(), tiny_train(steps=2, checkpoint_every=2)).run()
    with pytest.raises(ValueError, match=r"keeps its own batch_size \(4\)"):
        Trainer("dcgan", face_set, out, resume=True, changes={"batch_size": 8})
    resumed = Trainer("dcgan", face_set, out, resume=True,
                      changes={"steps": 3, "batch_size": 4, "eval_every": 12, "checkpoint_every": 3})
    assert (resumed.cfg.steps, resumed.cfg.eval_every, resumed.cfg.checkpoint_every) == (3, 12, 3)
    assert resumed.cfg.batch_size == 4 and resumed.step == 2
    saved = json.loads((out / "run.json").read_text())["train_config"]
    assert (saved["eval_every"], saved["steps"]) == (12, 3)  # the next resume keeps them


def test_absurd_learning_rate_is_caught(face_set, tmp_path):
    out = tmp_path / "run"
    absurd = tiny_model()
    absurd.lr = 1e30  # past Config's check (lr <= 1), set afterwards: this tests the NaN guard
    with pytest.raises(TrainingDiverged, match=r"NaN/inf .*Last good checkpoint: none"):
        Trainer("dcgan", face_set, out, absurd, tiny_train(steps=4)).run()
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "failed" and "NaN/inf" in status["error"]
    assert latest_checkpoint(out) is None


def test_nan_guard_keeps_the_last_good_checkpoint(face_set, tmp_path):
    out = tmp_path / "run"
    trainer = Trainer("dcgan", face_set, out, tiny_model(), tiny_train(steps=6, checkpoint_every=2))

    def blow_up_after_step_2(status):
        # a real divergence: after the step-2 checkpoint the learning rate becomes absurd
        if status["step"] == 2:
            for opt in (trainer.step_fn.opt_g, trainer.step_fn.opt_d):
                for group in opt.param_groups:
                    group["lr"] = 1e30

    with pytest.raises(TrainingDiverged) as info:
        trainer.run(blow_up_after_step_2)
    message = str(info.value)
    assert "NaN/inf" in message and "step-000002" in message and "lower learning rate" in message

    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "failed" and status["error"] == message
    assert status["step"] in (3, 4)
    ckpt = latest_checkpoint(out)
    assert ckpt is not None and ckpt.name == "step-000002"  # nothing was saved after the NaN
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]

    model = hub.load_folder(ckpt)
    assert all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point())
    assert torch.isfinite(model.generate(model.sample_latent(2))).all()
    state = torch.load(ckpt / "training_state.pt", weights_only=True)
    assert state["step"] == 2
    assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())


# ----------------------------------------------------------------------------- the CLI


def facegan_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "facegan", *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("facegan: error: ") and "Traceback" not in proc.stderr
    return lines[0]


def test_cli_train_then_generate(face_folder, tmp_path):
    out = tmp_path / "run"
    proc = facegan_cli("train", "dcgan", "--data", face_folder, "--out", out, "--steps", 3, "--batch-size", 4,
                       "--model", json.dumps(TINY), "--device", "cpu", "--quiet")
    assert proc.returncode == 0, proc.stderr
    ckpt = out / "checkpoints" / "step-000003"
    assert str(ckpt) in proc.stdout
    assert json.loads((out / "status.json").read_text())["state"] == "finished"

    code = "82763953b2740fef4d321dde7af002f7"
    pngs = [tmp_path / "x.png", tmp_path / "y.png"]
    for png in pngs:
        gen = facegan_cli("generate", "dcgan", "--checkpoint", ckpt, "--code", code, "--out", png)
        assert gen.returncode == 0, gen.stderr
    with Image.open(pngs[0]) as im:
        assert im.size == (64, 64) and im.mode == "RGB"
    assert pngs[0].read_bytes() == pngs[1].read_bytes()

    bad = facegan_cli("generate", "dcgan", "--checkpoint", ckpt, "--code", "xyz", "--out", tmp_path / "z.png")
    assert "32 hex digits" in _one_line_error(bad)
    assert not (tmp_path / "z.png").exists()


def test_cli_train_refuses_an_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    proc = facegan_cli("train", "dcgan", "--data", empty, "--out", out, "--steps", 3, "--batch-size", 4,
                       "--model", json.dumps(TINY), "--quiet")
    assert "no images" in _one_line_error(proc) and str(empty) in proc.stderr
    assert not out.exists()  # refused before anything was written


def test_init_starts_from_an_exported_model(face_set, tmp_path):
    """--init: G, EMA and D are the exported model's (not this run's random init); the optimisers are fresh."""
    first = Trainer("dcgan", face_set, tmp_path / "a", tiny_model(), tiny_train(steps=2))
    exported = first.run()
    source = hub.load(exported)
    warm = Trainer("dcgan", face_set, tmp_path / "b", tiny_model(), tiny_train(steps=2, seed=5), init=exported)
    for name, own in warm.model.state_dict().items():
        assert torch.equal(own, source.state_dict()[name]), name
    _assert_tree_equal(warm.ema.module.state_dict(), source.generator.state_dict())
    assert warm.step == 0 and json.loads((tmp_path / "b" / "run.json").read_text())["init"] == str(exported)
    cold = Trainer("dcgan", face_set, tmp_path / "c", tiny_model(), tiny_train(steps=2, seed=5))
    assert not torch.equal(next(cold.model.discriminator.parameters()), next(warm.model.discriminator.parameters()))
    warm.run()  # it trains on from there


def _largest_change(before: dict, net: torch.nn.Module) -> float:
    return max((p.detach() - before[k]).abs().max().item() for k, p in net.named_parameters())


def test_an_init_run_warms_its_learning_rates_up(face_set, tmp_path):
    """Fresh Adam moments on a trained model: the first step of an --init run moves each weight by
    about lr / warmup (Adam's first step is lr * g / |g|), a run without warm-up by lr; the
    optimisers' lr is the schedule's again after the step (it is what a checkpoint saves)."""
    exported = Trainer("dcgan", face_set, tmp_path / "a", tiny_model(), tiny_train(steps=1)).run()
    lr = tiny_model().lr
    for warmup, expected in ((4, lr / 4), (0, lr), (None, lr / INIT_WARMUP)):
        warm = Trainer("dcgan", face_set, tmp_path / f"w{warmup}", tiny_model(),
                       tiny_train(steps=1, warmup=warmup), init=exported)
        before = {k: v.detach().clone() for k, v in warm.model.discriminator.named_parameters()}
        warm.run()
        # (abs: a float32 weight near 1 moves in steps of 6e-8)
        assert _largest_change(before, warm.model.discriminator) == pytest.approx(expected, rel=1e-3, abs=6e-8)
        assert warm.step_fn.opt_d.param_groups[0]["lr"] == lr
    cold = Trainer("dcgan", face_set, tmp_path / "cold", tiny_model(), tiny_train(steps=1))
    before = {k: v.detach().clone() for k, v in cold.model.discriminator.named_parameters()}
    cold.run()  # no --init: no warm-up unless asked
    assert _largest_change(before, cold.model.discriminator) == pytest.approx(lr, rel=1e-3)


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_it_in_hardware_is_warned_of(face_set, tmp_path, monkeypatch, native):
    """--cpu-bf16 on an AVX2 CPU is emulated (a StyleGAN step 15x slower): said at the start, in
    status.json and by the CLI; on a CPU with AVX512-BF16 / AMX nothing is said."""
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    trainer = Trainer("dcgan", face_set, tmp_path / "run", tiny_model(), tiny_train(steps=1, cpu_amp=True))
    trainer.run()
    said = json.loads((tmp_path / "run" / "status.json").read_text())["warnings"]
    assert said == trainer.warnings and bool(said) is not native
    assert native or "emulated" in said[0]
    plain = Trainer("dcgan", face_set, tmp_path / "plain", tiny_model(), tiny_train(steps=1))
    assert plain.warnings == []  # float32: nothing to say


def test_init_with_other_shapes_is_one_clear_error(face_set, tmp_path):
    exported = Trainer("dcgan", face_set, tmp_path / "a", tiny_model(), tiny_train(steps=1)).run()
    with pytest.raises(ValueError, match="other shapes"):
        Trainer("dcgan", face_set, tmp_path / "b", dcgan.Config(ngf=16, ndf=8), tiny_train(), init=exported)


def test_a_run_records_images_seen_and_cpu_hours_with_what_init_had(face_set, tmp_path):
    first = Trainer("dcgan", face_set, tmp_path / "a", tiny_model(), tiny_train(steps=2))
    exported = first.run()
    summary = json.loads((exported / "config.json").read_text())["summary"]
    assert summary["images_seen"] == 8 and summary["cpu_hours"] > 0 and summary["interim"] is True
    st = json.loads((tmp_path / "a" / "status.json").read_text())
    assert st["images_seen"] == 8 and st["cpu_hours"] == pytest.approx(summary["cpu_hours"], abs=1e-3)
    warm = Trainer("dcgan", face_set, tmp_path / "b", tiny_model(), tiny_train(steps=3), init=exported)
    last = warm.run()
    later = json.loads((last / "config.json").read_text())["summary"]
    assert later["images_seen"] == 8 + 12 and later["cpu_hours"] > summary["cpu_hours"]
    assert "| images seen | 20 " in (last / "README.md").read_text()
    # resumed, the CPU time goes on from the checkpoint's
    more = Trainer("dcgan", face_set, tmp_path / "b", cfg=tiny_train(steps=4), resume=True)
    assert more.cpu_s > 0 and more.cost()["images_seen"] == 8 + 12


def test_a_run_logs_quick_quality_figures_for_its_curve(face_set, tmp_path):
    """eval_every images: a line of quality.jsonl with FID and anime-FD, images seen and CPU-hours."""
    out = tmp_path / "q"
    cfg = tiny_train(steps=4, eval_every=8, eval_n=6, checkpoint_every=2)
    Trainer("dcgan", face_set, out, tiny_model(), cfg).run()
    lines = [json.loads(x) for x in (out / "quality.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4] and [r["images_seen"] for r in lines] == [8, 16]
    assert all(r["fid"] > 0 and r["anime_fd"] > 0 and r["n"] == 6 and r["cpu_hours"] > 0 for r in lines)
    assert all(0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 for r in lines)
    # the figures' own time (seconds each, Inception on the CPU) is not counted as the model's cost
    assert lines[-1]["cpu_hours"] * 3600 < sum(r["seconds"] for r in lines) / 4
    # resumed from step 2's checkpoint: the later line goes, as the loss log's do
    shutil.rmtree(out / "checkpoints" / "step-000004")
    Trainer("dcgan", face_set, out, cfg=cfg, resume=True)
    assert [json.loads(x)["step"] for x in (out / "quality.jsonl").read_text().splitlines()] == [2]
    # no checkpoint at all (killed before the first): a restart starts clean logs
    shutil.rmtree(out / "checkpoints")
    Trainer("dcgan", face_set, out, cfg=cfg, resume=True)
    assert not (out / "quality.jsonl").exists() and not (out / "metrics.jsonl").exists()
