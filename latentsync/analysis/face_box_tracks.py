"""Face box tracks of the sync-confidence protocol (the original's ``SyncNetDetector`` tracking).

Per scene, detections are chained greedily into tracks (next detection within ``num_failed_det`` frames
and IoU > 0.5 with the last one), gaps are filled by linear interpolation, and short or small tracks are
dropped. (``--speaker`` links faces by another rule: ``latentsync.face.speaker_selection.link_speaker_tracks``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import interp1d

@dataclass(frozen=True)
class FaceBoxTrack:
    """Consecutive ``frames`` (indices) of one face with its (x1, y1, x2, y2) ``boxes``, one per frame."""

    frames: np.ndarray
    boxes: np.ndarray


def link_box_tracks(detections: Sequence[Sequence[np.ndarray]], scenes: Iterable[tuple[int, int]], min_track: int = 50,
                    num_failed_det: int = 25, min_face_size: float = 100, iou_threshold: float = 0.5) -> list[FaceBoxTrack]:
    """Tracks from per-frame lists of face boxes; only scenes of at least ``min_track`` frames are searched.

    A track is kept when it has more than ``min_track`` detections and its mean width or height exceeds
    ``min_face_size`` pixels.
    """
    tracks = []
    for start, end in scenes:
        if end - start < min_track:
            continue
        remaining = [[(index, np.asarray(box, dtype=np.float64)) for box in detections[index]]
                     for index in range(start, end)]
        while track := _take_track(remaining, num_failed_det, iou_threshold):
            if len(track) <= min_track:
                continue
            frames = np.array([index for index, _ in track])
            boxes = np.stack([box for _, box in track])
            all_frames = np.arange(frames[0], frames[-1] + 1)
            all_boxes = interp1d(frames, boxes, axis=0)(all_frames)
            size = max(np.mean(all_boxes[:, 2] - all_boxes[:, 0]), np.mean(all_boxes[:, 3] - all_boxes[:, 1]))
            if size > min_face_size:
                tracks.append(FaceBoxTrack(all_frames, all_boxes))
    return tracks


def _take_track(remaining: list[list[tuple[int, np.ndarray]]], num_failed_det: int,
                iou_threshold: float) -> list[tuple[int, np.ndarray]]:
    """Greedily chain and remove detections, starting from the earliest one left."""
    track: list[tuple[int, np.ndarray]] = []
    for faces in remaining:
        for face in list(faces):
            if not track or (face[0] - track[-1][0] <= num_failed_det and
                             box_iou(face[1], track[-1][1]) > iou_threshold):
                track.append(face)
                faces.remove(face)
                break
    return track


def box_iou(box_a: np.ndarray, box_b: np.ndarray) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    width = max(0.0, min(box_a[2], box_b[2]) - max(box_a[0], box_b[0]))
    height = max(0.0, min(box_a[3], box_b[3]) - max(box_a[1], box_b[1]))
    intersection = width * height
    area_a = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
    area_b = (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
    return float(intersection / (area_a + area_b - intersection))
