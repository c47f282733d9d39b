"""Points derived from 68- or 106-point landmarks.

The 3 alignment points (eyebrow centres, nose centre, README B.1): the reference rounds the landmarks to
integers first and the three means again (half to even), so the points fed to the aligner are always whole pixels.
The 5 template points (eye centres, nose tip, mouth corners) place a face in a face restorer's template.
"""

from __future__ import annotations

import numpy as np

# 68-point (iBUG) indices: image-left eyebrow, image-right eyebrow, nose bridge and base.
LEFT_BROW_68 = list(range(17, 22))
RIGHT_BROW_68 = list(range(22, 27))
NOSE_68 = list(range(27, 36))
# InsightFace 106-point indices for the same three groups.
LEFT_BROW_106 = [43, 48, 49, 51, 50]
RIGHT_BROW_106 = [101, 102, 103, 104, 105]
NOSE_106 = [74, 77, 83, 86]
# The lips, for how open the mouth is: the 68-point inner lip contour, the 106-point mouth.
INNER_LIPS_68 = list(range(60, 68))
MOUTH_106 = list(range(52, 72))
# The 5 template points, image-left first: the eye centres (means of the eye contours), the nose tip and the
# mouth corners; the order of the restorers' five-point templates.
LEFT_EYE_68, RIGHT_EYE_68, NOSE_TIP_68, MOUTH_CORNERS_68 = list(range(36, 42)), list(range(42, 48)), 30, [48, 54]
LEFT_EYE_CENTRE_106, RIGHT_EYE_CENTRE_106, NOSE_TIP_106, MOUTH_CORNERS_106 = 38, 88, 86, [52, 61]


def _rounded_group_means(landmarks: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    landmarks = np.asarray(landmarks, dtype=np.float64)[:, :2]
    return np.round(np.stack([landmarks[group].mean(axis=0) for group in groups]))


def alignment_points_from_68(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2+) integer landmarks -> (3, 2) float64 points (the LatentSync 1.5 groups, 1.6 rounding)."""
    return _rounded_group_means(landmarks, [LEFT_BROW_68, RIGHT_BROW_68, NOSE_68])


def alignment_points_from_106(landmarks: np.ndarray) -> np.ndarray:
    """(106, 2) integer landmarks -> (3, 2) float64 points (the LatentSync 1.6 rule)."""
    return _rounded_group_means(landmarks, [LEFT_BROW_106, RIGHT_BROW_106, NOSE_106])


def five_points_from_68(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2+) landmarks -> (5, 2) float64: eye centres, nose tip, mouth corners, image-left first."""
    landmarks = np.asarray(landmarks, dtype=np.float64)[:, :2]
    eyes = [landmarks[LEFT_EYE_68].mean(axis=0), landmarks[RIGHT_EYE_68].mean(axis=0)]
    return np.stack([*eyes, landmarks[NOSE_TIP_68], *landmarks[MOUTH_CORNERS_68]])


def five_points_from_106(landmarks: np.ndarray) -> np.ndarray:
    """(106, 2) landmarks -> (5, 2) float64: the model's own eye-centre, nose-tip and mouth-corner points."""
    landmarks = np.asarray(landmarks, dtype=np.float64)[:, :2]
    return landmarks[[LEFT_EYE_CENTRE_106, RIGHT_EYE_CENTRE_106, NOSE_TIP_106, *MOUTH_CORNERS_106]]
