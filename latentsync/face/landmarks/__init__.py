"""Face landmark backends reduced to the 3 alignment points the aligner needs."""

from latentsync.face.landmarks.detector import DetectedFace, FaceLandmarkDetector
from latentsync.face.landmarks.factory import LANDMARK_DETECTORS, create_landmark_detector

__all__ = ["LANDMARK_DETECTORS", "DetectedFace", "FaceLandmarkDetector", "create_landmark_detector"]
