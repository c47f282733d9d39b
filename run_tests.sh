#!/usr/bin/env bash
# Installs what the tests need (pinned by .ci/constraints.txt) and runs the whole suite on CPU.
set -euo pipefail
cd "$(dirname "$0")"
export PIP_CONSTRAINT="${PIP_CONSTRAINT:-$PWD/.ci/constraints.txt}"
# The Gradio browser tests drive Debian's Chromium (they skip, saying so, where it cannot be installed).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "note: apt could not install chromium"
fi
./setup_env.sh --skip-downloads
exec .venv/bin/python -m pytest -q -rs tests "$@"
