"""AC-GAN quality: FID, class accuracy read by a separate classifier, intra-class diversity.

    python benchmarks/acgan_quality.py [--checkpoint DIR|repo@rev ...] [--data ../shared/data/anime-faces-64]
        [--per-class 32] [--fid-n 1000] [--write]
    python benchmarks/acgan_quality.py --variants [dcgan:ac dcgan:both+real resnet:ac resnet:both+real]
        [--groups hair hair+eyes] [--steps 2000] [--ngf 32] [--out runs/acgan-variants]

For each checkpoint (default: the bundled AC-GAN), or each variant trained here first:
- ``accuracy``: --per-class faces of every class (fixed seeds), read by the small CNN the StarGAN
  benchmark trains on the real anime faces (benchmarks/stargan_quality.py, cached in --cache:
  one classifier for both benchmarks, its hair and eye heads). A hair class counts as read when
  the hair head says it, an eye class the eye head, a hair + eye class both. Beside it the same
  classifier on the held-out real faces of those classes (its ceiling);
- ``diversity``: per class, the mean pairwise distance of the Inception features of its
  generated faces divided by the same for (up to as many) real faces of that class: 1.0 is as
  diverse as the data, near 0 one face (article 004's finding with many small classes);
- ``FID`` of --fid-n faces, classes drawn as often as the data has them, against as many real ones.

``--write`` stores the figures in a local checkpoint's config.json under "measured", where the
app's AC-GAN tab shows them beside the grid. ``--variants`` trains each backbone:head pair on
each class group with facegan's Trainer (in-memory data, --steps at width --ngf; resumed when
its run folder exists) and measures the EMA generators: the article's comparison (head "ac",
the paper's losses) and the remedies (head "both": a projection discriminator beside the
auxiliary classifier; "+real": D's class loss on real faces only; "+da": DiffAugment), in numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from stargan_quality import as_float, split, targets, train_classifier

from facegan import data as data_lib
from facegan import hub, metrics
from facegan.attributes import predict
from facegan.models import acgan, stargan
from facegan.train import TrainConfig, Trainer, latest_checkpoint

ARTICLE = ("article 004: with all classes and few images per class each class collapsed to nearly one face; "
           "the ResNet variant's classes were weak")


@dataclasses.dataclass
class Real:
    """The anime set decoded once: images, (N, 2) hair / eye indices, and the classifier's held-out part."""

    images: torch.Tensor
    labels: torch.Tensor
    held_out: torch.Tensor  # indices of the classifier's test images
    spec: object


def load_real(path: Path, classifier_steps: int, cache: Path):
    spec = stargan.default_labels()
    train, test = split(path, spec, 0, 64)
    net = train_classifier(train, spec, 0, classifier_steps, cache)
    images = torch.cat([test.images, train.images])
    labels = torch.cat([targets(test.labels, test.spec, 0), targets(train.labels, train.spec, 0)])
    return Real(images, labels, torch.arange(len(test)), spec), net


def wanted(model, spec) -> torch.Tensor:
    """Each class -> (hair, eyes) indices in the classifier's order, -1 where the class says nothing."""
    hair, eyes = (g.values for _, g, _ in spec.groups(0))
    out = []
    for name in model.classes:
        group = model.config.group
        if group == "hair":
            out.append((hair.index(name), -1))
        elif group == "eyes":
            out.append((-1, eyes.index(name)))
        elif group == "hair+eyes":
            h, e = name.removesuffix(" eyes").split(" hair ")
            out.append((hair.index(h), eyes.index(e)))
        else:
            raise SystemExit(f"class group {group!r}: this benchmark reads anime hair / eye colours only")
    return torch.tensor(out)


def read_as(pred: torch.Tensor, want: torch.Tensor) -> torch.Tensor:
    """(N, 2) classifier readings, (N, 2) wanted (-1: any) -> (N,) bool."""
    return ((pred == want) | (want < 0)).all(1)


def of_class(real: Real, want: torch.Tensor) -> torch.Tensor:
    return read_as(real.labels, want.expand_as(real.labels)).nonzero().flatten()


