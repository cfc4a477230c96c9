"""facegan train: a run on an image folder, resumable, on one or several GPUs."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from facegan import checks, models
from facegan.checks import arg_whole


def _train(args) -> int:
    from tqdm import tqdm

    from facegan import distributed
    from facegan.train import TrainConfig, Trainer, read_json

    if args.gpus and args.gpus > 1 and not distributed.launched():
        return _launch(args.argv, args.gpus)
    technique = models.spec(args.technique)
    if not args.resume and not args.data:
        raise ValueError("--data is required (an image folder), unless --resume continues a run")
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if getattr(args, f.name, None) is not None}
    if args.resume and args.model:  # the same settings again are fine; others would be silently lost
        saved = (read_json(Path(args.out) / "run.json") or {}).get("model_config", {})
        if other := sorted(k for k, v in args.model.items() if saved.get(k, v) != v or k not in saved):
            raise ValueError(f"--model cannot change a resumed run (it keeps its own {', '.join(other)})")
    cfg = None if args.resume else TrainConfig(**overrides)
    given = dict(args.model or {})
    if args.init and not args.resume:
        # the exported model's config, then --model's changes; what the technique reads from its
        # data (StarGAN's labels, AC-GAN's classes) comes from --data, so a run can add labels
        from facegan import hub

        fields = {f.name for f in dataclasses.fields(technique.Config)} - {"discriminators", *technique.data_fields}
        given = {k: v for k, v in hub.read_config(hub.resolve(args.init, args.technique)).items()
                 if k in fields} | given
    model_cfg = None if args.resume else models.make_config(
        args.technique, {**models.read_from_data(args.technique, args.data, given), **given})
    trainer = Trainer(args.technique, args.data, args.out, model_cfg, cfg, resume=args.resume, init=args.init,
                      changes=overrides if args.resume else None)
    start = trainer.step
    bar = tqdm(total=trainer.cfg.steps, initial=start, unit="step", dynamic_ncols=True,
               disable=args.quiet or not trainer.main, desc=f"{args.technique}")

    def progress(status):
        bar.n = status["step"]
        bar.set_postfix({k: f"{v:.3f}" for k, v in status.get("losses", {}).items()}
                        | {"img/s": f"{status.get('images_per_s', 0):.0f}"}, refresh=False)
        bar.refresh()

    if trainer.main:
        where = trainer.device if distributed.world_size() == 1 else f"{distributed.world_size()} processes ({trainer.device})"
        print(f"training {args.technique} on {len(trainer.data)} images ({len(trainer.data.skipped)} unreadable "
              f"skipped) from {trainer.data_name} on {where}, batch {trainer.cfg.batch_size}, step {start} -> "
              f"{trainer.cfg.steps}", file=sys.stderr)
        for warning in trainer.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    try:
        last = trainer.run(progress)
    finally:
        distributed.close()
    bar.close()
    if trainer.main:
        print(f"{trainer.status['state']} at step {trainer.step}: {last}")
    return 0


def _launch(argv: list[str], gpus: int) -> int:
    """``facegan train --gpus N``: the same command under torchrun, N processes on this machine."""
    import subprocess

    from facegan import distributed

    try:
        launcher = distributed.launcher(gpus)
    except ValueError as e:
        raise ValueError(f"--gpus {gpus}: {e}") from None
    rest, skip = [], False
    for a in argv:  # the command without --gpus N / --gpus=N
        if skip or a.startswith("--gpus="):
            skip = False
        elif a == "--gpus":
            skip = True
        else:
            rest.append(a)
    return subprocess.call([*launcher, "-m", "facegan", *rest])


def add(sub, model_args: argparse.ArgumentParser, render_args: argparse.ArgumentParser) -> None:
    """The parsers of these verbs."""
    t = sub.add_parser("train", help="train a model on a folder of images",
                       description="Train a technique on an image folder; resumable with --resume.")
    t.add_argument("technique", choices=list(models.TECHNIQUES))
    t.add_argument("--data", help="image folder (recursive; jpg/png/webp), for ugatit a folder with trainA/ trainB/ "
                                  "(testA/ testB/), for stargan a labelled folder (tags.csv or class folders), one "
                                  "per data set of the labels joined with os.pathsep, for acgan one labelled folder "
                                  "(its classes: --model '{\"group\": \"hair\"}', or eyes, hair+eyes, and "
                                  "\"top_k\"); with --resume defaults to the run's")
    t.add_argument("--out", required=True, help="output folder: checkpoints, samples, metrics, status")
    t.add_argument("--steps", type=arg_whole("steps", 1, checks.MAX_STEPS), help="total steps (default 10000)")
    t.add_argument("--batch-size", type=arg_whole("batch-size", 1, checks.MAX_BATCH), dest="batch_size",
                   help="default: the technique's own (the paper's or the official batch; the run's first line says it)")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    t.add_argument("--init", help="start from an exported model (a checkpoint folder, a bundled name's folder or "
                                  "'<hub repo>@<revision>'): its G, EMA and D when it has one; fresh optimisers")
    t.add_argument("--warmup", type=arg_whole("warmup", 0, checks.MAX_STEPS),
                   help="steps over which the learning rates rise linearly to theirs (fresh optimisers on a "
                        "trained model take full-size steps at first); default 500 with --init, else 0")
    t.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED))
    t.add_argument("--device", type=checks.arg_device("--device"), help="auto (default), cpu, cuda, cuda:1")
    t.add_argument("--log-every", type=arg_whole("log-every", 1, checks.MAX_EVERY), dest="log_every")
    t.add_argument("--sample-every", type=arg_whole("sample-every", 1, checks.MAX_EVERY), dest="sample_every")
    t.add_argument("--checkpoint-every", type=arg_whole("checkpoint-every", 1, checks.MAX_EVERY),
                   dest="checkpoint_every")
    t.add_argument("--keep-last", type=arg_whole("keep-last", 1, checks.MAX_KEEP), dest="keep_last",
                   help="checkpoints kept (default 3)")
    t.add_argument("--limit", type=arg_whole("limit", 0, checks.MAX_IMAGES),
                   help="use only the first N images (0, the default: all)")
    t.add_argument("--eval-every", type=arg_whole("eval-every", 0, 10**12), dest="eval_every",
                   help="images between quick quality figures (FID and anime-FD of --eval-n faces against as many "
                        "training images) in the run's quality.jsonl, for benchmarks/quality_curve.py; dcgan, acgan, "
                        "stylegan (default 0: none)")
    t.add_argument("--eval-n", type=arg_whole("eval-n", 2, checks.MAX_EVAL_IMAGES), dest="eval_n",
                   help="faces of each quick figure (default 2000)")
    t.add_argument("--compile", action="store_true", default=None, help="torch.compile G and D (GPU)")
    t.add_argument("--cpu-bf16", action="store_true", default=None, dest="cpu_amp",
                   help="bf16 autocast on the CPU (GPUs always use it): ~1.6x faster steps on x86 CPUs with AVX-512 bf16; "
                        "emulated and ~15x slower on others (AVX2): a warning says so")
    t.add_argument("--model", type=checks.arg_json("the model config"),
                   help='model config overrides as JSON, e.g. \'{"ngf": 32}\'')
    t.add_argument("--gpus", type=arg_whole("gpus", 1, 1024),
                   help="train on N GPUs of this machine (DistributedDataParallel; --batch-size is the global "
                        "batch): runs the command under torchrun --nproc-per-node N. Several machines: start "
                        "torchrun yourself, e.g. torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d "
                        "--rdzv-endpoint HOST:29400 -m facegan train ...")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
