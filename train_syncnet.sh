#!/usr/bin/env bash
# Train StableSyncNet on every GPU of this machine (or the CPU, with gloo). Flags are passed on, e.g.
#   ./train_syncnet.sh --config_path configs/syncnet/syncnet_16_latent.yaml
#   ./train_syncnet.sh --resume latest
# Several machines: run this on each with the same rendezvous endpoint (any free port on the first node):
#   NNODES=2 RDZV_ENDPOINT=node0.example:29400 ./train_syncnet.sh ...
# which runs torchrun --nnodes 2 --nproc_per_node <GPUs> --rdzv_backend c10d --rdzv_endpoint node0.example:29400.
# Paths given here are taken from the current folder; the paths inside the configs (data, checkpoints) are
# relative to the checkout, as in the original. The config, the data and the weights are checked before torchrun.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/torchrun.sh"
exec_torchrun "$ROOT" latentsync.cli.train_syncnet \
  --config_path "$ROOT/configs/syncnet/syncnet_16_pixel_attn.yaml" \
  "$@"
