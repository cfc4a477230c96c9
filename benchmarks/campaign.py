"""The end of a training-campaign session: the run's model as a candidate, measured against the bundled one.

    python benchmarks/campaign.py RUN [--bundled checkpoints/<the technique's bundled folder>] [--real-n 10000]
                                      [--bundled-json q-bundled.json] [--remeasure] [--replace]
                                      [--keep campaign/<name>] [--session NOTE]

For the generative techniques (StyleGAN, DCGAN, AC-GAN) and U-GAT-IT: the run's, as its exported config.json
says; ``--bundled`` defaults to the technique's bundled folder of ``checkpoints/manifest.json``. A U-GAT-IT is
measured on selfie2anime's test pictures instead of the 10k protocol (``TRANSLATIONS``: KID x100 both ways,
the paper's protocol, and the A -> B anime-FD and layout) and exported without its four discriminators (14 MB
in fp16; its sessions start fresh ones, with the lr warm-up of ``--init``).

1. The run's last checkpoint is exported (``facegan export --fp16``: with D, so the next session
   continues from it with ``--init``) into ``RUN/candidate``.
2. Its pictures for the card. StyleGAN: ``samples.png`` (seeds 0-31, psi 0.7), ``mixing.png`` (Figure 3:
   coarse styles of seeds 1-4 into seeds 5-9), ``morph.gif`` (seeds 1-9, three side by side), and its
   labelled directions fitted again (``benchmarks/stylegan_directions.py --write``). DCGAN: ``samples.png``
   (64 faces of seed 0). AC-GAN: ``classes.png`` (a row per class, the same 8 latents of seed 0). The
   commands are ``benchmarks/card_pictures.py``'s, which ``gpu_run.py`` uses too.
3. Both models are measured with the 10k protocol (``facegan.quality.measure``, psi 1, the same seeded
   real faces; AC-GAN's classes as often as the data has them); ``--bundled-json`` reuses a measurement
   of the bundled model made with the same protocol, and so do the figures a bundled folder's
   ``config.json`` keeps (``summary.quality``, written at step 4) unless ``--remeasure``: the seeded real
   faces are the same on every machine.
4. With ``--replace``, and only when Inception FID *and* anime-FD both improved (U-GAT-IT: KID both ways
   and the anime-FD; an AC-GAN's class accuracy
   and diversity, ``benchmarks/acgan_quality.py``, also at least ``ACGAN_FLOORS``), the candidate
   replaces the bundled folder (atomically), with the manifest's sha256, the cost in ``config.json``'s
   summary (images seen and CPU-hours from the run's status, which count what the model it started from
   had cost) and the card's running figures (its ``| images seen |``, ``| CPU-hours |`` and ``| **this
   model** |`` rows) and a line of history appended to its table of sessions. Without it, or when a figure
   got worse, nothing in ``checkpoints/`` changes; the figures are printed either way (and ``RUN/campaign.json``).
5. With ``--keep DIR``, a candidate that is not bundled is kept in DIR (weights fp16 with D, config.json,
   a short card: about 6 MB) so that the next session continues the run from it (``--init DIR``) rather
   than from the bundled model again: sessions add up even while each one's gain is within the noise.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import card_pictures  # noqa: E402 (beside this script)

from facegan import data, hub, quality  # noqa: E402
from facegan.train import latest_checkpoint, read_json  # noqa: E402

HISTORY = "## Sessions"  # the card's section that each replacement appends a row to
ACGAN_FLOORS = {"accuracy": 0.95, "diversity": 0.8}  # issue #20's class figures an AC-GAN must keep to be bundled
# a bundled model's figures kept in its config.json summary, and what must match for them to be reused
QUALITY_KEYS = ("fid", "kid", "anime_fd", "precision", "recall", "faces_found", "n", "n_real", "psi", "full_real")


def facegan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "facegan", *map(str, args)], check=True, cwd=ROOT)


def pictures(folder: Path, technique: str) -> None:
    """The card's pictures of a candidate (``card_pictures``), and StyleGAN's mixing figure and directions."""
    for _, argv in card_pictures.commands(technique, folder):
        facegan(*argv)
    if technique != "stylegan":
        return
    from facegan.pipelines import StyleGANPipeline

    st = StyleGANPipeline.from_pretrained(folder, dtype="float32")
    st.mix([1, 2, 3, 4], [5, 6, 7, 8, 9], "coarse", psi=0.7).figure(128).save(folder / "mixing.png")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stylegan_directions.py"), "--checkpoint",
                    str(folder), "--write"], check=True, cwd=ROOT)


def class_figures(folder: Path) -> dict:
    """AC-GAN: class accuracy and intra-class diversity (``benchmarks/acgan_quality.py --write``, which keeps
    them in the folder's config.json under "measured", where the tab shows them)."""
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "acgan_quality.py"), "--checkpoint", str(folder),
                    "--write"], check=True, cwd=ROOT)
    return hub.read_config(folder)["measured"]


