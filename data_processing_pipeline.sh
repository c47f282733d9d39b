#!/usr/bin/env bash
# Raw videos -> training clips with the original's defaults (resolution 256, sync confidence threshold 3).
#   ./data_processing_pipeline.sh --input_dir /data/VoxCeleb2/raw
#   ./data_processing_pipeline.sh --input_dir /data/raw --executor ray --ray_address auto
# Any flag is passed on (see python -m data_processing.pipeline --help).
# Relative paths are taken from the current folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/project_python.sh"
export PYTHONPATH="${ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
exec "$(project_python "$ROOT")" -m data_processing.pipeline \
  --resolution 256 \
  --sync_conf_threshold 3 \
  "$@"
