"""Where the benchmarks find their clips: ``../shared/media`` beside the checkout (the reference copies the tests
read) when it is there, else ``assets/``, where ``./setup_env.sh`` downloads the demo clips."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MEDIA_DIRS = (REPO_ROOT.parent / "shared" / "media", REPO_ROOT / "assets")


def demo_clip(name: str) -> Path:
    """``name`` in the first folder of ``MEDIA_DIRS`` that has it; the ``assets/`` path when none has."""
    return next((folder / name for folder in MEDIA_DIRS if (folder / name).is_file()), MEDIA_DIRS[-1] / name)


def missing_inputs(paths: Iterable[Path], options: str | None = None) -> str | None:
    """The one-line error for the input files that do not exist (``options``: how to pass others), else None."""
    missing = [str(path) for path in paths if not Path(path).is_file()]
    if not missing:
        return None
    alternative = f" or pass {options}" if options else ""
    return (f"error: missing input {', '.join(missing)}; run ./setup_env.sh (it downloads the demo clips into "
            f"assets/){alternative}")
