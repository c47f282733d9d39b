#!/usr/bin/env bash
# Lip-sync the demo clip with LatentSync 1.6 (run ./setup_env.sh once first). Any flag is passed on, e.g.
#   ./inference.sh --video_path my.mp4 --audio_path my.wav --video_out_path out.mp4
#   ./inference.sh --no_deepcache ...            # DeepCache off (on here, as in the original's script)
# Relative paths are taken from the current folder; the defaults point into the checkout, and the weights are
# found in --checkpoints_dir (default: the checkout's checkpoints/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/project_python.sh"
# A fresh clone's first run: say what ./setup_env.sh fetches, even before it made the environment. With flags,
# Python checks them first (a misspelt one is named) and says the same of a missing demo clip.
if [[ $# -eq 0 && ! -f "$ROOT/assets/demo1_video.mp4" ]]; then
  echo "error: the demo clip $ROOT/assets/demo1_video.mp4 is missing; run ./setup_env.sh (it downloads the demo clips), or pass --video_path" >&2
  exit 2
fi
export PYTHONPATH="${ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
exec "$(project_python "$ROOT")" -m scripts.inference \
  --unet_config_path "$ROOT/configs/unet/stage2_512.yaml" \
  --inference_steps 20 \
  --guidance_scale 1.5 \
  --enable_deepcache \
  --video_path "$ROOT/assets/demo1_video.mp4" \
  --audio_path "$ROOT/assets/demo1_audio.wav" \
  --video_out_path video_out.mp4 \
  "$@"
