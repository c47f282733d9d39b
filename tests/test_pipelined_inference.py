"""The pipelined video call (face tracking, decode and encode in background threads) writes the same frames as
the sequential one."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.helpers.demo_clips import decode_rgb, demo_frames, tiny_lipsync_inputs

NUM_SOURCE_FRAMES = 8
NUM_OUTPUT_FRAMES = 20  # longer than the video: plays it forward, backward, forward; two 16-frame windows


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    yield from tiny_lipsync_inputs(tmp_path_factory.mktemp("pipelined"), demo_frames(NUM_SOURCE_FRAMES, step=2),
                                   NUM_OUTPUT_FRAMES)


@pytest.mark.slow
def test_pipelined_frames_equal_sequential_frames(inputs, monkeypatch):
    pipeline, video, audio, work = inputs
    outputs, threads = {}, {}
    detect, generate = pipeline.landmark_detector.detect, pipeline.generate_window

    def record(stage, function):
        def call(*args, **kwargs):
            threads[pipelined].add((stage, threading.current_thread().name))
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(pipeline.landmark_detector, "detect", record("detect", detect))
    monkeypatch.setattr(pipeline, "generate_window", record("generate", generate))
    for pipelined in (False, True):
        threads[pipelined] = set()
        path = work / f"out_{pipelined}.mp4"
        report = pipeline(video=video, audio=audio, video_out_path=path, num_inference_steps=1,
                          guidance_scale=1.0, pipelined=pipelined)
        assert report.num_output_frames == NUM_OUTPUT_FRAMES
        outputs[pipelined] = np.stack(decode_rgb(path))
    assert outputs[True].shape == (NUM_OUTPUT_FRAMES, 960, 540, 3)
    np.testing.assert_array_equal(outputs[True], outputs[False])
    # Pipelined, the landmarks are found ahead in a worker thread while the models run in the caller's.
    assert threads[True] == {("detect", "face-tracking"), ("generate", "MainThread")}
    assert threads[False] == {("detect", "MainThread"), ("generate", "MainThread")}
    workers = ("prefetch", "video-encode", "face-tracking")
    assert [t.name for t in threading.enumerate() if t.name in workers] == []
