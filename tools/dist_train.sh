#!/usr/bin/env bash
# Distributed training with torchrun, one process per device (or CPU worker).
#   tools/dist_train.sh CONFIG NUM_PROCS [tools/train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) in the environment.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCS [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
NPROCS=$2
shift 2
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
    "$SCRIPT_DIR/train.py" "$CONFIG" --launcher pytorch "$@"
