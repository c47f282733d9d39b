"""The face check that runs before model loading: sampled frames first, then a scan, never a false refusal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.face.quick_check import require_a_face, sampled_frame_indices
from latentsync.io.video_reader import VideoReader
from tests.helpers.demo_clips import write_h264
from tests.helpers.paths import shared_path
from tests.helpers.synthetic_video import write_constant_rate_video

NUM_FRAMES = 40


@pytest.fixture(scope="module")
def face_frames():
    source = shared_path("media", "demo1_video.mp4")
    return [np.ascontiguousarray(frame[::4, ::4]) for frame in itertools.islice(VideoReader(source).frames(), 2)]


def test_samples_are_spread_over_the_video():
    assert sampled_frame_indices(40) == [2, 7, 12, 17, 22, 27, 32, 37]
    assert sampled_frame_indices(3) == [0, 1, 2]
    assert sampled_frame_indices(0) == []


def test_video_without_a_face_is_refused(tmp_path):
    video = write_constant_rate_video(tmp_path / "blank.mp4", fps=25, seconds=1.6)
    with pytest.raises(InputError, match="no face was found in any frame of .*blank.mp4"):
        require_a_face(video)


def test_face_in_one_unsampled_frame_is_found_by_the_scan(tmp_path, face_frames):
    """Frame 5 is in none of the 8 samples; the scan after them must find it rather than refuse the video."""
    black = np.zeros_like(face_frames[0])
    assert 5 not in sampled_frame_indices(NUM_FRAMES)
    video = write_h264(tmp_path / "one face.mp4", [face_frames[0] if index == 5 else black for index in range(NUM_FRAMES)],
                       crf=12)
    require_a_face(video)


def test_face_in_the_sampled_frames_is_enough(tmp_path, face_frames):
    video = write_h264(tmp_path / "face.mp4", [face_frames[index % 2] for index in range(NUM_FRAMES)], crf=12)
    require_a_face(video)