@dataclass(frozen=True)
class Protocol:
    """How a kind of model is measured and judged: ``measure(folder, real_n)`` gives a row of figures
    (``keys``); the candidate is better when every one of ``judged`` fell; the rest are ``str.format``
    templates of a row (``r``; ``old`` and ``new`` for a history row)."""

    keys: tuple[str, ...]
    judged: tuple[str, ...]
    rule: str  # the judged figures, in words
    export: tuple[str, ...]  # ``facegan export`` flags of the candidate
    measure: Callable[[Path, int | None], dict]
    same_protocol: Callable[[dict, int | None], bool]  # may a kept row stand in for measuring again
    line: str  # one printed line
    figures: str  # config.json's summary text ({psi}: "psi 1; " for StyleGAN)
    card_row: str  # the cells after "| **this model** | images |" of the card's quality table
    history: str  # the cells after "| date | session | images | CPU-hours |" of a session row
    header: str  # the card's session table, the first time one is written

    def better(self, new: dict, old: dict) -> bool:
        return all(new[k] < old[k] for k in self.judged)


def _measure_faces(folder: Path, real_n: int | None) -> dict:
    row = quality.measure(hub.load_folder(folder), data.data_set("anime-faces-64"), folder.name, real_n=real_n,
                          progress=lambda text: print(text, flush=True))
    return {k: v for k, v in vars(row).items() if not k.startswith("_")}


def _same_faces_protocol(row: dict, real_n: int | None) -> bool:
    """10,000 faces at psi 1 against the same number of seeded real faces (the same on every machine)."""
    same_real = row["n_real"] == real_n and not row["full_real"] if real_n else row["full_real"]
    return (row["n"], row["psi"]) == (quality.N_PROTOCOL, 1.0) and same_real


def _measure_translations(folder: Path, real_n: int | None) -> dict:
    model = hub.load_folder(folder)
    sets = data.load_two_domain(data.data_root() / "selfie2anime" / "128", model.config.image_size)
    return quality.TranslationMetric(sets)(model)


TEST_PICTURES = 100  # selfie2anime's testA / testB

# The 10k protocol of the generative techniques (facegan.quality.measure).
FACES = Protocol(
    keys=QUALITY_KEYS, judged=("fid", "anime_fd"), rule="Inception FID and anime-FD",
    export=("--fp16",),  # with D: the next session's --init continues it
    measure=_measure_faces, same_protocol=_same_faces_protocol,
    line=("{name}: FID {r[fid]:.1f}, KID {r[kid]:.3f}, anime-FD {r[anime_fd]:.2f}, precision {r[precision]:.2f}, "
          "recall {r[recall]:.2f}, faces found {r[faces_found]:.0%}"),
    figures=("FID {r[fid]:.1f}, anime-FD {r[anime_fd]:.2f}, precision {r[precision]:.2f}, recall {r[recall]:.2f} "
             "({psi}10,000 faces vs {r[n_real]:,} real)"),
    card_row=("**{r[fid]:.1f}** | {r[kid]:.3f} | **{r[anime_fd]:.2f}** | {r[precision]:.2f} | {r[recall]:.2f} | "
              "{r[faces_found]:.0%} |"),
    history=("{old[fid]:.1f} -> **{new[fid]:.1f}** | {old[anime_fd]:.2f} -> **{new[anime_fd]:.2f}** | "
             "{new[precision]:.2f} / {new[recall]:.2f} | {new[faces_found]:.0%} |"),
    header=("Each row: a session of `benchmarks/campaign.py --replace` (10k protocol, psi 1, against the same "
            "seeded real faces as the model it replaced).\n\n| date | session | images seen | CPU-hours (all) | "
            "Inception FID | anime-FD | precision / recall | faces found |\n|---|---|---|---|---|---|---|---|\n"))

