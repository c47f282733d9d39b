"""Face tracking decides each frame ``max_gap`` frames after it, so generation can follow close behind it."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from latentsync.face.alignment import FaceAligner
from latentsync.face.landmarks.detector import DetectedFace, FaceLandmarkDetector
from latentsync.face.tracking import (DETECTION_BATCH, GrowingFaceTrack, detect_faces, fill_face_gaps, locate_faces,
                                      track_faces)

NUM_FRAMES = 40


class ScriptedDetector(FaceLandmarkDetector):
    """Finds a face (points drifting with the frame's value) unless the frame's value is in ``misses``."""

    def __init__(self, misses: set[int]) -> None:
        self.misses = misses
        self.frames_seen = 0

    def detect_frame(self, frame: np.ndarray) -> DetectedFace | None:
        self.frames_seen += 1
        index = int(frame[0, 0, 0])
        if index in self.misses:
            return None
        points = np.array([[80.0, 100.0], [170.0, 100.0], [125.0, 150.0]]) + index % 7
        five_points = np.array([[90.0, 120.0], [160.0, 120.0], [125.0, 160.0], [100.0, 190.0], [150.0, 190.0]])
        return DetectedFace(points=points, box=np.array([60.0, 60.0, 190.0, 220.0]), five_points=five_points + index)


def frames(count: int = NUM_FRAMES):
    return (np.full((256, 256, 3), index, dtype=np.uint8) for index in range(count))


def test_a_frame_is_decided_by_the_frames_up_to_max_gap_after_it():
    rng = random.Random(0)
    for _ in range(3000):
        max_gap = rng.randint(0, 4)
        points = [None if rng.random() < 0.5 else np.array([i]) for i in range(rng.randint(1, 16))]
        whole = fill_face_gaps(points, max_gap)
        for index in range(len(points)):
            early = fill_face_gaps(points[:index + max_gap + 1], max_gap)[index]
            assert (early is None) == (whole[index] is None), (points, max_gap, index)
            assert early is None or early[0] == whole[index][0]


def test_frames_are_yielded_before_the_detector_has_seen_the_rest():
    detector = ScriptedDetector(misses={5, 17, 18, 30, 31, 32})
    tracked = track_faces(detect_faces(frames(), NUM_FRAMES, detector), NUM_FRAMES, FaceAligner(256), max_gap=2)
    first = next(tracked)
    assert detector.frames_seen == DETECTION_BATCH and first.has_face
    rest = list(tracked)
    assert detector.frames_seen == NUM_FRAMES and len(rest) == NUM_FRAMES - 1
    whole = locate_faces(frames(), NUM_FRAMES, ScriptedDetector(detector.misses), FaceAligner(256), max_gap=2)
    torch.testing.assert_close(torch.stack([first.affine_matrix] + [frame.affine_matrix for frame in rest]),
                               whole.affine_matrices, rtol=0, atol=0)
    # one- and two-frame misses borrow a neighbour; the three in a row stay faceless
    assert whole.has_face.logical_not().nonzero().flatten().tolist() == [30, 31, 32]
    # the template points travel with the frame (a borrowed frame borrows its neighbour's), zeros without a face
    offsets = whole.five_points[:, 0, 0] - 90
    assert offsets[:5].tolist() == [0, 1, 2, 3, 4] and offsets[5] == 4 and offsets[17:19].tolist() == [16, 19]
    assert not whole.five_points[30:33].any() and whole.five_points.shape == (NUM_FRAMES, 5, 2)


@pytest.mark.parametrize("misses, found, known", [(set(), True, 1), (set(range(25)), True, 26),
                                                  (set(range(NUM_FRAMES)), False, NUM_FRAMES)])
def test_growing_track_finds_the_first_face_without_reading_further(misses, found, known):
    faces = detect_faces(frames(), NUM_FRAMES, ScriptedDetector(misses))
    track = GrowingFaceTrack(track_faces(faces, NUM_FRAMES, FaceAligner(256)), NUM_FRAMES)
    assert track.find_a_face() is found
    assert track.num_known == known
    track.extend_to(NUM_FRAMES + 5)  # asking past the end stops at the end
    assert track.num_known == NUM_FRAMES and bool(track.has_face.any()) is found
