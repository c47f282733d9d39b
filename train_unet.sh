#!/usr/bin/env bash
# Train the U-Net on every GPU of this machine (or the CPU, with gloo). Flags are passed on, e.g.
#   ./train_unet.sh --unet_config_path configs/unet/stage1_512.yaml
#   ./train_unet.sh --resume latest
# Several machines: run this on each with the same rendezvous endpoint (any free port on the first node):
#   NNODES=2 RDZV_ENDPOINT=node0.example:29400 ./train_unet.sh ...
# which runs torchrun --nnodes 2 --nproc_per_node <GPUs> --rdzv_backend c10d --rdzv_endpoint node0.example:29400.
# Paths given here are taken from the current folder; the paths inside the configs (data, checkpoints) are
# relative to the checkout, as in the original. The config, the data and the weights are checked before torchrun.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/torchrun.sh"
exec_torchrun "$ROOT" latentsync.cli.train_unet \
  --unet_config_path "$ROOT/configs/unet/stage2_512.yaml" \
  "$@"
