#!/usr/bin/env bash
# Train StableSyncNet on every GPU of this machine (or the CPU, with gloo). Flags are passed on, e.g.
#   ./train_syncnet.sh --config_path configs/syncnet/syncnet_16_latent.yaml
#   ./train_syncnet.sh --resume latest
# Several machines: run this on each with the same rendezvous endpoint (any free port on the first node):
#   NNODES=2 RDZV_ENDPOINT=node0.example:29400 ./train_syncnet.sh ...
# which runs torchrun --nnodes 2 --nproc_per_node <GPUs> --rdzv_backend c10d --rdzv_endpoint node0.example:29400.
# Run from the checkout: the configs' data and checkpoint paths are relative to it, as in the original.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source scripts/torchrun.sh
exec_torchrun scripts.train_syncnet \
  --config_path configs/syncnet/syncnet_16_pixel_attn.yaml \
  "$@"
