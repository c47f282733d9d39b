"""Face tracks are split at shot cuts found by PySceneDetect's content detector."""

import numpy as np

from latentsync.analysis.scene_detection import SceneCutDetector


def _shot(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (96, 128, 3), dtype=np.uint8)


def test_cut_between_two_shots_splits_the_scenes():
    detector = SceneCutDetector()
    for index in range(40):
        detector.update(_shot(0) if index < 20 else _shot(1))
    assert detector.scenes() == [(0, 20), (20, 40)]


def test_one_steady_shot_is_one_scene():
    detector = SceneCutDetector()
    for _ in range(30):
        detector.update(_shot(0))
    assert detector.scenes() == [(0, 30)]


def test_cuts_closer_than_the_minimum_scene_length_are_ignored():
    detector = SceneCutDetector(min_scene_len=15)
    for index in range(40):
        detector.update(_shot(index // 5))  # a new shot every 5 frames
    assert all(b - a >= 15 for a, b in detector.scenes()[:-1])
