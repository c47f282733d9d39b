#!/usr/bin/env bash
# Installs what the tests need (pinned by .ci/constraints.txt) and runs the whole suite on CPU.
set -euo pipefail
cd "$(dirname "$0")"
export PIP_CONSTRAINT="${PIP_CONSTRAINT:-$PWD/.ci/constraints.txt}"
./setup_env.sh --skip-downloads
exec .venv/bin/python -m pytest -q -rs tests "$@"
