"""The pictures of a bundled model's card, one list for every script that makes a card
(``benchmarks/campaign.py`` after a training session, ``benchmarks/gpu_run.py`` after a GPU run):
(file name, the ``facegan`` command that draws it into the folder) per picture.

- StyleGAN: ``samples.png`` (seeds 0-31 at psi 0.7, the tab's default) and ``morph.gif`` (the
  article's three-face walk, seeds 1-9 three side by side, looping);
- DCGAN: ``samples.png`` (64 faces of seed 0); AC-GAN: ``classes.png`` (a row per class, the same 8
  latents of seed 0 down each column);
- StarGAN: ``examples.jpg``: every hair colour of the example anime face, or every expression of the
  public-domain astronaut portrait for a model that knows expressions (two data sets);
- U-GAT-IT: ``examples.png``: the portrait to anime, side by side.

No dataset images: the inputs are the repository's own (``assets/examples``).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
FACE = EXAMPLES / "facegan-anime-732d4e9480c10995a6e7dee79c05b0e9.png"  # made by facegan's DCGAN
PHOTO = EXAMPLES / "astronaut.jpg"  # public domain


def commands(technique: str, folder: str | Path, expressions: bool = False) -> list[tuple[str, list[str]]]:
    """The card pictures of the model in ``folder`` (``expressions``: a StarGAN that knows FER's)."""
    f = str(folder)
    if technique == "stargan":
        edit = (["edit", "stargan", str(PHOTO), "--checkpoint", f, "--group", "expression", "--crop", "photo"]
                if expressions else ["edit", "stargan", str(FACE), "--checkpoint", f, "--group", "hair", "--crop", "none"])
        return [("examples.jpg", [*edit, "--size", "96", "--out", f"{f}/examples.jpg"])]
    return {
        "stylegan": [("samples.png", ["generate", "stylegan", "--checkpoint", f, "--seed", "0", "--count", "32",
                                      "--columns", "8", "--psi", "0.7", "--out", f"{f}/samples.png"]),
                     ("morph.gif", ["interpolate", "stylegan", "--checkpoint", f, "--seeds", "1,2,3,4,5,6,7,8,9",
                                    "--side-by-side", "3", "--loop", "--psi", "0.7", "--frames", "12", "--size", "80",
                                    "--out", f"{f}/morph.gif"])],
        "dcgan": [("samples.png", ["generate", "dcgan", "--checkpoint", f, "--seed", "0", "--count", "64",
                                   "--columns", "8", "--out", f"{f}/samples.png"])],
        "acgan": [("classes.png", ["generate", "acgan", "--checkpoint", f, "--seed", "0", "--count", "8",
                                   "--out", f"{f}/classes.png"])],
        "ugatit": [("examples.png", ["translate", "ugatit", str(PHOTO), "--checkpoint", f, "--side-by-side",
                                     f"{f}/examples.png"])],
    }[technique]
