#!/usr/bin/env bash
# Lip-sync the demo clip with LatentSync 1.6 (run ./setup_env.sh once first). Any flag is passed on, e.g.
#   ./inference.sh --video_path my.mp4 --audio_path my.wav --video_out_path out.mp4
# Relative paths are taken from the current folder; the defaults point into the checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/project_python.sh"
# The demo clips come with the weights (./setup_env.sh); say so instead of "file does not exist" (not for --help).
[[ " $* " == *" -h "* || " $* " == *" --help "* ]] ||
for default in --video_path:assets/demo1_video.mp4 --audio_path:assets/demo1_audio.wav; do
  flag="${default%%:*}" clip="$ROOT/${default#*:}"
  if [[ " $* " != *" $flag"[\ =]* && ! -f "$clip" ]]; then
    echo "error: the demo clip $clip is missing; run ./setup_env.sh (it downloads the demo clips), or pass $flag" >&2
    exit 2
  fi
done
export PYTHONPATH="${ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
exec "$(project_python "$ROOT")" -m scripts.inference \
  --unet_config_path "$ROOT/configs/unet/stage2_512.yaml" \
  --inference_ckpt_path "$ROOT/checkpoints/latentsync_unet.pt" \
  --inference_steps 20 \
  --guidance_scale 1.5 \
  --enable_deepcache \
  --video_path "$ROOT/assets/demo1_video.mp4" \
  --audio_path "$ROOT/assets/demo1_audio.wav" \
  --video_out_path video_out.mp4 \
  "$@"
