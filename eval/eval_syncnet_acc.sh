#!/usr/bin/env bash
# Accuracy of a StableSyncNet on its config's validation list, as the original, e.g.
#   ./eval/eval_syncnet_acc.sh --config_path configs/syncnet/syncnet_16_pixel_attn.yaml
#   ./eval/eval_syncnet_acc.sh --config_path configs/syncnet/syncnet_16_latent.yaml --videos_dir data/val_affine
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${REPO_ROOT}/scripts/project_python.sh"
export PYTHONPATH="${REPO_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
exec "$(project_python "$REPO_ROOT")" -m eval.eval_syncnet_acc "$@"
