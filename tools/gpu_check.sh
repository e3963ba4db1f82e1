#!/usr/bin/env bash
# Checks on a machine with CUDA GPUs what the CPU test suite cannot: the AMP
# (fp16/bf16) gradient of HRGAN's adversarial term against fp32, ASR/AHO
# iterations in each precision, --resume from a checkpoint written on the GPU,
# channels-last, dist_train.sh over NCCL with 2+ GPUs (rank equality), and the
# throughput and peak memory of HRNet-W32, HRGAN-W32 and HRNet-W32 + ASR/AHO.
# Prints a markdown report, also written to <out>/gpu_check_report.md
# (numbers in <out>/gpu_check_results.json, logs beside them):
#   bash tools/gpu_check.sh [--out DIR] [--only grad,resume] [--skip dist] [--help]
# Exit status: 0 every check passed (or was skipped), 1 a check failed,
# 2 no CUDA GPU (one line on stderr, nothing run). PYTHON overrides the
# interpreter (default: the repository's .venv, else python).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi
exec "$PYTHON" "$HERE/gpu_check.py" "$@"
