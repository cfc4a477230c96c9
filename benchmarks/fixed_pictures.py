"""The 8 fixed pictures per edit / direction, input | before | after, that stay the same from
release to release so that progress can be seen (issue #22).

    python benchmarks/fixed_pictures.py stargan --before checkpoints/stargan-anime-64 --after RUN_EXPORT
    python benchmarks/fixed_pictures.py stargan --before checkpoints/stargan-anime-fer-64 --after ...
    python benchmarks/fixed_pictures.py make-inputs     # once: assets/fixed/anime-inputs.png (done)
    python benchmarks/fixed_pictures.py ugatit --before ... --after ... [--data ../shared/data/selfie2anime/128]
        [--out assets/fixed] [--inputs]

StarGAN: the inputs are ``assets/fixed/anime-inputs.png`` (8 faces drawn once by the session-4
StyleGAN from seeds 0..7 and committed: our own pictures, so they can be shown; never re-drawn, so
that they stay the same when the StyleGAN changes). Every edit of ``EDITS`` (those the model's
labels have) is one JPEG ``<name>-<group>-<value>.jpg`` (``--name``, default the --before folder's
name: ``stargan-anime-64-hair-blue.jpg``): rows input, before, after, 8 columns, the faces enlarged
to 96 px as the tab enlarges them; an eye-colour edit adds ``...-eyes.jpg``, the eye band of each
face enlarged 3x (nearest), to check that the change shows. Expression edits (the anime + FER model,
``--before checkpoints/stargan-anime-fer-64``) go on the same colour faces, which also shows their
colour is kept.

U-GAT-IT: the inputs are the first 8 pictures (sorted names) of selfie2anime's testA / testB. They
are data set pictures, so the pictures written hold before and after only, with the input names in a
text file beside them; ``--inputs`` adds the input row (for looking at locally; do not commit it).
Without the data set U-GAT-IT is skipped with the reason.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facegan import hub  # noqa: E402
from facegan.data import data_root  # noqa: E402
from facegan.editor import Editor, labelled_grid  # noqa: E402
from facegan.translator import Translator  # noqa: E402

N = 8
SHOWN = 96  # px per face in the strips
JPEG_QUALITY = 92  # the strips are committed at every release: a tenth of the PNG's bytes
INPUTS = ROOT / "assets" / "fixed" / "anime-inputs.png"
EDITS = [("hair", "blue"), ("hair", "blonde"), ("eyes", "red"), ("eyes", "green"),
         ("expression", "happy"), ("expression", "surprise")]
EYE_BAND = (0.40, 0.68)  # of the face's height: where the generated faces' eyes sit


def anime_inputs() -> list[Image.Image]:
    strip = Image.open(INPUTS).convert("RGB")
    side = strip.height
    return [strip.crop((i * side, 0, (i + 1) * side, side)) for i in range(strip.width // side)][:N]


def make_inputs(checkpoint: str) -> Path:
    """Draw the 8 StarGAN inputs once (seeds 0..7, psi 0.7) and write them side by side."""
    from facegan.studio import Studio

    studio = Studio(hub.load(checkpoint))
    faces = [studio.face(seed, psi=0.7).picture for seed in range(N)]
    side = faces[0].height
    strip = Image.new("RGB", (N * side, side))
    for i, f in enumerate(faces):
        strip.paste(f.convert("RGB"), (i * side, 0))
    INPUTS.parent.mkdir(parents=True, exist_ok=True)
    strip.save(INPUTS)
    return INPUTS


def rows_picture(rows: list[tuple[str, list[Image.Image]]], size: int | tuple[int, int] = SHOWN) -> Image.Image:
    """Rows of pictures, each row's name under its first picture."""
    w, h = (size, size) if isinstance(size, int) else size
    tiles = [(p.resize((w, h), Image.Resampling.LANCZOS if isinstance(size, int) else Image.Resampling.NEAREST),
              name if i == 0 else "") for name, pics in rows for i, p in enumerate(pics)]
    return labelled_grid(tiles, columns=len(rows[0][1]))


def eye_band(picture: Image.Image) -> Image.Image:
    top, bottom = (round(f * picture.height) for f in EYE_BAND)
    return picture.crop((0, top, picture.width, bottom))


