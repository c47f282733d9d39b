#!/usr/bin/env bash
# Train StableSyncNet on every GPU of this machine (or the CPU, with gloo). Flags are passed on, e.g.
#   ./train_syncnet.sh --config_path configs/syncnet/syncnet_16_latent.yaml
#   ./train_syncnet.sh --resume latest
# Several machines: run this on each with the same rendezvous endpoint (any free port on the first node):
#   NNODES=2 RDZV_ENDPOINT=node0.example:29400 ./train_syncnet.sh ...
# which runs torchrun --nnodes 2 --nproc_per_node <GPUs> --rdzv_backend c10d --rdzv_endpoint node0.example:29400.
set -euo pipefail
cd "$(dirname "$0")"
NPROC_PER_NODE="${NPROC_PER_NODE:-$(.venv/bin/python -c 'import torch; print(max(torch.cuda.device_count(), 1))')}"
NNODES="${NNODES:-1}"
RDZV_ENDPOINT="${RDZV_ENDPOINT:-localhost:0}"
exec .venv/bin/torchrun --nnodes "$NNODES" --nproc_per_node "$NPROC_PER_NODE" \
  --rdzv_backend c10d --rdzv_endpoint "$RDZV_ENDPOINT" \
  -m scripts.train_syncnet --config_path configs/syncnet/syncnet_16_pixel_attn.yaml "$@"
