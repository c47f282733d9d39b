"""Landmark backend selection, the 3-point rules, and the errors for missing packages or weights."""

import sys
import types

import numpy as np
import pytest

from latentsync.errors import CheckpointError, InputError
from latentsync.face.landmarks import create_landmark_detector
from latentsync.face.landmarks.points import alignment_points_from_68, alignment_points_from_106


def test_points_from_68_round_half_to_even():
    landmarks = np.zeros((68, 2))
    landmarks[17:22] = [[1, 0], [2, 0], [3, 0], [4, 0], [2.5 * 5 - 10, 0]]  # mean x 2.5 -> 2
    landmarks[22:27, 0] = 10
    landmarks[27:36] = [[7, 3]] * 8 + [[7, 7.5]]  # mean y 3.5 -> 4
    np.testing.assert_array_equal(alignment_points_from_68(landmarks), [[2, 0], [10, 0], [7, 4]])


def test_points_from_106_use_the_reference_groups():
    landmarks = np.zeros((106, 2))
    landmarks[[43, 48, 49, 51, 50]] = [1, 2]
    landmarks[101:106] = [3, 4]
    landmarks[[74, 77, 83, 86]] = [[5, 6], [5, 6], [6, 7], [6, 7]]  # mean 5.5, 6.5 -> 6, 6
    np.testing.assert_array_equal(alignment_points_from_106(landmarks), [[1, 2], [3, 4], [6, 6]])


def test_unknown_backend():
    with pytest.raises(InputError, match="choose one of"):
        create_landmark_detector("dlib")


@pytest.mark.parametrize(("name", "module"), [("face_alignment", "face_alignment"), ("insightface", "insightface.app")])
def test_missing_package(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail whether or not it is installed
    with pytest.raises(InputError, match="pip install"):
        create_landmark_detector(name, "cpu")


def test_missing_face_alignment_weights(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "face_alignment", types.SimpleNamespace(__version__="1.4.1"))
    with pytest.raises(CheckpointError, match=r"2DFAN4-cd938726ad\.zip.*setup_env\.sh"):
        create_landmark_detector("face_alignment", "cpu", weights_dir=tmp_path)


def test_unsupported_face_alignment_version(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "face_alignment", types.SimpleNamespace(__version__="1.5.0"))
    with pytest.raises(InputError, match="1.4.1"):
        create_landmark_detector("face_alignment", "cpu", weights_dir=tmp_path)


def test_missing_insightface_weights(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "insightface.app", types.SimpleNamespace())
    with pytest.raises(CheckpointError, match=r"buffalo_l.det_10g\.onnx"):
        create_landmark_detector("insightface", "cpu", weights_dir=tmp_path)
