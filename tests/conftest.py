import sys
from pathlib import Path

import torch

# Make `tests.helpers.paths` and the project importable without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(2)