def stargan(before: str, after: str, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    inputs = anime_inputs()
    eds = {row: Editor(hub.load(ref, technique="stargan")) for row, ref in (("before", before), ("after", after))}
    written = []
    for group, value in EDITS:
        if not all(group in ed.groups and value in ed.values(group) for ed in eds.values()):
            continue
        results = {row: [ed.edit(p, {group: value}, crop="none", display=None).output for p in inputs]
                   for row, ed in eds.items()}
        rows = [("input", inputs), *results.items()]
        path = out / f"{name}-{group}-{value}.jpg"
        rows_picture(rows).save(path, quality=JPEG_QUALITY)
        written.append(path)
        if group == "eyes":
            band = eye_band(inputs[0]).size
            crops = [(row, [eye_band(p) for p in pics]) for row, pics in rows]
            path = out / f"{name}-{group}-{value}-eyes.jpg"
            rows_picture(crops, (band[0] * 3, band[1] * 3)).save(path, quality=JPEG_QUALITY)
            written.append(path)
    return written


TEST_FOLDERS = (("a2b", "testA"), ("b2a", "testB"))  # each direction's fixed inputs


def translated(tr: Translator, direction: str, inputs: list[Image.Image]) -> list[Image.Image]:
    return [tr.translate(p, direction, crop="none", display=None).output for p in inputs]


def test_pictures(data: Path, folder: str) -> tuple[list[Path], list[Image.Image]]:
    files = sorted(p for p in (data / folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:N]
    return files, [Image.open(p).convert("RGB") for p in files]


def ugatit_rows(checkpoint: str, path: Path, data: Path | None = None) -> Path:
    """One model's translations of the fixed test pictures, both ways, under their inputs (for a run's
    folder: ``benchmarks/disc_compare.py`` shows each recipe's with it; not for committing)."""
    data = data or data_root() / "selfie2anime" / "128"
    tr = Translator(hub.load(checkpoint, technique="ugatit"))
    rows = []
    for direction, folder in TEST_FOLDERS:
        _, inputs = test_pictures(data, folder)
        rows += [(folder, inputs), (direction, translated(tr, direction, inputs))]
    rows_picture(rows, 128).save(path)
    return path


def ugatit(before: str, after: str, out: Path, name: str, data: Path, with_inputs: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    trs = {row: Translator(hub.load(ref, technique="ugatit")) for row, ref in (("before", before), ("after", after))}
    for direction, folder in TEST_FOLDERS:
        files, inputs = test_pictures(data, folder)
        rows = ([("input", inputs)] if with_inputs else []) + [(row, translated(tr, direction, inputs))
                                                               for row, tr in trs.items()]
        path = out / f"{name}-{direction}{'-with-inputs' if with_inputs else ''}.jpg"
        rows_picture(rows, 128).save(path, quality=JPEG_QUALITY)
        (out / f"{name}-{direction}-inputs.txt").write_text(
            f"selfie2anime/{folder}, the first {N} names sorted: " + ", ".join(p.name for p in files) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("technique", choices=("stargan", "ugatit", "make-inputs"))
    p.add_argument("--before", help="folder or repo@revision: the model of the last release")
    p.add_argument("--after", help="folder or repo@revision: the new model")
    p.add_argument("--out", default=str(ROOT / "assets" / "fixed"))
    p.add_argument("--name", help="the files' prefix (default: the --before folder's name)")
    p.add_argument("--data", default=str(data_root() / "selfie2anime" / "128"))
    p.add_argument("--inputs", action="store_true", help="U-GAT-IT: add the data set's input row (not for committing)")
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "stylegan-anime-64"),
                   help="make-inputs: the StyleGAN that draws them")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.technique == "make-inputs":
        print(make_inputs(args.checkpoint))
        return 0
    if not (args.before and args.after):
        p.error("--before and --after name the two models")
    name = args.name or Path(args.before.split("@")[0]).name
    if args.technique == "stargan":
        written = stargan(args.before, args.after, out, name)
    else:
        data = Path(args.data)
        if not (data / "testA").is_dir():
            print(f"skipped: no selfie2anime test pictures at {data}")
            return 0
        written = ugatit(args.before, args.after, out, name, data, args.inputs)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
