"""The landmark-detector interface: per frame, the 3 alignment points of every face, and of the largest one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectedFace:
    """One face of a frame, in frame pixels (x = column, y = row)."""

    # (3, 2) float64, integer-valued: image-left eyebrow centre, image-right eyebrow centre, nose centre
    points: np.ndarray
    box: np.ndarray  # (4,) float64 x1, y1, x2, y2 of the face (informational; alignment uses only the points)
    # (5, 2) float64: image-left eye centre, image-right eye centre, nose tip, image-left and image-right mouth
    # corners; where face enhancement places the face in its restorer's template
    five_points: np.ndarray
    # Lip opening: the mouth's height over its width (grows as the mouth opens); None when the backend has no lips.
    mouth_opening: float | None = None


def box_area(box: np.ndarray) -> float:
    """Area of an x1, y1, x2, y2 box: how "largest face" is decided when a frame shows several."""
    return float((box[2] - box[0]) * (box[3] - box[1]))


def largest_face(faces: Sequence[DetectedFace]) -> DetectedFace | None:
    """The face of largest box (the first of equal ones), the original's rule; None for no face."""
    return max(faces, key=lambda face: box_area(face.box), default=None)


def mouth_opening(mouth: np.ndarray) -> float:
    """Height over width of the (N, 2) mouth landmarks' extent (0 for a degenerate mouth)."""
    width, height = np.ptp(np.asarray(mouth, dtype=np.float64)[:, :2], axis=0)
    return float(height / width) if width > 0 else 0.0


class FaceLandmarkDetector(ABC):
    """Finds the alignment points of the faces in RGB frames; ``detect`` keeps the largest one per frame."""

    def detect(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[DetectedFace | None]:
        """(B, H, W, 3) uint8 RGB frames (an array or a sequence of arrays) -> one result per frame."""
        return [self.detect_frame(np.ascontiguousarray(frame)) for frame in frames]

    def detect_all(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[list[DetectedFace]]:
        """Every face of each frame (speaker selection needs the faces ``detect`` leaves out)."""
        return [self.detect_all_frame(np.ascontiguousarray(frame)) for frame in frames]

    @abstractmethod
    def detect_frame(self, frame: np.ndarray) -> DetectedFace | None:
        """One (H, W, 3) uint8 RGB frame -> its largest face, or None when there is none."""

    def detect_all_frame(self, frame: np.ndarray) -> list[DetectedFace]:
        """Every face of one frame; backends that see several faces override this (the default has one at most)."""
        face = self.detect_frame(frame)
        return [] if face is None else [face]

    def close(self) -> None:
        """Release the backend's models and threads; backends without any keep this no-op."""
