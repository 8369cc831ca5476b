# NUM_PROCS and PORT of dist_train.sh and dist_test.sh (sourced by both): a
# value torchrun cannot use is refused in one line, not with its traceback.
if ! [[ $NPROCS =~ ^([1-9][0-9]*|auto|cpu|gpu)$ ]]; then
    echo "$(basename "$0"): NUM_PROCS is a whole number >= 1 (or auto, cpu, gpu), got '$NPROCS'" >&2
    exit 2
fi
if ! [[ $PORT =~ ^[1-9][0-9]{0,4}$ ]] || (( PORT > 65535 )); then
    echo "$(basename "$0"): PORT is a port number, 1 to 65535, got '$PORT'" >&2
    exit 2
fi
