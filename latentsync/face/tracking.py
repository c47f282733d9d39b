"""Locate the face of every frame of a video: landmarks in batches, short gaps filled, alignment matrices.

This is the first pass of a lip-sync run (and the alignment stage of data processing): it keeps only a
2x3 matrix per frame, so memory does not grow with the video. Frames must arrive in video order because
the aligner smooths each matrix with the previous ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from latentsync.face.alignment import FaceAligner
from latentsync.face.landmarks import FaceLandmarkDetector

DETECTION_BATCH = 16  # frames handed to the detector at once


@dataclass(frozen=True)
class FaceTrack:
    """Per source frame ``0..n-1``: the frame -> crop matrix and whether a face was found (or borrowed)."""

    affine_matrices: torch.Tensor  # (n, 2, 3) float32; zeros where has_face is False
    has_face: torch.Tensor  # (n,) bool

    def __len__(self) -> int:
        return len(self.has_face)


def choose_face_backend(name: str, device: torch.device) -> str:
    """``auto``: face_alignment on CUDA when installed (the 1.5 default), else the offline mediapipe mesh."""
    if name != "auto":
        return name
    if device.type == "cuda":
        try:
            import face_alignment  # noqa: F401
            return "face_alignment"
        except ImportError:
            pass
    return "mediapipe"


def fill_face_gaps(points: list[np.ndarray | None], max_gap: int) -> list[np.ndarray | None]:
    """Frames without a face inside a gap of at most ``max_gap`` frames borrow the nearest neighbour's points.

    Brief detector misses (motion blur, a hand in front of the mouth) then keep being lip-synced, while longer
    gaps (cutaways, the speaker turning away) stay untouched.
    """
    filled = list(points)
    index = 0
    while index < len(points):
        if points[index] is not None:
            index += 1
            continue
        end = index
        while end < len(points) and points[end] is None:
            end += 1
        before = points[index - 1] if index > 0 else None
        after = points[end] if end < len(points) else None
        if end - index <= max_gap and (before is not None or after is not None):
            for k in range(index, end):
                nearest_before = before is not None and (after is None or k - (index - 1) <= end - k)
                filled[k] = before if nearest_before else after
        index = end
    return filled


def locate_faces(frames: Iterable[np.ndarray], num_frames: int, detector: FaceLandmarkDetector,
                 aligner: FaceAligner, max_gap: int = 2,
                 progress: Callable[[float], None] | None = None) -> FaceTrack:
    """Detect and align the first ``num_frames`` of ``frames`` ((H, W, 3) uint8 RGB, in video order).

    ``progress(fraction)`` is called after each detector batch. The aligner's smoothing state is reset first
    and follows only the frames that have a face. The caller decides what a track without any face means.
    """
    points: list[np.ndarray | None] = []
    batch: list[np.ndarray] = []
    with tqdm(total=num_frames, desc="detecting faces", unit="frame") as bar:
        for index, frame in enumerate(frames):
            if index == num_frames:
                break
            batch.append(frame)
            if len(batch) == DETECTION_BATCH or index == num_frames - 1:
                points += [None if face is None else face.points for face in detector.detect(batch)]
                bar.update(len(batch))
                if progress is not None:
                    progress(len(points) / num_frames)
                batch = []
    points = fill_face_gaps(points, max_gap)
    has_face = torch.tensor([p is not None for p in points], dtype=torch.bool)
    matrices = torch.zeros(len(points), 2, 3)
    if has_face.any():
        aligner.reset()
        matrices[has_face] = aligner.estimate_affine(np.stack([p for p in points if p is not None]))
    return FaceTrack(affine_matrices=matrices, has_face=has_face)
