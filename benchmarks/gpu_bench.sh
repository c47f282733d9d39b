#!/bin/sh
# Every GPU row of README "Speed" in one go (a few minutes on one H100/H200-class GPU). Run from the repo root.
# A failing row is reported and the next one still runs, so one device session yields every figure it can.
PYTHON=${PYTHON:-.venv/bin/python}
BENCH=benchmarks/bench_inference.py
FAST="--windows_per_call 4 --encoding fast"
status=0
row() {
  echo "=== $*"
  "$PYTHON" "$@" || { echo "=== FAILED: $*"; status=1; }
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
row benchmarks/bench_paste_back.py --scale 1 --device cuda --frames 128
row $BENCH --release 1.5 --dtype float16 --frames 200
row $BENCH --release 1.5 --dtype float16 --frames 200 --deepcache $FAST
row $BENCH --release 1.5 --dtype float16 --frames 200 --compile reduce-overhead $FAST  # CUDA graphs; not with DeepCache
row $BENCH --release 1.6 --dtype float16 --frames 100
row $BENCH --release 1.6 --dtype float16 --frames 100 --deepcache $FAST
exit $status
