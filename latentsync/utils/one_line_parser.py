"""``ArgumentParser`` whose usage errors are one line, like every other error of the entry points.

argparse prints the whole usage block (20+ lines for inference) above the one line that matters.
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """``prog: error: argument --x: must be at least 1, got -5 (see --help)`` and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
