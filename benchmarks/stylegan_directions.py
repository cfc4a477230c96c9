"""StyleGAN labelled directions (issue #12): does moving along "hair: blue" make blue hair, and keep the eyes?

    python benchmarks/stylegan_directions.py [--checkpoint DIR|repo@rev] [--n 200] [--fit-n 2000]
        [--direction "hair: blue"] [--strengths 1 2 3] [--sefa 0] [--sefa-layers all] [--psi 1.0] [--write]

- the labelled directions are computed (``facegan.directions.labelled``: --fit-n faces of seed 0
  read by the bundled hair / eye colour classifier, ``facegan.attributes``, one InterFaceGAN
  boundary per colour, the hair ones conditioned on the eye ones), timed;
- --n other faces (seeds 1000, 1001, ...: not among the faces fitted on) are moved along
  --direction by each of --strengths (a unit vector in W, all styles), and the classifier reads
  the results: ``reads blue`` is the share it reads as the direction's colour, ``eyes kept`` (for
  a hair direction; ``hair kept`` for an eye one) the share whose other group it reads as before
  the edit. Beside it the boundary's own normal before conditioning, and SeFa direction --sefa of
  --sefa-layers as a contrast (a direction that was not fitted to any colour);
- ``--write`` stores the computed directions in the (local) checkpoint folder as
  ``directions.safetensors``: the studio, the app and ``facegan edit stylegan --direction`` then
  offer them (how the bundled model gets its directions).

The default checkpoint is the manifest's "stylegan" (checkpoints/manifest.json).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylegan_quality import load

from facegan import attributes, directions
from facegan.studio import Studio, span

FIRST_SEED = 1000  # the edited faces' seeds: codes, not the latents of seed 0 that the directions were fitted on


def read(st: Studio, net, ws: torch.Tensor, psi: float) -> torch.Tensor:
    """ws (N, num_ws, w_dim) -> (N, groups) the classifier's readings of the faces drawn."""
    x = st.draw(ws, psi)
    return torch.stack([p.argmax(1) for p in attributes.probabilities(net, x)], 1)


def moved(st: Studio, codes, found, direction, strength: float, layers: list[int]) -> torch.Tensor:
    return torch.cat([st.edited_ws(c, found, direction, [strength], layers) for c in codes])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="folder or repo@revision (default: the bundled StyleGAN)")
    p.add_argument("--n", type=int, default=200, help="faces edited (default 200)")
    p.add_argument("--fit-n", type=int, default=2000, dest="fit_n", help="faces the directions are fitted on (2000)")
    p.add_argument("--direction", default="hair: blue")
    p.add_argument("--strengths", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    p.add_argument("--sefa", type=int, default=0, help="the SeFa direction of the contrast (default 0)")
    p.add_argument("--sefa-layers", default="all", dest="sefa_layers", help="its styles (default all)")
    p.add_argument("--psi", type=float, default=1.0, help="truncation of the fitted and the edited faces (1: none)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--write", action="store_true", help="store the directions in the checkpoint folder")
    args = p.parse_args()

    model, folder = load(args.checkpoint, args.device)
    net = attributes.load_classifier(device=args.device)
    print(f"checkpoint {folder}: {model.config.image_size} px, w_dim {model.config.w_dim}, {model.num_ws} styles; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}")

    t0 = time.perf_counter()
    found = directions.labelled(model, net, n=args.fit_n, seed=0, psi=args.psi)
    seconds = time.perf_counter() - t0
    st = Studio(model, dtype="float32", labelled=found)
    name = directions.normalise_name(args.direction)
    row = found.index(name)
    group, _, value = name.partition(": ")
    j = list(net.groups).index(group)
    v = net.groups[group].index(value)
    others = [o for o in range(len(net.groups)) if o != j]
    other = "+".join(list(net.groups)[o] for o in others)
    acc = found.accuracy[~found.accuracy.isnan()]
    print(f"labelled directions: {args.fit_n} faces drawn and read, {len(found)} boundaries fitted in {seconds:.1f} s "
          f"({seconds / args.fit_n * 1000:.1f} ms a face); {name}: {int(found.read[row])} of the {args.fit_n} faces "
          f"read as {value} {group}, boundary accuracy {100 * float(found.accuracy[row]):.0f} % on held-out faces "
          f"(all boundaries: mean {100 * float(acc.mean()):.0f} %, min {100 * float(acc.min()):.0f} %); "
          f"conditioned on {found.info['conditioned_on'] or 'nothing (W too small)'}")
    if args.write:
        print(f"wrote {found.save(folder)}")

    codes = st.faces([str(FIRST_SEED + i) for i in range(args.n)], most=args.n)
    w = st.w(codes)
    before = read(st, net, st.ws(codes), args.psi)
    spread = float((w.double() @ found.vectors[row].double()).std())
    print(f"\n{args.n} faces (seeds {FIRST_SEED}-{FIRST_SEED + args.n - 1}), psi {args.psi:g}: before any edit "
          f"{100 * float((before[:, j] == v).float().mean()):.1f} % read as {value} {group}; W's spread along "
          f"{name} (std of w · n): {spread:.2f}")
    raw = directions.LabelledDirections(found.names, found.normals, found.normals, found.offsets, found.accuracy,
                                        found.read, found.info)
    sefa = st.sefa(args.sefa_layers)
    all_styles = list(range(st.num_ws))
    rows = [(name, found, name, all_styles), (f"{name} (unconditioned normal)", raw, name, all_styles),
            (f"SeFa {args.sefa} (contrast)", sefa, args.sefa, list(sefa.layers))]
    print(f"{'direction':34s} {'styles':>7s} {'strength':>8s} {f'reads {value}':>11s} {f'{other} kept':>10s}")
    for title, dirs, d, layers in rows:
        for s in args.strengths:
            after = read(st, net, moved(st, codes, dirs, d, s, layers), args.psi)
            hit = 100 * float((after[:, j] == v).float().mean())
            kept = 100 * float((after[:, others] == before[:, others]).all(1).float().mean())
            print(f"{title:34s} {span(layers):>7s} {s:+8g} {hit:10.1f} % {kept:9.1f} %")
    print(f"\n{time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
