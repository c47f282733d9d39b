"""The SyncNet face crops of box tracks, cut in one in-order pass over the frames.

Each track is cut out with the classic SyncNet framing: a square around the face centre widened by ``crop_scale``
and shifted down to include mouth and chin, median-smoothed over 13 frames and resized to 224x224.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy.signal import medfilt

from latentsync.analysis.face_box_tracks import FaceBoxTrack

CROP_SIZE = 224
PAD_VALUE = 110  # grey border for crops that leave the frame


class TrackCropper:
    """Cuts the 224x224 BGR SyncNet crops of several tracks from one in-order pass over the frames."""

    def __init__(self, tracks: Sequence[FaceBoxTrack], crop_scale: float = 0.4):
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


def _smoothed_windows(track: FaceBoxTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median-filtered (13 frames, zero-padded at the ends as scipy does) half-size and centre per frame."""
    boxes = track.boxes
    half_size = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    center_x = (boxes[:, 0] + boxes[:, 2]) / 2
    center_y = (boxes[:, 1] + boxes[:, 3]) / 2
    return tuple(medfilt(values, kernel_size=13) for values in (half_size, center_x, center_y))
