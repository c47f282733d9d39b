#!/usr/bin/env bash
# One-time set-up of a fresh machine: virtual environment, Python packages, ffmpeg, and the released weights.
#   ./setup_env.sh                   everything (weights of LatentSync 1.6)
#   ./setup_env.sh --with-1.5        also the 256x256 LatentSync 1.5 U-Net
#   ./setup_env.sh --auxiliary       also SyncNet / evaluation / face-detector weights
#   ./setup_env.sh --with-enhancers  also the ONNX face restorers (GFPGAN, CodeFormer, GPEN) for --face_enhance
#   ./setup_env.sh --skip-downloads  packages only (what the tests need)
# PIP_CONSTRAINT=file pins exact versions (the tests use .ci/constraints.txt).
set -euo pipefail
cd "$(dirname "$0")"

skip_downloads=0
releases=(1.6)
download_args=()
for arg in "$@"; do
  case "$arg" in
    --skip-downloads) skip_downloads=1 ;;
    --with-1.5) releases+=(1.5) ;;
    --auxiliary) download_args+=(--auxiliary) ;;
    --with-enhancers) download_args+=(--enhancers gfpgan codeformer gpen) ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "error: unknown option $arg (see $0 --help)" >&2; exit 2 ;;
  esac
done

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt

# Encoding and decoding use PyAV's bundled FFmpeg; a system ffmpeg is only a convenience for users.
if ! command -v ffmpeg >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null) || echo "note: apt could not install ffmpeg (not required)"
fi

# Nothing is called ready unchecked: torch, torchvision's compiled ops and diffusers must load together (a
# torchvision built for another torch installs fine and fails on first use). One error line and exit 2 otherwise.
.venv/bin/python -m scripts.check_environment

if [ "$skip_downloads" = 0 ]; then
  status=0
  .venv/bin/python -m scripts.download_checkpoints --releases "${releases[@]}" "${download_args[@]}" || status=$?
  case "$status" in
    0) ;;
    2) echo "the environment itself is ready (.venv with every package, checked above); only the files above are missing" >&2
       exit 2 ;;
    130|143) exit "$status" ;;  # interrupted: the download said so
    *) echo "error: the download stopped with exit code $status (its output is above); the packages passed the check," \
            "the weights are incomplete: run ./setup_env.sh again (present files are kept)" >&2
       exit "$status" ;;
  esac
fi
echo "environment ready: .venv"
