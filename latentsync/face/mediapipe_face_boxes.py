"""mediapipe face detection as the original's FVD and data filters run it: short-range model, confidence 0.5."""

from __future__ import annotations

import contextlib

import numpy as np

from latentsync.utils.quiet_logs import filtered_native_stderr

# A face box relative to the frame: (xmin, ymin, width, height), as mediapipe's relative_bounding_box.
RelativeBox = tuple[float, float, float, float]


class MediapipeFaceBoxes:
    """Relative boxes of the faces in RGB frames; ``detector(frame)`` is the first face found, as the original uses."""

    def __init__(self) -> None:
        import mediapipe  # imported here: only the stages and protocols that need it load it

        # TensorFlow Lite / absl print start-up lines from the graph's threads while it runs (the FVD's face crop).
        self._native_output_filter = contextlib.ExitStack()
        self._native_output_filter.enter_context(filtered_native_stderr())
        try:
            self._detector = mediapipe.solutions.face_detection.FaceDetection(model_selection=0,
                                                                              min_detection_confidence=0.5)
        except BaseException:
            self._native_output_filter.close()
            raise

    def detect_all(self, frame: np.ndarray) -> list[RelativeBox]:
        """Every face mediapipe finds in the (H, W, 3) uint8 RGB ``frame``, in its order."""
        results = self._detector.process(frame)
        boxes = [detection.location_data.relative_bounding_box for detection in results.detections or []]
        return [(box.xmin, box.ymin, box.width, box.height) for box in boxes]

    def __call__(self, frame: np.ndarray) -> RelativeBox | None:
        boxes = self.detect_all(frame)
        return boxes[0] if boxes else None

    def close(self) -> None:
        try:
            self._detector.close()
        finally:
            self._native_output_filter.close()

    def __enter__(self) -> MediapipeFaceBoxes:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