@torch.no_grad()
def generate(model, classes: torch.Tensor, seed: int, batch: int = 128) -> torch.Tensor:
    z = model.sample_latent(len(classes), generator=torch.Generator().manual_seed(seed))
    return torch.cat([model.generate(zp, cp) for zp, cp in zip(metrics.batches(z, batch), metrics.batches(classes, batch))])


def measure(model, real: Real, net, inception, per_class: int, fid_n: int, seed: int = 0) -> dict:
    want = wanted(model, real.spec)
    k = len(want)
    g = torch.Generator().manual_seed(seed)
    members = [of_class(real, w) for w in want]
    rows = {}
    for c, name in enumerate(model.classes):
        fake = generate(model, torch.full((per_class,), c), seed + c)
        hit = read_as(predict(net, fake), want[c].expand(per_class, 2)).float().mean().item()
        row = {"images": len(members[c]), "accuracy": round(hit, 4), "diversity": None}
        if len(members[c]) >= 2:
            pick = members[c][torch.randperm(len(members[c]), generator=g)[:per_class]]
            f_fake = inception.features(metrics.batches(fake, 64))
            f_real = inception.features(metrics.batches(as_float(real.images[pick]), 64))
            row["diversity"] = round(metrics.diversity(f_fake) / metrics.diversity(f_real), 4)
        rows[name] = row
    ours = torch.cat(members)
    held = ours[torch.isin(ours, real.held_out)]
    real_acc = float("nan")
    if len(held):
        who = torch.cat([torch.full((len(m),), c) for c, m in enumerate(members)])[torch.isin(ours, real.held_out)]
        real_acc = read_as(predict(net, as_float(real.images[held])), want[who]).float().mean().item()
    freq = torch.tensor([len(m) for m in members], dtype=torch.float)
    classes = torch.multinomial(freq, fid_n, replacement=True, generator=g)
    f_fake = inception.features(metrics.batches(generate(model, classes, seed + 10_000), 64))
    pick = ours[torch.randperm(len(ours), generator=g)[:fid_n]]
    f_real = inception.features(metrics.batches(as_float(real.images[pick]), 64))
    divs = [r["diversity"] for r in rows.values() if r["diversity"] is not None]
    return {
        "by": "benchmarks/acgan_quality.py", "date": time.strftime("%Y-%m-%d"),
        "fid": round(metrics.fid(f_real, f_fake), 2), "fid_n": fid_n, "per_class": per_class,
        "accuracy": round(statistics.fmean(r["accuracy"] for r in rows.values()), 4),
        "real_accuracy": round(real_acc, 4),
        "diversity": round(statistics.fmean(divs), 4) if divs else None,
        "diversity_min": round(min(divs), 4) if divs else None,
        "collapsed": sum(d < 0.5 for d in divs), "classes": rows, "n_classes": k,
    }


def show(title: str, m: dict, per_class: bool) -> None:
    print(f"\n{title}: {m['n_classes']} classes, FID {m['fid']:.1f} ({m['fid_n']} faces), class accuracy "
          f"{100 * m['accuracy']:.1f} % (real faces: {100 * m['real_accuracy']:.1f} %), diversity mean "
          f"{m['diversity']:.2f}, min {m['diversity_min']:.2f}, {m['collapsed']} classes below 0.5")
    if per_class:
        for name, r in m["classes"].items():
            d = "  n/a" if r["diversity"] is None else f"{r['diversity']:.2f}"
            print(f"  {name:28s} {r['images']:6d} real  accuracy {100 * r['accuracy']:5.1f} %  diversity {d}")


def write_measured(folder: Path, m: dict) -> None:
    path = folder / hub.CONFIG_NAME
    config = json.loads(path.read_text())
    config["measured"] = m
    tmp = path.with_name(".config.json.tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote the figures into {path} (\"measured\")")


