"""The landmark-detector interface: per frame, the 3 alignment points of the largest face, or None."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectedFace:
    """The face chosen in one frame, in frame pixels (x = column, y = row)."""

    # (3, 2) float64, integer-valued: image-left eyebrow centre, image-right eyebrow centre, nose centre
    points: np.ndarray
    box: np.ndarray  # (4,) float64 x1, y1, x2, y2 of the face (informational; alignment uses only the points)
    # (5, 2) float64: image-left eye centre, image-right eye centre, nose tip, image-left and image-right mouth
    # corners; where face enhancement places the face in its restorer's template
    five_points: np.ndarray


def box_area(box: np.ndarray) -> float:
    """Area of an x1, y1, x2, y2 box: how "largest face" is decided when a frame shows several."""
    return float((box[2] - box[0]) * (box[3] - box[1]))


class FaceLandmarkDetector(ABC):
    """Finds the alignment points of the largest face in RGB frames; frames without a face give None."""

    def detect(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[DetectedFace | None]:
        """(B, H, W, 3) uint8 RGB frames (an array or a sequence of arrays) -> one result per frame."""
        return [self.detect_frame(np.ascontiguousarray(frame)) for frame in frames]

    @abstractmethod
    def detect_frame(self, frame: np.ndarray) -> DetectedFace | None:
        """One (H, W, 3) uint8 RGB frame -> its largest face, or None when there is none."""

    def close(self) -> None:
        """Release the backend's models and threads; backends without any keep this no-op."""
