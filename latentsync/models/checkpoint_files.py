"""Whether a weight file is there and readable, said in one line that names the file and how to get it (no torch:
commands check their weights before the model code loads)."""

from __future__ import annotations

import os
from pathlib import Path

from latentsync.errors import CheckpointError


def require_checkpoint_file(path: str | os.PathLike, what: str = "checkpoint",
                            setup_hint: str = "./setup_env.sh") -> Path:
    """``path`` when it is a file; else a ``CheckpointError`` naming ``what``, the path and how to get it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} not found; run {setup_hint} to download it, or pass the right path")
    return path


def unreadable_checkpoint(path: str | os.PathLike, what: str = "checkpoint",
                          setup_hint: str = "./setup_env.sh") -> CheckpointError:
    """The one-line error for a weight file that exists but cannot be read (the loader's own message is many lines
    of advice that does not apply, or empty): what is wrong with the file and to download it again."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    state = ("is empty (0 bytes)" if size == 0 else
             f"cannot be read ({size} bytes; the download was interrupted or it is another kind of file)")
    return CheckpointError(f"{what} {path} {state}; delete it and download it again with {setup_hint}")
