"""The face check that runs before model loading: sampled frames first, then a scan, never a false refusal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.face import quick_check
from latentsync.face.quick_check import SCAN_BATCH, require_a_face, sampled_frame_indices
from latentsync.io.video_reader import VideoReader
from tests.helpers.demo_clips import write_h264
from tests.helpers.paths import shared_path
from tests.helpers.synthetic_video import frame_for_index, index_of_frame, write_constant_rate_video

NUM_FRAMES = 40
SAMPLES = [2, 7, 12, 17, 22, 27, 32, 37]  # sampled_frame_indices(NUM_FRAMES), as the first test asserts
BAND = 16  # rows at the top of a test frame that say which frame it is, in synthetic_video's colour code


def with_index(frame: np.ndarray, index: int) -> np.ndarray:
    """``frame`` with its index written into the top rows (the face, lower down, stays as it is)."""
    frame = frame.copy()
    frame[:BAND] = frame_for_index(index, frame.shape[1], BAND)
    return frame


def shown_index(frame: np.ndarray) -> int:
    return index_of_frame(frame[4:BAND - 4])  # rows clear of the band's coded edge


def scan_batches(last: int) -> list[list[int]]:
    """The scan after the samples: frames 0.. in batches of SCAN_BATCH, up to the batch holding frame ``last``."""
    return [list(range(start, min(start + SCAN_BATCH, NUM_FRAMES))) for start in range(0, last + 1, SCAN_BATCH)]


class RecordingDetector:
    """The real detector, noting which frames (by the index each one shows) every ``detect`` call was given."""

    def __init__(self, detector):
        self.detector, self.calls, self.closed = detector, [], False

    def detect(self, frames):
        self.calls.append([shown_index(frame) for frame in frames])
        return self.detector.detect(frames)

    def close(self):
        self.closed = True
        self.detector.close()


@pytest.fixture
def detectors(monkeypatch) -> list[RecordingDetector]:
    """The detectors ``require_a_face`` makes, recording."""
    made = []
    create = quick_check.create_landmark_detector

    def recording(*args):
        made.append(RecordingDetector(create(*args)))
        return made[-1]

    monkeypatch.setattr(quick_check, "create_landmark_detector", recording)
    return made


@pytest.fixture(scope="module")
def face_frames():
    source = shared_path("media", "demo1_video.mp4")
    return [np.ascontiguousarray(frame[::4, ::4]) for frame in itertools.islice(VideoReader(source).frames(), 2)]


def test_samples_are_spread_over_the_video():
    assert sampled_frame_indices(40) == [2, 7, 12, 17, 22, 27, 32, 37]
    assert sampled_frame_indices(3) == [0, 1, 2]
    assert sampled_frame_indices(0) == []


def test_video_without_a_face_is_refused(tmp_path, detectors):
    """The samples first, then every frame in order, before the refusal; the detector is closed."""
    video = write_constant_rate_video(tmp_path / "blank.mp4", fps=25, seconds=1.6)
    with pytest.raises(InputError, match="no face was found in any frame of .*blank.mp4"):
        require_a_face(video)
    (detector,) = detectors
    assert detector.calls == [SAMPLES, *scan_batches(NUM_FRAMES - 1)]
    assert detector.closed


def test_face_in_one_unsampled_frame_is_found_by_the_scan(tmp_path, face_frames, detectors):
    """Frame 5 is in none of the 8 samples; the scan after them must find it rather than refuse the video, and stop
    at the batch that holds it."""
    black = np.zeros_like(face_frames[0])
    assert 5 not in sampled_frame_indices(NUM_FRAMES)
    video = write_h264(tmp_path / "one face.mp4", [with_index(face_frames[0] if index == 5 else black, index)
                                                   for index in range(NUM_FRAMES)], crf=12)
    assert require_a_face(video) is None
    (detector,) = detectors
    assert detector.calls == [SAMPLES, *scan_batches(5)]
    assert detector.closed


def test_face_in_the_sampled_frames_is_enough(tmp_path, face_frames, detectors):
    """One detector call on the sampled frames, no scan."""
    frames = [with_index(face_frames[index % 2], index) for index in range(NUM_FRAMES)]
    video = write_h264(tmp_path / "face.mp4", frames, crf=12)
    assert require_a_face(video) is None
    (detector,) = detectors
    assert detector.calls == [SAMPLES]
    assert detector.closed
