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


@pytest.mark.slow
def test_the_256_px_default_backend_is_installed_and_stops_only_at_its_weights(tmp_path):
    """The requirements install face-alignment 1.4.x (data processing's and 1.5's backend at 256 px): the real package
    imports and the detector gets as far as its weights, which ./setup_env.sh --auxiliary fetches."""
    import face_alignment

    from latentsync.data_processing.affine_transform import AffineTransform
    from latentsync.face.landmarks.face_alignment_detector import SUPPORTED_VERSION_PREFIX
    from latentsync.face.landmarks.selection import backend_problem

    assert face_alignment.__version__.startswith(SUPPORTED_VERSION_PREFIX)
    assert AffineTransform(256).backend == "face_alignment"
    assert backend_problem("face_alignment", tmp_path).startswith("its weights ")  # the package is fine
    with pytest.raises(CheckpointError, match=r"2DFAN4-cd938726ad\.zip are missing; fetch them with "
                                              r"\./setup_env\.sh --auxiliary"):
        create_landmark_detector("face_alignment", "cpu", weights_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"aligns faces with face_alignment, but its weights .* are missing; put "
                                              r"them in .*: fetch them with \./setup_env\.sh --auxiliary"):
        AffineTransform(256, landmark_weights_dir=str(tmp_path)).check()


def test_unsupported_face_alignment_version(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "face_alignment", types.SimpleNamespace(__version__="1.5.0"))
    with pytest.raises(InputError, match="1.4.1"):
        create_landmark_detector("face_alignment", "cpu", weights_dir=tmp_path)


def test_missing_insightface_weights(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "insightface.app", types.SimpleNamespace())
    with pytest.raises(CheckpointError, match=r"buffalo_l.det_10g\.onnx"):
        create_landmark_detector("insightface", "cpu", weights_dir=tmp_path)


def _install_fake_backends(monkeypatch, packages: dict[str, str]):
    """Pretend the given packages (name -> version) are installed; the others are not."""
    import importlib.metadata
    import importlib.util

    real_find_spec, real_version = importlib.util.find_spec, importlib.metadata.version
    optional = {"face_alignment", "insightface"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        (object() if name in packages else None) if name in optional else real_find_spec(name, *a)))
    monkeypatch.setattr(importlib.metadata, "version", lambda dist: (
        packages["face_alignment"] if dist == "face-alignment" else real_version(dist)))


def _write_weights(weights_dir, backend):
    from latentsync.face.landmarks import face_alignment_detector, insightface_detector

    if backend == "face_alignment":
        paths = [weights_dir / name for name in face_alignment_detector.WEIGHT_FILES]
    else:
        pack = weights_dir / "models" / insightface_detector.MODEL_PACK
        paths = [pack / name for name in insightface_detector.WEIGHT_FILES]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")


@pytest.mark.parametrize(("release", "reference"), [("1.6", "insightface"), ("1.5", "face_alignment")])
def test_auto_takes_the_release_backend_when_it_can_run(monkeypatch, tmp_path, caplog, release, reference):
    from latentsync.face.landmarks.selection import choose_landmark_backend

    _install_fake_backends(monkeypatch, {"face_alignment": "1.4.1", "insightface": "0.7.3"})
    _write_weights(tmp_path, "face_alignment")
    _write_weights(tmp_path, "insightface")
    with caplog.at_level("INFO", logger="latentsync.face.landmarks.selection"):
        choice = choose_landmark_backend("auto", release, tmp_path)
    assert choice.name == reference and f"LatentSync {release} was made with it" in choice.reason
    assert reference in caplog.text


def test_auto_falls_back_and_says_why(monkeypatch, tmp_path):
    from latentsync.face.landmarks.selection import choose_landmark_backend

    _install_fake_backends(monkeypatch, {"face_alignment": "1.4.1"})
    _write_weights(tmp_path, "face_alignment")
    choice = choose_landmark_backend("auto", "1.6", tmp_path)  # insightface missing -> the other accurate one
    assert choice.name == "face_alignment"
    assert "insightface: the insightface package is not installed" in choice.reason

    _install_fake_backends(monkeypatch, {"face_alignment": "1.5.0", "insightface": "0.7.3"})
    choice = choose_landmark_backend("auto", "1.5", tmp_path)  # wrong version, insightface without weights
    assert choice.name == "mediapipe"
    assert "1.4.x is needed" in choice.reason and "det_10g.onnx" in choice.reason


def test_explicit_backend_and_release_of_a_config():
    from latentsync.face.landmarks.selection import choose_landmark_backend, release_for_resolution

    assert choose_landmark_backend("mediapipe", "1.6", "nowhere").name == "mediapipe"
    assert (release_for_resolution(512), release_for_resolution(256)) == ("1.6", "1.5")
    with pytest.raises(InputError, match="unknown release"):
        choose_landmark_backend("auto", "2.0", "nowhere")
