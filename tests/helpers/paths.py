"""Where the shared reference data lives, and a skip helper for tests that need it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO_ROOT.parent / "shared"
PARITY_DIR = SHARED_DIR / "parity"
MEDIA_DIR = SHARED_DIR / "media"


def shared_path(*parts: str) -> Path:
    """Return a path under ``../shared`` or skip the calling test with a reason naming what is missing."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (tests read ../shared beside the checkout at run time)")
    return path
