#!/usr/bin/env bash
# LSE-C / LSE-D of one video or a folder of videos, e.g.
#   ./eval/eval_sync_conf.sh --video_path result.mp4
#   ./eval/eval_sync_conf.sh --videos_dir results/ --csv_path results/sync_conf.csv
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${REPO_ROOT}/scripts/project_python.sh"
export PYTHONPATH="${REPO_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
exec "$(project_python "$REPO_ROOT")" -m eval.eval_sync_conf "$@"
