"""68-point landmarks from the face-alignment package (FAN + S3FD): LatentSync 1.5's default on CUDA."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentsync.errors import InputError
from latentsync.face.landmarks.dependencies import import_backend_package, require_weight_file
from latentsync.face.landmarks.detector import DetectedFace, FaceLandmarkDetector, largest_face, mouth_opening
from latentsync.face.landmarks.points import INNER_LIPS_68, alignment_points_from_68, five_points_from_68

# The files face-alignment 1.4.x loads (the version LatentSync 1.5 used; 1.5.x wants other files).
WEIGHT_FILES = ("2DFAN4-cd938726ad.zip", "s3fd-619a316812.pth")
SUPPORTED_VERSION_PREFIX = "1.4."
INSTALL_HINT = "pip install face-alignment==1.4.1"
FETCH_HINT = "fetch them with ./setup_env.sh --auxiliary"

if TYPE_CHECKING:  # torch comes with the backend; the download reads WEIGHT_FILES without it
    import torch


def _link_into_torch_hub(weights: Path) -> None:
    """face-alignment only loads from torch hub's cache and downloads what is missing there: link our copy in."""
    import torch

    hub_checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    hub_checkpoints.mkdir(parents=True, exist_ok=True)
    link = hub_checkpoints / weights.name
    if not link.exists():
        link.unlink(missing_ok=True)  # a dangling link from a moved checkout
        link.symlink_to(weights.resolve())


class FaceAlignmentLandmarkDetector(FaceLandmarkDetector):
    """S3FD face boxes + FAN 68 points; the landmarks are rounded before the group means (1.6 convention)."""

    def __init__(self, device: torch.device | str, weights_dir: Path) -> None:
        face_alignment = import_backend_package("face_alignment", "face_alignment", INSTALL_HINT)
        if not face_alignment.__version__.startswith(SUPPORTED_VERSION_PREFIX):
            raise InputError(
                f"landmark detector 'face_alignment' needs face-alignment {SUPPORTED_VERSION_PREFIX}x, whose weights "
                f"LatentSync ships (found {face_alignment.__version__}); {INSTALL_HINT}"
            )
        for name in WEIGHT_FILES:
            _link_into_torch_hub(require_weight_file(Path(weights_dir) / name, FETCH_HINT))
        self._model = face_alignment.FaceAlignment(
            face_alignment.LandmarksType.TWO_D, flip_input=False, device=str(device)
        )

    def detect_frame(self, frame: np.ndarray) -> DetectedFace | None:
        return largest_face(self.detect_all_frame(frame))

    def detect_all_frame(self, frame: np.ndarray) -> list[DetectedFace]:
        landmarks, _, boxes = self._model.get_landmarks_from_image(frame, return_bboxes=True)
        if not landmarks:
            return []
        return [DetectedFace(points=alignment_points_from_68(np.round(face)), box=np.asarray(box[:4], dtype=np.float64),
                             five_points=five_points_from_68(face),
                             mouth_opening=mouth_opening(face[INNER_LIPS_68]))
                for face, box in zip(landmarks, boxes)]
