"""Loading the face fixtures (../shared/parity/face): images, the ROI canvas trick, and the tolerances."""

from __future__ import annotations

import json

import cv2
import numpy as np

from tests.helpers.paths import shared_path

FRAME_SIZE = (1920, 1080)  # (H, W) of demo1
ROI_TOP, ROI_LEFT = 570, 452  # the ROI PNGs hold frame rows 570..926, cols 452..762
ROI_WINDOW = (570, 452, 927, 763)  # (top, left, bottom, right)
NUM_FRAMES = 6


def face_path(*parts: str):
    return shared_path("parity", "face", *parts)


def read_rgb(*parts: str) -> np.ndarray:
    """A fixture PNG as (H, W, 3) uint8 RGB."""
    return cv2.cvtColor(cv2.imread(str(face_path(*parts)), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def roi_frame(index: int) -> np.ndarray:
    """Frame ``index`` of demo1 as a zero 1920x1080 canvas holding only the ROI: enough for crops and restore."""
    canvas = np.zeros((*FRAME_SIZE, 3), dtype=np.uint8)
    roi = read_rgb("align", "frames_roi", f"frame{index}_roi.png")
    canvas[ROI_TOP : ROI_TOP + roi.shape[0], ROI_LEFT : ROI_LEFT + roi.shape[1]] = roi
    return canvas


def tolerances() -> dict[str, float]:
    return json.loads(face_path("tolerances_recommended.json").read_text())


def assert_u8_close(actual: np.ndarray, expected: np.ndarray, max_abs: float, max_fraction: float) -> None:
    """At most ``max_abs`` levels apart, and in at most ``max_fraction`` of the values."""
    assert actual.shape == expected.shape and actual.dtype == np.uint8
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert difference.max() <= max_abs, f"max |d| {difference.max()}"
    assert (difference > 0).mean() <= max_fraction, f"{(difference > 0).mean():.4%} of values differ"
