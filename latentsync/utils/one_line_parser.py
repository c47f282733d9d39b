"""``ArgumentParser`` whose usage errors are one line, like every other error of the entry points, and whose usage
names the command as it was run.

argparse prints the whole usage block (20+ lines for inference) above the one line that matters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

CONSOLE_COMMAND_PREFIX = "latentsync-"  # the executables `pip install` makes from pyproject's [project.scripts]


class ArgumentParser(argparse.ArgumentParser):
    """``prog: error: argument --x: must be at least 1, got -5 (see --help)`` and exit 2.

    ``prog`` is the README's way to run the command (``python -m scripts.train_unet``); run as an installed console
    command, its usage and errors name that command instead (``latentsync-train-unet``), which is what was typed.
    """

    def __init__(self, *args: Any, prog: str | None = None, **kwargs: Any) -> None:
        invoked = Path(sys.argv[0]).name
        super().__init__(*args, prog=invoked if invoked.startswith(CONSOLE_COMMAND_PREFIX) else prog, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
