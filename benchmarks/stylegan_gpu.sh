#!/usr/bin/env bash
# The one GPU command of issue #11: train the full-size 64 px StyleGAN2 (preset "64": StyleGAN2-ADA's
# auto config, 512-dim z / w, batch 32) on the anime faces in under 9 minutes, export it (int8),
# write its sample grids and a 3-face interpolation, and print its speed in s/kimg against the
# anchor (StyleGAN2-ADA: 4.45 s/kimg at 64 px, batch 32, on an H100; target <= 3.7 s/kimg).
# benchmarks/gpu_run.sh (issue #13) is the one GPU command for every technique: it times this preset's
# s/kimg and trains the bundled (CPU preset) StyleGAN beside the others; this script is the StyleGAN-only
# run of the full preset, whose export is over the bundle's 40 MB budget.
#
#   benchmarks/stylegan_gpu.sh [DATA] [RUN]        (or DATA=... RUN=... benchmarks/stylegan_gpu.sh)
#
# DATA: the image folder (default ../shared/data/anime-faces-64); RUN: the run folder (default
# runs/stylegan-gpu-64; it must not hold a run yet). On CUDA the Trainer uses bf16 autocast and
# channels_last by default. Settings (environment):
#   STEPS=3600          steps at batch 32. At the target 3.7 s/kimg, 3600 x 32 = 115 kimg take 426 s;
#                       the rest of the 9 minutes is for start-up (imports, decoding 36,740 faces, CUDA
#                       warm-up), sample grids every 500 steps, checkpoints, export and the grids.
#                       (4500 steps, 144 kimg, would take 533 s at the target speed: no margin.)
#   TRAIN_LIMIT_S=480   a hard cap on the training command: at the cap it gets SIGTERM, stops after the
#                       current step with a checkpoint (state "stopped"), and the export goes on with it,
#                       so the whole command stays under 9 minutes even if the speed misses the target.
#   BATCH=32  MODEL='{"preset": "64"}'  DEVICE=auto  LIMIT=0 (first N images; 0: all)
#   COMPILE=0           1 adds --compile: G's synthesis and D compiled for the G and D phases, the R1 and
#                       path-length steps eager (AOTAutograd has no double backward). Off by default: its
#                       compile time on the GPU is not measured, and the run has no minute to spare.
#   EXPORT=checkpoints/stylegan-anime-64   MANIFEST=stylegan (the manifest entry; empty: leave
#                       checkpoints/manifest.json alone, needed when EXPORT is outside checkpoints/)
#   PYTHON=python
# CPU check of every command (a tiny model, a few steps):
#   STEPS=4 BATCH=8 LIMIT=200 DEVICE=cpu MANIFEST= EXPORT=/tmp/sg-export \
#     MODEL='{"image_size": 16, "z_dim": 32, "w_dim": 32, "channel_base": 256, "channel_max": 32}' \
#     benchmarks/stylegan_gpu.sh ../shared/data/anime-faces-64 /tmp/sg-gpu-check
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${1:-${DATA:-../shared/data/anime-faces-64}}
RUN=${2:-${RUN:-runs/stylegan-gpu-64}}
STEPS=${STEPS:-3600}
BATCH=${BATCH:-32}
TRAIN_LIMIT_S=${TRAIN_LIMIT_S:-480}
MODEL=${MODEL:-'{"preset": "64"}'}
DEVICE=${DEVICE:-auto}
LIMIT=${LIMIT:-0}
COMPILE=${COMPILE:-0}
EXPORT=${EXPORT:-checkpoints/stylegan-anime-64}
MANIFEST=${MANIFEST-stylegan}
PY=${PYTHON:-python}

if [ -e "$RUN/status.json" ]; then
    echo "stylegan_gpu.sh: $RUN already holds a run; remove it or give another run folder" >&2
    exit 2
fi
extra=()
[ "$COMPILE" = 1 ] && extra+=(--compile)
echo "== $(date -u +%FT%TZ) train stylegan $MODEL: $STEPS steps at batch $BATCH on $DEVICE, at most ${TRAIN_LIMIT_S} s, data $DATA -> $RUN"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'

