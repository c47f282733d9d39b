# Sourced by the training entry points (train_syncnet.sh, train_unet.sh), which cd into the checkout first:
# `exec_torchrun MODULE FLAG...` replaces the shell with torchrun running `python -m MODULE FLAG...` in one
# process per GPU of this machine (one on a CPU-only machine). Environment: NPROC_PER_NODE overrides the count;
# NNODES and RDZV_ENDPOINT (host:port of a free port on the first node) join several machines through c10d.
source "$(dirname "${BASH_SOURCE[0]}")/project_python.sh"

exec_torchrun() {
  local python nproc_per_node
  python="$(project_python "$PWD")"
  nproc_per_node="${NPROC_PER_NODE:-$("$python" -c 'import torch; print(max(torch.cuda.device_count(), 1))')}"
  exec "$python" -m torch.distributed.run --nnodes "${NNODES:-1}" --nproc_per_node "$nproc_per_node" \
    --rdzv_backend c10d --rdzv_endpoint "${RDZV_ENDPOINT:-localhost:0}" -m "$@"
}
