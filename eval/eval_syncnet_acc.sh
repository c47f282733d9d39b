#!/usr/bin/env bash
# Accuracy of the released StableSyncNet on a folder of processed videos, e.g.
#   ./eval/eval_syncnet_acc.sh --videos_dir data/val_affine --num_clips 1024
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="${REPO_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
exec "${PYTHON:-python}" -m eval.eval_syncnet_acc "$@"
