"""Ping-pong frame looping, inference windows and the audio cut against the reference (README D)."""

import json

import pytest

from latentsync.pipelines.frame_plan import plan_frames
from latentsync.pipelines.frame_plan import inference_windows, num_output_audio_samples, source_frame_index
from tests.helpers.face_data import face_path


@pytest.fixture(scope="module")
def loop_reference() -> dict:
    return json.loads(face_path("loop", "loop_video.json").read_text())


def test_cases(loop_reference):
    for case in loop_reference["cases"]:
        n, m = case["num_video_frames"], case["num_whisper_chunks"]
        plan = plan_frames("bounce", n, m)  # the default sync mode is the original's schedule
        assert plan.source_frames.tolist() == case["frame_indices"], (n, m)
        assert [list(range(plan.num_frames_to_track))] == case["affine_transform_video_called_on"]
        windows = inference_windows(m, 16)
        assert len(windows) == case["num_inferences_num_frames_16"]
        assert [k for window in windows for k in window] == list(range(case["num_output_frames"]))
        assert num_output_audio_samples(m, 25, 16000) == case["audio_samples_kept_16k_25fps"]


def test_audio_cut_float_quirk(loop_reference):
    irregular = {m: samples for m, samples in loop_reference["audio_trim_not_equal_640n_for_n_in_1_5000"]}
    for m in range(1, 5001):
        assert num_output_audio_samples(m, 25, 16000) == irregular.get(m, 640 * m), m


def test_plan_of_a_long_video_needs_no_frames():
    assert plan_frames("bounce", 10**9, 3).source_frames.tolist() == [0, 1, 2]
    assert source_frame_index(10**6 + 5, 10**6) == 10**6 - 6  # deep in a backward pass, computed directly
    with pytest.raises(ValueError):
        source_frame_index(0, 0)
