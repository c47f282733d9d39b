"""Face tracks and the SyncNet face crops of a video (the original's ``SyncNetDetector``, minus its temp files).

Per scene, detections are chained greedily into tracks (next detection within ``num_failed_det`` frames
and IoU > 0.5 with the last one), gaps are filled by linear interpolation, and short or small tracks are
dropped. Each track is then cut out with the classic SyncNet framing: a square around the face centre
widened by ``crop_scale`` and shifted down to include mouth and chin, median-smoothed over 13 frames and
resized to 224x224.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import interp1d
from scipy.signal import medfilt

CROP_SIZE = 224
PAD_VALUE = 110  # grey border for crops that leave the frame


@dataclass(frozen=True)
class FaceTrack:
    """Consecutive ``frames`` (indices) of one face with its (x1, y1, x2, y2) ``boxes``, one per frame."""

    frames: np.ndarray
    boxes: np.ndarray


def track_faces(detections: Sequence[Sequence[np.ndarray]], scenes: Iterable[tuple[int, int]], min_track: int = 50,
                num_failed_det: int = 25, min_face_size: float = 100, iou_threshold: float = 0.5) -> list[FaceTrack]:
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
                tracks.append(FaceTrack(all_frames, all_boxes))
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


class TrackCropper:
    """Cuts the 224x224 BGR SyncNet crops of several tracks from one in-order pass over the frames."""

    def __init__(self, tracks: Sequence[FaceTrack], crop_scale: float = 0.4):
        self.crop_scale = crop_scale
        self._windows = [_smoothed_windows(track) for track in tracks]
        self._starts = [int(track.frames[0]) for track in tracks]
        self.crops: list[list[np.ndarray]] = [[] for _ in tracks]

    def update(self, index: int, frame_rgb: np.ndarray) -> None:
        """Add frame ``index`` to every track that contains it (frames must arrive in order)."""
        frame_bgr = None
        for crops, start, (half_size, center_x, center_y) in zip(self.crops, self._starts, self._windows, strict=True):
            offset = index - start
            if 0 <= offset < len(half_size):
                if frame_bgr is None:
                    frame_bgr = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
                crops.append(self._crop(frame_bgr, half_size[offset], center_x[offset], center_y[offset]))

    def _crop(self, frame_bgr: np.ndarray, half_size: float, center_x: float, center_y: float) -> np.ndarray:
        scale = self.crop_scale
        pad = int(half_size * (1 + 2 * scale))
        padded = np.pad(frame_bgr, ((pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=PAD_VALUE)
        center_y, center_x = center_y + pad, center_x + pad
        face = padded[int(center_y - half_size): int(center_y + half_size * (1 + 2 * scale)),
                      int(center_x - half_size * (1 + scale)): int(center_x + half_size * (1 + scale))]
        return cv2.resize(face, (CROP_SIZE, CROP_SIZE))


def _smoothed_windows(track: FaceTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median-filtered (13 frames, zero-padded at the ends as scipy does) half-size and centre per frame."""
    boxes = track.boxes
    half_size = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    center_x = (boxes[:, 0] + boxes[:, 2]) / 2
    center_y = (boxes[:, 1] + boxes[:, 3]) / 2
    return tuple(medfilt(values, kernel_size=13) for values in (half_size, center_x, center_y))
