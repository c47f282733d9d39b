"""The 3 alignment points (eyebrow centres, nose centre) from 68- or 106-point landmarks (README B.1).

The reference rounds the landmarks to integers first and the three means again (half to even),
so the points fed to the aligner are always whole pixels.
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


def _rounded_group_means(landmarks: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    landmarks = np.asarray(landmarks, dtype=np.float64)[:, :2]
    return np.round(np.stack([landmarks[group].mean(axis=0) for group in groups]))


def alignment_points_from_68(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2+) integer landmarks -> (3, 2) float64 points (the LatentSync 1.5 groups, 1.6 rounding)."""
    return _rounded_group_means(landmarks, [LEFT_BROW_68, RIGHT_BROW_68, NOSE_68])


def alignment_points_from_106(landmarks: np.ndarray) -> np.ndarray:
    """(106, 2) integer landmarks -> (3, 2) float64 points (the LatentSync 1.6 rule)."""
    return _rounded_group_means(landmarks, [LEFT_BROW_106, RIGHT_BROW_106, NOSE_106])
