"""What the lip-sync pipeline reads a video through: a file (``VideoReader``) or frames in memory (``VideoFrames``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Protocol

import numpy as np


class VideoSource(Protocol):
    """Frames on a constant-rate grid (``fps``), by index, and the video's own soundtrack."""

    name: str  # how messages name the video
    fps: Fraction
    width: int
    height: int

    def count_frames(self) -> int:
        """Frames on the grid."""

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 RGB frames ``start, start + 1, ...`` to the end."""

    def iter_frames(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """The frames at ``indices``, in that order (repeats and backward runs allowed)."""

    def soundtrack(self, sample_rate: int) -> np.ndarray:
        """The video's own audio, mono float32 at ``sample_rate``; ``InputError`` when it has none."""
