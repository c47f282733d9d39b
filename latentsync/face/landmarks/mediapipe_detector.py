"""Landmarks from MediaPipe's face mesh (CPU, weights inside the wheel), as LatentSync 1.5 did on CPU."""

from __future__ import annotations

import contextlib

import numpy as np

from latentsync.face.landmarks.dependencies import import_backend_package
from latentsync.face.landmarks.detector import DetectedFace, FaceLandmarkDetector, largest_face, mouth_opening
from latentsync.face.landmarks.points import INNER_LIPS_68, alignment_points_from_68, five_points_from_68
from latentsync.utils.quiet_logs import filtered_native_stderr

# Face-mesh vertex standing in for each of the 68 iBUG points (LatentSync 1.5's table).
MESH_INDEX_FOR_68_POINTS = [
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389, 71, 63, 105, 66, 107, 336,
    296, 334, 293, 301, 168, 197, 5, 4, 75, 97, 2, 326, 305, 33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373,
    380, 61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
]  # fmt: skip
# Meshes computed per frame; more than one so that the largest face (or a speaker) can be chosen (a face's
# mesh does not depend on this number).
MAX_FACES = 4


def face_from_mesh(mesh: np.ndarray, box: np.ndarray) -> DetectedFace:
    """A face mesh (468 vertices, frame pixels) read through the 68-point table: alignment and template points, and
    how open the mouth is."""
    landmarks = mesh[MESH_INDEX_FOR_68_POINTS]
    return DetectedFace(points=alignment_points_from_68(landmarks), box=box, five_points=five_points_from_68(landmarks),
                        mouth_opening=mouth_opening(landmarks[INNER_LIPS_68]))


class MediapipeLandmarkDetector(FaceLandmarkDetector):
    """Face mesh on the full RGB frame, pixel coordinates truncated with int() like the reference."""

    def __init__(self) -> None:
        mediapipe = import_backend_package("mediapipe", "mediapipe", "pip install -r requirements.txt")
        # TensorFlow Lite / absl print start-up lines from the graph's threads, at any time while it runs.
        self._native_output_filter = contextlib.ExitStack()
        self._native_output_filter.enter_context(filtered_native_stderr())
        try:
            self._mesh = mediapipe.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=MAX_FACES, refine_landmarks=False
            )
        except BaseException:
            self._native_output_filter.close()
            raise

    def detect_frame(self, frame: np.ndarray) -> DetectedFace | None:
        return largest_face(self.detect_all_frame(frame))

    def detect_all_frame(self, frame: np.ndarray) -> list[DetectedFace]:
        height, width = frame.shape[:2]
        results = self._mesh.process(frame)
        faces = []
        for face in results.multi_face_landmarks or ():
            mesh = np.array([(int(point.x * width), int(point.y * height)) for point in face.landmark],
                            dtype=np.float64)
            faces.append(face_from_mesh(mesh, np.concatenate([mesh.min(axis=0), mesh.max(axis=0)])))
        return faces

    def close(self) -> None:
        self._mesh.close()
        self._native_output_filter.close()
