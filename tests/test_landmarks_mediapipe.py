"""The mediapipe landmark backend on real demo1 frames (decoded with PyAV) against the fixture points."""

import hashlib
import json
from itertools import islice

import av
import cv2
import numpy as np
import pytest

from latentsync.face.landmarks import create_landmark_detector
from tests.helpers.paths import shared_path

# The fixture ran the same face mesh; measured difference of the fed points: 0 px.
MAX_POINT_ERROR_PX = 2


@pytest.fixture(scope="module")
def landmarks_reference() -> dict:
    return json.loads(shared_path("parity", "face", "align", "landmarks.json").read_text())


@pytest.fixture(scope="module")
def demo_frames(landmarks_reference) -> np.ndarray:
    with av.open(str(shared_path("media", "demo1_video.mp4"))) as container:
        decoded = container.decode(video=0)
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in islice(decoded, 6)])
    hashes = [hashlib.sha256(frame.tobytes()).hexdigest() for frame in frames]
    assert hashes == landmarks_reference["frame_rgb_sha256"], "the decoder differs from the fixture's"
    return frames


@pytest.fixture(scope="module")
def detector():
    detector = create_landmark_detector("mediapipe")
    yield detector
    detector.close()


def test_points_match_fixture(detector, demo_frames, landmarks_reference):
    faces = detector.detect(demo_frames)
    points = np.stack([face.points for face in faces])
    assert points.dtype == np.float64 and points.shape == (6, 3, 2)
    assert np.abs(points - np.array(landmarks_reference["landmarks3_fed"])).max() <= MAX_POINT_ERROR_PX
    box = faces[0].box
    assert box[0] < points[0, :, 0].min() and points[0, :, 0].max() < box[2]  # eyebrows and nose inside the face
    assert box[1] < points[0, :, 1].min() and points[0, :, 1].max() < box[3]


def test_no_face_gives_none(detector):
    assert detector.detect(np.zeros((2, 240, 320, 3), dtype=np.uint8)) == [None, None]


@pytest.mark.parametrize("large_on_left", (True, False))
def test_largest_of_two_faces(detector, demo_frames, large_on_left):
    face = demo_frames[0, 450:1050, 300:900]
    small = cv2.resize(face, (300, 300), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((600, 1000, 3), dtype=np.uint8)
    large_left = 0 if large_on_left else 400
    small_left = 650 if large_on_left else 50
    canvas[:, large_left : large_left + 600] = face
    canvas[150:450, small_left : small_left + 300] = small

    (found,) = detector.detect([canvas])
    assert large_left <= found.points[:, 0].min() and found.points[:, 0].max() < large_left + 600
    alone = detector.detect_frame(np.ascontiguousarray(face)).points + [large_left, 0]
    # Same face, though not bit-identical: the mesh depends a little on the detector's crop of the canvas.
    assert np.abs(found.points - alone).max() <= 5
