#!/usr/bin/env bash
# SLURM training (mmpose's calling convention), runnable from any directory:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [CPU_ONLY=1] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# GPUS processes in all, GPUS_PER_NODE per node, one GPU each. CPU_ONLY=1
# (CPU-only nodes): no GPUs requested and none visible to the processes,
# which then communicate over gloo; GPUS and GPUS_PER_NODE count processes.
# The processes meet at MASTER_PORT (default 29500) on the first node.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
CPU_ONLY=${CPU_ONLY:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python}

if [ "$CPU_ONLY" = 1 ]; then
    DEVICES=()
    HIDE_GPUS=(env CUDA_VISIBLE_DEVICES=)
else
    DEVICES=(--gres=gpu:"$GPUS_PER_NODE")
    HIDE_GPUS=()
fi

# shellcheck disable=SC2086
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" "${DEVICES[@]}" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
    "${HIDE_GPUS[@]}" "$PYTHON" -u "$HERE/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher=slurm "${@:5}"
