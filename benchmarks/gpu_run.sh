#!/usr/bin/env bash
# The one prepared GPU command of issue #13: benchmarks/gpu_run.py (its docstring says what each phase does).
#
#   benchmarks/gpu_run.sh [run] [--budget 520] [--only FOLDER ...]   on the GPU machine: speed, training, export -> $OUT
#   benchmarks/gpu_run.sh run --cpu --tiny                           the same end to end on the CPU in a minute
#   benchmarks/gpu_run.sh prepare | install DIR                      here, before and after the GPU call
#
# PYTHON=python3 (the device machine's python3 holds PyTorch). It subsumes benchmarks/stylegan_gpu.sh
# for the bundled StyleGAN (the CPU preset, trained beside the others); that script stays for a
# StyleGAN-only run of the full "64" preset, whose export (45.8 MB) is over the bundle's budget.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -u benchmarks/gpu_run.py "$@"