def train_variant(data_path: Path, group: str, variant: str, args, loaded: dict) -> Path:
    backbone, head, *extras = variant.replace("+", ":").split(":")
    if set(extras) - {"da", "real"}:
        raise SystemExit(f"variant {variant!r}: backbone:head, then +da (DiffAugment) and / or +real (D's class "
                         "loss on real faces only)")
    fields = acgan.data_config(data_path, {"group": group})
    cfg = acgan.Config(nz=32, ngf=args.ngf, ndf=args.ngf, backbone=backbone, head=head, diffaugment="da" in extras,
                       d_cls_fake="real" not in extras, **fields)
    out = Path(args.out) / "-".join([group.replace("+", "-"), backbone, head, *sorted(extras)])
    if (ckpt := latest_checkpoint(out)) and ckpt.name == f"step-{args.steps:06d}":
        return ckpt
    if group not in loaded:
        loaded[group] = acgan.load_data(data_path, cfg)
    train_cfg = TrainConfig(steps=args.steps, batch_size=64, checkpoint_every=max(500, args.steps // 4),
                            sample_every=max(500, args.steps // 4), log_seconds=60.0, cpu_amp=True)
    t0 = time.perf_counter()
    trainer = Trainer("acgan", loaded[group], out, cfg, train_cfg, resume=(out / "run.json").is_file())
    last = trainer.run(None)
    print(f"trained {out.name}: {args.steps} steps in {time.perf_counter() - t0:.0f} s -> {last}")
    return Path(last)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", nargs="*", default=[], help="folders or repo@revision (default: the bundled AC-GAN)")
    p.add_argument("--data", default=str(data_lib.data_root() / "anime-faces-64"))
    p.add_argument("--per-class", type=int, default=32, dest="per_class", help="faces per class (default 32)")
    p.add_argument("--fid-n", type=int, default=1000, dest="fid_n", help="faces for FID (default 1000)")
    p.add_argument("--classes", action="store_true", help="print every class's figures")
    p.add_argument("--write", action="store_true", help="store the figures in the (local) checkpoint's config.json")
    p.add_argument("--variants", nargs="*", help="backbone:head pairs to train and measure, each optionally "
                                                 "+da (DiffAugment), +real (D's class loss on real faces only) "
                                                 "(default dcgan:ac dcgan:both+real resnet:ac resnet:both+real)")
    p.add_argument("--groups", nargs="+", default=["hair", "hair+eyes"], help="class groups of --variants")
    p.add_argument("--steps", type=int, default=2000, help="training steps of each variant (default 2000)")
    p.add_argument("--ngf", type=int, default=32, help="G and D width of the variants (default 32)")
    p.add_argument("--out", default=str(ROOT / "runs" / "acgan-variants"))
    p.add_argument("--classifier-steps", type=int, default=1500)
    p.add_argument("--cache", default=str(ROOT / "runs" / "stargan-classifiers"))
    args = p.parse_args()

    t_start = time.perf_counter()
    data_path = Path(args.data)
    real, net = load_real(data_path, args.classifier_steps, Path(args.cache))
    inception = metrics.Inception()
    print(f"{len(real.images)} real faces from {data_path}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = []
    if args.variants is not None:
        loaded: dict = {}
        for group in args.groups:
            for variant in args.variants or ["dcgan:ac", "dcgan:both+real", "resnet:ac", "resnet:both+real"]:
                ckpt = train_variant(data_path, group, variant, args, loaded)
                m = measure(hub.load_folder(ckpt), real, net, inception, args.per_class, args.fid_n)
                steps = int(ckpt.name.removeprefix("step-"))  # a run stopped early says so
                results.append((f"{group} {variant} ({steps} steps, ngf {args.ngf})", m))
                show(results[-1][0], m, args.classes)
    else:
        refs = args.checkpoint or [str(hub.default_checkpoint("acgan").folder)]
        for ref in refs:
            folder = hub.resolve(ref)
            m = measure(hub.load_folder(folder), real, net, inception, args.per_class, args.fid_n)
            results.append((ref, m))
            show(ref, m, args.classes)
            if args.write:
                write_measured(folder, m)
    if len(results) > 1:
        print(f"\n{'model':58s} {'FID':>6s} {'acc %':>6s} {'div':>5s} {'min':>5s} {'<0.5':>5s}")
        for title, m in results:
            print(f"{title:58s} {m['fid']:6.1f} {100 * m['accuracy']:6.1f} {m['diversity']:5.2f} "
                  f"{m['diversity_min']:5.2f} {m['collapsed']:5d}")
    print(f"\n{ARTICLE}; {time.perf_counter() - t_start:.0f} s in all")


if __name__ == "__main__":
    main()
