"""The frames lip-sync runs hand their video writer, recorded instead of encoded: what every route (files, frames
in memory, each door) is compared on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest

from latentsync.pipelines import lipsync_pipeline


@contextlib.contextmanager
def frames_to_the_encoder() -> Iterator[list[np.ndarray]]:
    """The frames pipeline runs hand their video writer within the block (recorded, not encoded)."""
    written: list[np.ndarray] = []

    class RecordingWriter(contextlib.nullcontext):
        def __init__(self, path, **_options):
            super().__init__(self)
            self.path = path

        def write(self, frame):
            written.append(frame.copy())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lipsync_pipeline, "BackgroundVideoWriter", RecordingWriter)
        yield written