# U-GAT-IT on selfie2anime's test pictures (facegan.quality.TranslationMetric, what its runs log as their
# curve): KID x100 both ways (the paper's protocol, Inception), the A -> B anime-FD (anime tag classifier)
# and layout kept. Exported without its four D (7 M weights: 14 MB more in fp16).
TRANSLATIONS = Protocol(
    keys=("kid_a2b", "kid_b2a", "anime_fd", "layout_a2b", "n"), judged=("kid_a2b", "kid_b2a", "anime_fd"),
    rule="KID x100 both ways and the A -> B anime-FD", export=("--fp16", "--generators-only"),
    measure=_measure_translations, same_protocol=lambda row, real_n: row["n"] == TEST_PICTURES,
    line=("{name}: KID x100 A->B {r[kid_a2b]:.2f}, B->A {r[kid_b2a]:.2f}, anime-FD A->B {r[anime_fd]:.2f}, "
          "layout A->B {r[layout_a2b]:.3f}"),
    figures=("KID\u00d7100 {r[kid_a2b]:.1f} selfie \u2192 anime, {r[kid_b2a]:.1f} anime \u2192 selfie, "
             "anime-FD {r[anime_fd]:.1f} ({r[n]} vs {r[n]} test pictures)"),
    card_row="**{r[kid_a2b]:.2f}** | **{r[kid_b2a]:.2f}** | **{r[anime_fd]:.2f}** | {r[layout_a2b]:.3f} |",
    history=("{old[kid_a2b]:.2f} -> **{new[kid_a2b]:.2f}** | {old[kid_b2a]:.2f} -> **{new[kid_b2a]:.2f}** | "
             "{old[anime_fd]:.2f} -> **{new[anime_fd]:.2f}** | {new[layout_a2b]:.3f} |"),
    header=("Each row: a session of `benchmarks/campaign.py --replace` (the 100 + 100 test pictures, "
            "`quality.TranslationMetric`).\n\n| date | session | images seen | CPU-hours (all) | KID x100 A→B | "
            "KID x100 B→A | anime-FD A→B | layout A→B |\n|---|---|---|---|---|---|---|---|\n"))

PROTOCOLS = {**{t: FACES for t in quality.GENERATIVE}, "ugatit": TRANSLATIONS}


def protocol(folder: Path) -> Protocol:
    return PROTOCOLS[hub.read_config(folder)["technique"]]


def kept_row(bundled: Path, real_n: int | None) -> dict | None:
    """The bundled model's figures from its config.json summary (written when campaign.py bundled it)
    when they are of this protocol; else None."""
    judge = protocol(bundled)
    row = hub.read_config(bundled).get(hub.SUMMARY_KEY, {}).get("quality")
    if not isinstance(row, dict) or set(judge.keys) - set(row):
        return None
    return row if judge.same_protocol(row, real_n) else None


