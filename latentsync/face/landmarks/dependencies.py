"""Checks that a landmark backend's package and weight files exist, with a message saying how to get them."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from latentsync.errors import CheckpointError, InputError


def import_backend_package(module: str, backend: str, install_hint: str) -> ModuleType:
    """Import an optional backend package, or raise InputError naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        message = f"landmark detector {backend!r} needs the {module} package ({error}); {install_hint}"
        raise InputError(message) from None


def require_weight_file(path: Path, fetch_hint: str) -> Path:
    """Return ``path`` if the file exists, else raise CheckpointError naming it and how to fetch it."""
    if not path.is_file():
        raise CheckpointError(f"landmark weights {path} are missing; {fetch_hint}")
    return path
