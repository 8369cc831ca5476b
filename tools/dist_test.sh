#!/usr/bin/env bash
# Distributed evaluation with torchrun.
#   tools/dist_test.sh CONFIG CKPT NUM_PROCS [tools/test.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) in the environment.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CKPT NUM_PROCS [test.py args...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
source "$SCRIPT_DIR/dist_args.sh"

DLD_LAUNCHER_NAME=$(basename "$0") exec python -m dld.dist_launch \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$SCRIPT_DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
