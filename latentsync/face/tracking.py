"""Locate the face of every frame of a video: landmarks in batches, short gaps filled, alignment matrices.

Two steps: ``detect_faces`` finds the largest face of each frame (or a speaker plan says which face each frame
shows, ``batched``), then ``track_faces`` fills short gaps and aligns, yielding each frame once it is decided. A
lip-sync run keeps tracking while it generates (``GrowingFaceTrack`` takes frames as each window needs them);
``locate_faces`` tracks a whole clip at once. Only a 2x3 matrix and 5 points are kept per frame, so memory does
not grow with the video. Faces must arrive in video order because the aligner smooths each matrix with the
previous ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from latentsync.face.alignment import FaceAligner
from latentsync.face.landmarks import DetectedFace, FaceLandmarkDetector

DETECTION_BATCH = 16  # frames handed to the detector at once
NUM_ALIGNMENT_POINTS = 3  # the per-frame point arrays hold the 3 alignment points, then the 5 template points


@dataclass(frozen=True)
class FaceTrack:
    """Per source frame ``0..n-1``: the frame -> crop matrix, the face's 5 template points (``DetectedFace``) and
    whether a face was found (or borrowed)."""

    affine_matrices: torch.Tensor  # (n, 2, 3) float32; zeros where has_face is False
    has_face: torch.Tensor  # (n,) bool
    five_points: torch.Tensor  # (n, 5, 2) float32 frame pixels; zeros where has_face is False

    def __len__(self) -> int:
        return len(self.has_face)


def gap_filled_points(points: Sequence[np.ndarray | None], index: int, max_gap: int) -> np.ndarray | None:
    """Frame ``index``'s points, or in a gap of at most ``max_gap`` frames, the nearest neighbour's.

    Brief detector misses (motion blur, a hand in front of the mouth) then keep being lip-synced, while longer
    gaps (cutaways, the speaker turning away) stay untouched. Only ``points[: index + max_gap + 1]`` is read, so
    a frame is decided as soon as the detector has seen ``max_gap`` frames past it. Ties go to the frame before.
    """
    if points[index] is not None:
        return points[index]
    start, end = index, index + 1  # the run of misses around index, grown until it is known or too long
    while start > 0 and points[start - 1] is None and end - start <= max_gap:
        start -= 1
    while end < len(points) and points[end] is None and end - start <= max_gap:
        end += 1
    before = points[start - 1] if start > 0 else None
    after = points[end] if end < len(points) else None
    if end - start > max_gap or (before is None and after is None):
        return None
    return before if before is not None and (after is None or index - (start - 1) <= end - index) else after


def fill_face_gaps(points: list[np.ndarray | None], max_gap: int) -> list[np.ndarray | None]:
    """``gap_filled_points`` of every frame."""
    return [gap_filled_points(points, index, max_gap) for index in range(len(points))]


class TrackedFrame(NamedTuple):
    """One frame of ``track_faces``."""

    affine_matrix: torch.Tensor  # (2, 3) float32 frame -> crop; zeros without a face
    five_points: torch.Tensor  # (5, 2) float32 eye centres, nose tip, mouth corners; zeros without a face
    has_face: bool


FaceBatches = Iterable[Sequence[DetectedFace | None]]
"""The face of each frame (``None``: no face), in video order, a batch at a time."""


def detect_faces(frames: Iterable[np.ndarray], num_frames: int, detector: FaceLandmarkDetector) -> FaceBatches:
    """The largest face of each of the first ``num_frames`` (H, W, 3) uint8 RGB ``frames``, detected
    ``DETECTION_BATCH`` frames at a time (the original's rule when several faces are in view)."""
    frames = itertools.islice(frames, num_frames)
    while batch := list(itertools.islice(frames, DETECTION_BATCH)):
        yield detector.detect(batch)


def batched(faces: Iterable[DetectedFace | None]) -> FaceBatches:
    """Faces planned per frame (e.g. a speaker plan), in the batches ``detect_faces`` would give."""
    faces = iter(faces)
    while batch := list(itertools.islice(faces, DETECTION_BATCH)):
        yield batch


def track_faces(face_batches: FaceBatches, num_frames: int, aligner: FaceAligner, max_gap: int = 2,
                progress: Callable[[float], None] | None = None) -> Iterator[TrackedFrame]:
    """A ``TrackedFrame`` for each of the first ``num_frames`` frames, yielded in order as each is decided
    (``max_gap`` frames later), so generation can start while the detector is still ahead of it.

    ``progress(fraction)`` is called after each batch. The aligner's smoothing state is reset first and follows
    only the frames that have a face. A borrowed frame borrows all its points (alignment and template).
    """
    aligner.reset()
    points: list[np.ndarray | None] = []
    decided = 0
    with tqdm(total=num_frames, desc="detecting faces", unit="frame") as bar:
        for faces in face_batches:
            points += [_tracked_points(face) for face in faces[:num_frames - len(points)]]
            bar.update(len(points) - bar.n)
            if progress is not None:
                progress(len(points) / num_frames)
            ready = len(points) if len(points) == num_frames else len(points) - max_gap
            yield from _aligned(points, range(decided, ready), aligner, max_gap)
            decided = max(decided, ready)
            if len(points) == num_frames:
                return
        yield from _aligned(points, range(decided, len(points)), aligner, max_gap)  # the video ended early


def _tracked_points(face: DetectedFace | None) -> np.ndarray | None:
    """One (8, 2) array per frame (the alignment points, then the template points): a few floats per frame."""
    return None if face is None else np.concatenate([face.points, face.five_points])


def _aligned(points: list[np.ndarray | None], frames: range, aligner: FaceAligner,
             max_gap: int) -> Iterator[TrackedFrame]:
    filled = [gap_filled_points(points, index, max_gap) for index in frames]
    found = [p for p in filled if p is not None]
    matrices = iter(aligner.estimate_affine(np.stack(found)[:, :NUM_ALIGNMENT_POINTS]).to(torch.float32)
                    if found else ())
    for p in filled:
        if p is None:
            yield TrackedFrame(torch.zeros(2, 3), torch.zeros(5, 2), False)
        else:
            yield TrackedFrame(next(matrices), torch.tensor(p[NUM_ALIGNMENT_POINTS:], dtype=torch.float32), True)


def locate_faces(frames: Iterable[np.ndarray], num_frames: int, detector: FaceLandmarkDetector,
                 aligner: FaceAligner, max_gap: int = 2,
                 progress: Callable[[float], None] | None = None) -> FaceTrack:
    """The whole ``track_faces`` of the first ``num_frames`` of ``frames``. The caller decides what a track
    without any face means."""
    faces = track_faces(detect_faces(frames, num_frames, detector), num_frames, aligner, max_gap, progress)
    track = GrowingFaceTrack(faces, num_frames)
    track.extend_to(num_frames)
    return track.known()


class GrowingFaceTrack:
    """A ``FaceTrack`` of ``num_frames`` filled from ``track_faces`` on demand, up to the frames asked for.

    The lip-sync loop asks for each window's frames just before it generates them, so it waits for the tracker
    (e.g. running ahead in a background thread) only when it has caught up with it. Frames the tracker never
    reached (a video shorter than announced) keep ``has_face`` False.
    """

    def __init__(self, faces: Iterator[TrackedFrame], num_frames: int) -> None:
        self._faces = faces
        self.affine_matrices = torch.zeros(num_frames, 2, 3)
        self.has_face = torch.zeros(num_frames, dtype=torch.bool)
        self.five_points = torch.zeros(num_frames, 5, 2)
        self.num_known = 0

    def extend_to(self, num_frames: int) -> None:
        """Take frames from the tracker until ``num_frames`` are known (or it ends)."""
        for matrix, five_points, found in itertools.islice(self._faces, max(num_frames - self.num_known, 0)):
            self.affine_matrices[self.num_known] = matrix
            self.five_points[self.num_known] = five_points
            self.has_face[self.num_known] = found
            self.num_known += 1

    def known(self) -> FaceTrack:
        """The ``FaceTrack`` of the frames taken so far."""
        known = self.num_known
        return FaceTrack(affine_matrices=self.affine_matrices[:known], has_face=self.has_face[:known],
                         five_points=self.five_points[:known])

    def find_a_face(self) -> bool:
        """Take frames until one has a face; False when none of them has."""
        while not self.has_face[:self.num_known].any() and self.num_known < len(self.has_face):
            known = self.num_known
            self.extend_to(known + 1)
            if self.num_known == known:
                return False
        return bool(self.has_face[:self.num_known].any())
