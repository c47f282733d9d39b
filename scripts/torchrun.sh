# Sourced by the training entry points (train_syncnet.sh, train_unet.sh): `exec_torchrun ROOT MODULE FLAG...`
# replaces the shell with the launcher (latentsync/cli/launch_training.py), which checks the run once and starts
# torchrun with `python -m MODULE FLAG...` in one process per GPU of this machine (one on a CPU-only machine).
# Environment: NPROC_PER_NODE overrides the count; NNODES and RDZV_ENDPOINT (host:port of a free port on the
# first node) join several machines through c10d.
source "$(dirname "${BASH_SOURCE[0]}")/project_python.sh"

exec_torchrun() {
  local root="$1"
  shift
  export PYTHONPATH="${root}${PYTHONPATH:+:${PYTHONPATH}}"
  exec "$(project_python "$root")" -m scripts.launch_training "$@"
}