def replace(candidate: Path, bundled: Path, status: dict, new: dict, old: dict, session: str) -> None:
    judge, technique = protocol(candidate), hub.read_config(candidate)["technique"]
    cost = status.get("images_seen"), status.get("cpu_hours")
    config = hub.read_config(candidate)
    config[hub.SUMMARY_KEY] = {
        "images_seen": int(cost[0]), "cpu_hours": round(float(cost[1]), 2),
        "figures": judge.figures.format(r=new, psi="psi 1; " if technique == "stylegan" else ""),
        # the row itself: the next session compares against it instead of measuring this model again
        "quality": {k: new[k] for k in judge.keys},
        "interim": True}
    (candidate / hub.CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    card = (bundled / hub.CARD_NAME).read_text()
    # the card's running figures: images seen and CPU-hours, the "this model" row of its quality table
    figures = {
        r"^\| images seen \| \*\*[\d,]+\*\*": f"| images seen | **{int(cost[0]):,}**",
        r"^(\| CPU-hours \| )(\*\*)?[\d.]+": rf"\g<1>\g<2>{float(cost[1]):.2f}",  # the number; the rest stays
        r"^\| \*\*this model\*\* \|.*$": f"| **this model** | {int(cost[0]):,} | {judge.card_row.format(r=new)}"}
    for pattern, to in figures.items():
        card, found = re.subn(pattern, to, card, flags=re.M)
        if not found:
            print(f"warning: {bundled / hub.CARD_NAME} has no row matching {pattern!r}: update it by hand", file=sys.stderr)
    row = (f"| {time.strftime('%Y-%m-%d')} | {session} | {int(cost[0]):,} | {float(cost[1]):.2f} | "
           f"{judge.history.format(old=old, new=new)}")
    if HISTORY not in card:
        card += f"\n{HISTORY}\n\n{judge.header}"
    (candidate / hub.CARD_NAME).write_text(card.rstrip("\n") + "\n" + row + "\n")
    staged = bundled.parent / f".{bundled.name}.new"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(candidate, staged)
    hub.replace_dir(staged, bundled)
    manifest = json.loads(hub.MANIFEST.read_text())
    for entry in manifest.values():
        if entry.get("bundled") == bundled.name:
            entry["sha256"] = hub.sha256_of(bundled / hub.WEIGHTS_NAME)
    hub.MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


def keep(candidate: Path, folder: Path, status: dict, new: dict) -> None:
    """The run's model, not bundled, as the state the next session continues from: weights (fp16, with D
    but for U-GAT-IT's) and config.json (its cost and figures in the summary), small enough to commit;
    written atomically."""
    judge = protocol(candidate)
    config = hub.read_config(candidate)
    config[hub.SUMMARY_KEY] = {"images_seen": int(status.get("images_seen", 0)),
                               "cpu_hours": round(float(status.get("cpu_hours", 0)), 2),
                               "quality": {k: new[k] for k in judge.keys}, "interim": True}
    staged = folder.parent / f".{folder.name}.new"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    shutil.copy2(candidate / hub.WEIGHTS_NAME, staged / hub.WEIGHTS_NAME)
    (staged / hub.CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    (staged / hub.CARD_NAME).write_text(
        f"# {folder.name}: a training campaign's state, not a bundled model\n\n"
        f"The last session's model (fp16), kept because its figures did not beat the bundled "
        f"model's: {judge.line.format(name='this state', r=new)}. {config[hub.SUMMARY_KEY]['images_seen']:,} images seen, "
        f"{config[hub.SUMMARY_KEY]['cpu_hours']:.2f} CPU-hours in all. The next session continues from it with "
        f"`facegan train ... --init {folder}`; `benchmarks/campaign.py --keep` removes it when a later "
        "session's model is bundled.\n")
    hub.replace_dir(staged, folder)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="the session's run folder (facegan train --out)")
    p.add_argument("--bundled", type=Path, help="the bundled folder to beat (default: the run's technique's, "
                                                 "checkpoints/manifest.json)")
    p.add_argument("--real-n", type=int, default=10_000, help="real faces the statistics are of (0: all)")
    p.add_argument("--bundled-json", type=Path, help="the bundled model's figures, measured before (campaign.json "
                                                     "of an earlier call, or benchmarks/quality.py --json)")
    p.add_argument("--remeasure", action="store_true", help="measure the bundled model even when its config.json "
                                                             "keeps its figures of this protocol")
    p.add_argument("--replace", action="store_true", help="replace the bundled folder when both figures improved")
    p.add_argument("--keep", type=Path, help="when the candidate is not bundled, keep its model here (fp16, to "
                                             "commit) for the next session's --init; removed when one is bundled")
    p.add_argument("--session", default="", help="what the session ran, for the card's history row")
    args = p.parse_args()
    ckpt = latest_checkpoint(args.run)
    if ckpt is None:
        raise SystemExit(f"campaign: {args.run} has no checkpoint")
    candidate = args.run / "candidate"
    shutil.rmtree(candidate, ignore_errors=True)
    technique = hub.read_config(ckpt)["technique"]
    if technique not in PROTOCOLS:
        raise SystemExit(f"campaign: {args.run} trains {technique}; this script measures {', '.join(PROTOCOLS)}")
    judge = PROTOCOLS[technique]
    facegan("export", ckpt, "--out", candidate, *judge.export)
    args.bundled = args.bundled or hub.MANIFEST.parent / hub.read_manifest()[technique]["bundled"]
    pictures(candidate, technique)
    real_n = args.real_n or None
    if args.bundled_json:
        old = json.loads(args.bundled_json.read_text())
        old = old.get("generators", old) if isinstance(old, dict) else old  # quality.py --json with translators
        old = old["bundled"] if "bundled" in old else (old[0] if isinstance(old, list) else old)
    elif not args.remeasure and (kept := kept_row(args.bundled, real_n)):
        old = kept
        print(f"bundled: the figures its config.json keeps ({args.bundled.name}; --remeasure measures it again)")
    else:
        old = judge.measure(args.bundled, real_n)
    new = judge.measure(candidate, real_n)
    status = read_json(args.run / "status.json") or {}
    better = judge.better(new, old)
    if technique == "acgan" and better:  # and its classes still right and varied
        classes = class_figures(candidate)
        short = {k: classes[k] for k, floor in ACGAN_FLOORS.items() if not classes[k] >= floor}
        print(f"class accuracy {classes['accuracy']:.1%}, diversity {classes['diversity']:.2f}"
              + (f": below the floors {ACGAN_FLOORS}" if short else ""))
        better = not short
    (args.run / "campaign.json").write_text(json.dumps({"bundled": old, "candidate": new, "better": better,
                                                        "checkpoint": str(ckpt)}, indent=1, default=float))
    print(judge.line.format(name="bundled  ", r=old))
    print(judge.line.format(name="candidate", r=new))
    print(f"images seen {status.get('images_seen', 0):,}, CPU-hours {status.get('cpu_hours', 0):.2f} (all sessions)")
    if not better:
        print(f"not replaced: {judge.rule} did not all improve"
              + (" or AC-GAN's classes fell short" if technique == "acgan" else ""))
        if args.keep:
            keep(candidate, args.keep, status, new)
            print(f"kept the run's model in {args.keep}: the next session continues with --init {args.keep}")
    elif args.replace:
        replace(candidate, args.bundled, status, new, old, args.session or f"{ckpt.name} of {args.run.name}")
        print(f"replaced {args.bundled}")
        if args.keep and args.keep.exists():  # the bundled folder is the state to continue from again
            shutil.rmtree(args.keep)
            print(f"removed {args.keep}: the next session continues with --init {args.bundled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
