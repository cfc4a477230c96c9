"""facegan export and push: a shippable checkpoint folder, and sharing it on the Hub."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

from facegan import checks, models
from facegan.cli.common import load_model


def _export(args) -> int:
    import json
    import shutil

    import torch

    from facegan import hub

    src = hub.resolve(args.checkpoint)
    includes = _includes(src, args.include or [], args.include_outside)  # every check before anything is written
    if args.manifest is not None:
        _check_manifest_entry(args.manifest, Path(args.out), hub.MANIFEST.parent)
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
    for extra in includes:
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


MANIFEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _includes(src: Path, files: list[str], outside: bool) -> list[Path]:
    """--include's files, each a readable file under the exported folder or its run's folder (the
    folder ``facegan push`` uploads must not gather files of the machine unasked); --include-outside
    allows the others."""
    run = next((p for p in (src, *src.parents[:2]) if (p / "run.json").is_file()), src)
    found = []
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"--include {name}: no such file")
        if not outside and not path.resolve().is_relative_to(run.resolve()):
            raise ValueError(f"--include {name} is outside {run} (the run or checkpoint exported): give "
                             "--include-outside to copy it into the folder anyway")
        found.append(path)
    return found


def _check_manifest_entry(name: str, out: Path, checkpoints: Path) -> None:
    if not MANIFEST_NAME.fullmatch(name):
        raise ValueError(f"--manifest {checks.quote(name)}: an entry is a name of letters, digits, '.', '_', '-' "
                         "(e.g. stylegan or stargan-anime-fer-64)")
    if not out.resolve().is_relative_to(checkpoints.resolve()):
        raise ValueError(f"--manifest records a bundled folder: --out {out} must be under {checkpoints}")


def _export_onnx(args) -> int:
    from facegan import onnx_export

    if args.technique not in onnx_export.TECHNIQUES:
        raise ValueError(f"export-onnx draws {', '.join(onnx_export.TECHNIQUES)}; {args.technique} translates "
                         "pictures on the server")
    path = onnx_export.export(load_model(args), args.out, fp16=args.fp16)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB) + {path.parent / onnx_export.INFO_NAME}")
    return 0


def _push(args) -> int:
    from facegan import hub

    sha, url = hub.push(args.folder, args.repo_id, revision=args.revision, private=args.private,
                        token=args.token, message=args.message)
    print(f"{args.repo_id}@{sha}  {url}")
    return 0


def add(sub, model_args: argparse.ArgumentParser, render_args: argparse.ArgumentParser) -> None:
    """The parsers of these verbs."""
    e = sub.add_parser("export", help="copy a checkpoint as a shippable folder (fp16, model card)",
                       description="Write a checkpoint's config.json + model.safetensors (+ README.md) to --out; "
                                   "--manifest NAME records its sha256 in checkpoints/manifest.json.")
    e.add_argument("checkpoint", help="checkpoint folder (e.g. runs/x/checkpoints/step-005000) or repo@revision")
    e.add_argument("--out", required=True)
    e.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    e.add_argument("--int8", action="store_true",
                   help="conv / linear weights as int8 with a scale per output channel, the rest float16 (about a "
                        "quarter of float32); dequantized when loaded")
    e.add_argument("--include", nargs="*", help="extra files to copy in (e.g. a sample grid), from the run or "
                                                "checkpoint folder exported")
    e.add_argument("--include-outside", action="store_true", dest="include_outside",
                   help="let --include copy files from elsewhere too")
    e.add_argument("--generators-only", action="store_true",
                   help="leave the discriminators out (ugatit, stylegan: drawing needs only the generators; about half the size)")
    e.add_argument("--manifest", help="update this entry of checkpoints/manifest.json")
    e.set_defaults(func=_export)

    ox = sub.add_parser("export-onnx", parents=[model_args], help="a generator as one ONNX graph (for browsers)",
                        description="Write the generator of a dcgan / acgan / stylegan checkpoint as --out/"
                                    "generator.onnx (torch's exporter, one file) and --out/onnx.json (its inputs), for "
                                    "onnxruntime, onnxruntime-web in a browser, or any ONNX runtime.")
    ox.add_argument("--out", required=True, help="the folder to write")
    ox.add_argument("--fp16", action="store_true",
                    help="weights stored as float16, cast to float32 when used (half the bytes; within 2/255)")
    ox.set_defaults(func=_export_onnx)

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