rc=0
timeout --preserve-status --signal=TERM --kill-after=90 "$TRAIN_LIMIT_S" \
    "$PY" -m facegan train stylegan --data "$DATA" --out "$RUN" --steps "$STEPS" --batch-size "$BATCH" \
    --device "$DEVICE" --limit "$LIMIT" --model "$MODEL" --log-every 50 --sample-every 500 \
    --checkpoint-every 1000 --keep-last 2 --quiet "${extra[@]}" || rc=$?
train_s=$SECONDS

# The last checkpoint from status.json: "finished", or "stopped" at the time cap, both go on.
ckpt=$("$PY" - "$RUN/status.json" "$rc" <<'EOF'
import json, sys
from pathlib import Path
if not Path(sys.argv[1]).is_file():
    sys.exit(f"training failed before it started (exit {sys.argv[2]}): no {sys.argv[1]}")
s = json.loads(Path(sys.argv[1]).read_text())
if s.get("state") not in ("finished", "stopped") or not s.get("checkpoint"):
    sys.exit(f"training ended {s.get('state')} (exit {sys.argv[2]}): {s.get('error', 'no checkpoint')}")
print(s["checkpoint"])
EOF
)
echo "== trained to $ckpt (exit $rc) in ${train_s} s"

echo "== export $ckpt -> $EXPORT (int8)"
man=()
[ -n "$MANIFEST" ] && man=(--manifest "$MANIFEST")
"$PY" -m facegan export "$ckpt" --out "$EXPORT" --int8 "${man[@]}"

echo "== sample grids and a 3-face interpolation of the exported (int8) model"
"$PY" -m facegan generate stylegan --checkpoint "$EXPORT" --seed 0 --count 64 --columns 8 --psi 0.7 \
    --out "$EXPORT/samples.png"
"$PY" -m facegan generate stylegan --checkpoint "$EXPORT" --seed 0 --count 64 --columns 8 --psi 1 \
    --out "$RUN/samples-psi1.png"
"$PY" -m facegan interpolate stylegan --checkpoint "$EXPORT" --seeds 1,2,3,4,5,6,7,8,9 --side-by-side 3 \
    --loop --psi 0.7 --out "$RUN/three.gif"

echo "== speed (anchor: StyleGAN2-ADA 4.45 s/kimg at 64 px, batch 32, H100; target <= 3.7 s/kimg)"
"$PY" - "$RUN" "$EXPORT" "$SECONDS" <<'EOF'
import json, statistics, sys
from pathlib import Path
run, export, total_s = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
s = json.loads((run / "status.json").read_text())
windows = [json.loads(line)["images_per_s"] for line in (run / "metrics.jsonl").read_text().splitlines()]
steady = windows[1:] or windows  # the first window holds the CUDA warm-up
which = f"median of {len(steady)} windows after the first" if len(windows) > 1 else "one window (warm-up included)"
kimg = s["step"] * s["batch_size"] / 1000
out = {
    "hardware": s["hardware"], "batch_size": s["batch_size"], "steps": s["step"], "state": s["state"],
    "kimg": kimg, "status_images_per_s": s["images_per_s"], "status_s_per_kimg": 1000 / s["images_per_s"],
    "median_s_per_kimg": 1000 / statistics.median(steady), "windows": len(windows),
    "elapsed_s": s["elapsed_s"], "overall_s_per_kimg": s["elapsed_s"] / kimg if kimg else None,
    "total_command_s": total_s, "export_mb": (export / "model.safetensors").stat().st_size / 1e6,
}
(run / "speed.json").write_text(json.dumps(out, indent=1) + "\n")
print(f"{out['hardware']}, batch {out['batch_size']}: {out['steps']} steps ({kimg:.1f} kimg, {out['state']})")
print(f"status.json: {out['status_images_per_s']:.0f} images/s = {out['status_s_per_kimg']:.2f} s/kimg; "
      f"{which}: {out['median_s_per_kimg']:.2f} s/kimg; "
      f"with samples and checkpoints: {out['overall_s_per_kimg'] or 0:.2f} s/kimg")
print(f"vs anchor 4.45 s/kimg: {4.45 / out['median_s_per_kimg']:.2f}x; target 3.7: "
      f"{'met' if out['median_s_per_kimg'] <= 3.7 else 'missed'}")
print(f"export {export} {out['export_mb']:.1f} MB{' (over the 10 MB of the issue)' if out['export_mb'] > 10 else ''}; "
      f"whole command {total_s} s; figures in {run / 'speed.json'}")
EOF
