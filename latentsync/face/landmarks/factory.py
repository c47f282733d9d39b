"""Pick a landmark backend by name; backends are imported only when chosen (their packages are optional)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.errors import InputError
from latentsync.face.landmarks.detector import FaceLandmarkDetector
from latentsync.locations import CheckpointLayout

LANDMARK_DETECTORS = ("mediapipe", "face_alignment", "insightface")
DEFAULT_WEIGHTS_DIR = CheckpointLayout().auxiliary

if TYPE_CHECKING:  # the backends load torch when one is created; naming them (--help) needs none
    import torch


def create_landmark_detector(
    name: str, device: torch.device | str = "cpu", weights_dir: str | Path = DEFAULT_WEIGHTS_DIR
) -> FaceLandmarkDetector:
    """``mediapipe`` (CPU, no extra weights), ``face_alignment`` (68 points) or ``insightface`` (106 points).

    ``weights_dir`` holds the face_alignment / insightface weights; mediapipe ignores it and the device.
    """
    if name == "mediapipe":
        from latentsync.face.landmarks.mediapipe_detector import MediapipeLandmarkDetector

        return MediapipeLandmarkDetector()
    if name == "face_alignment":
        from latentsync.face.landmarks.face_alignment_detector import FaceAlignmentLandmarkDetector

        return FaceAlignmentLandmarkDetector(device, Path(weights_dir))
    if name == "insightface":
        from latentsync.face.landmarks.insightface_detector import InsightFaceLandmarkDetector

        return InsightFaceLandmarkDetector(device, Path(weights_dir))
    raise InputError(f"unknown landmark detector {name!r}; choose one of {', '.join(LANDMARK_DETECTORS)}")
