#!/bin/sh
# Every GPU row of README "Speed" in one go (a few minutes on one H100/H200-class GPU). Run from the repo root.
set -e
PYTHON=${PYTHON:-.venv/bin/python}
BENCH=benchmarks/bench_inference.py
$PYTHON $BENCH --release 1.5 --dtype float16 --frames 200
$PYTHON $BENCH --release 1.5 --dtype float16 --frames 200 --deepcache
$PYTHON $BENCH --release 1.5 --dtype float16 --frames 200 --compile  # not with DeepCache: its hooks break the graph
$PYTHON $BENCH --release 1.6 --dtype float16 --frames 100
$PYTHON $BENCH --release 1.6 --dtype float16 --frames 100 --deepcache
