import sys
from pathlib import Path

import pytest
import torch

# Make `tests.helpers.paths` and the project importable without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(2)


PARITY_DIR = Path(__file__).resolve().parent / "parity"
ALSO_SLOW = ("browser", "distributed", "install")  # each takes many seconds: the quick subset is `-m "not slow"`


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if PARITY_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.parity)
        if any(item.get_closest_marker(name) for name in ALSO_SLOW):
            item.add_marker(pytest.mark.slow)
