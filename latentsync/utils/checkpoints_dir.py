"""One rule for where the weights are: ``--checkpoints_dir``, by default the checkout's ``checkpoints/`` (where
``./setup_env.sh`` puts them), whatever the current folder. A file's own flag (``--s3fd_path``, ...) overrides it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"


def add_checkpoints_dir_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--checkpoints_dir", type=Path, default=DEFAULT_CHECKPOINTS_DIR,
                        help="folder of the weights ./setup_env.sh downloads (default: the checkout's checkpoints/)")


def in_checkpoints_dir(path: str | os.PathLike, checkpoints_dir: str | os.PathLike) -> Path:
    """A config's path: ``checkpoints/...`` is found in ``checkpoints_dir``, another relative path in the checkout
    (as the configs' paths are documented), an absolute one stays."""
    path = Path(path)
    if path.is_absolute():
        return path
    if path.parts[:1] == ("checkpoints",):
        return Path(checkpoints_dir).joinpath(*path.parts[1:])
    return REPO_ROOT / path
