"""Loading a script of benchmarks/ as a module (the folder is scripts, not a package the tests import from)."""

from __future__ import annotations

import importlib.util

from tests.helpers.paths import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"


def load_benchmark(name: str = "bench_inference"):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
