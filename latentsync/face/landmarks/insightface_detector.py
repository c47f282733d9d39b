"""106-point landmarks from InsightFace (buffalo_l detector + 2d106 model): the LatentSync 1.6 reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from latentsync.face.landmarks.dependencies import import_backend_package, require_weight_file
from latentsync.face.landmarks.detector import DetectedFace, FaceLandmarkDetector, mouth_opening
from latentsync.face.landmarks.points import MOUTH_106, alignment_points_from_106, five_points_from_106

MODEL_PACK = "buffalo_l"
WEIGHT_FILES = ("det_10g.onnx", "2d106det.onnx")
DETECTOR_INPUT_SIZE = (512, 512)
# Faces the reference ignores: too small, implausible aspect ratio, or low detector confidence.
MIN_FACE_WIDTH, MIN_FACE_HEIGHT = 50, 80
MIN_ASPECT, MAX_ASPECT = 0.2, 1.5
MIN_SCORE = 0.5
INSTALL_HINT = "pip install insightface onnxruntime-gpu (onnxruntime on CPU-only machines)"
FETCH_HINT = f"copy InsightFace's {MODEL_PACK} model pack files {', '.join(WEIGHT_FILES)} there"


class InsightFaceLandmarkDetector(FaceLandmarkDetector):
    """Largest face passing the reference's size/aspect/score filters; fed the RGB frame, as the reference does."""

    def __init__(self, device: torch.device | str, weights_dir: Path) -> None:
        app_module = import_backend_package("insightface.app", "insightface", INSTALL_HINT)
        for name in WEIGHT_FILES:
            require_weight_file(Path(weights_dir) / "models" / MODEL_PACK / name, FETCH_HINT)
        device = torch.device(device)
        on_cuda = device.type == "cuda"
        self._app = app_module.FaceAnalysis(
            name=MODEL_PACK,
            root=str(weights_dir),
            allowed_modules=["detection", "landmark_2d_106"],
            providers=["CUDAExecutionProvider"] if on_cuda else ["CPUExecutionProvider"],
        )
        self._app.prepare(ctx_id=(device.index or 0) if on_cuda else -1, det_size=DETECTOR_INPUT_SIZE)

    def detect_frame(self, frame: np.ndarray) -> DetectedFace | None:
        # The reference compares the areas of the boxes truncated to whole pixels (the first of equal ones wins).
        return max(self.detect_all_frame(frame), key=lambda face: _whole_pixel_area(face.box), default=None)

    def detect_all_frame(self, frame: np.ndarray) -> list[DetectedFace]:
        faces = []
        for face in self._app.get(frame):
            x1, y1, x2, y2 = face.bbox.astype(np.int_).tolist()
            width, height = x2 - x1, y2 - y1
            if width < MIN_FACE_WIDTH or height < MIN_FACE_HEIGHT:
                continue
            if not MIN_ASPECT <= width / height <= MAX_ASPECT or face.det_score < MIN_SCORE:
                continue
            faces.append(DetectedFace(points=alignment_points_from_106(np.round(face.landmark_2d_106)),
                                      box=np.asarray(face.bbox[:4], dtype=np.float64),
                                      five_points=five_points_from_106(face.landmark_2d_106),
                                      mouth_opening=mouth_opening(face.landmark_2d_106[MOUTH_106])))
        return faces


def _whole_pixel_area(box: np.ndarray) -> int:
    x1, y1, x2, y2 = box.astype(np.int_).tolist()
    return (x2 - x1) * (y2 - y1)
