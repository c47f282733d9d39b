"""``--reproduce original`` end to end: the input re-encoded at CRF 18 before anything reads it, faces aligned and
pasted in float16, the output written at CRF 13 and re-encoded at CRF 18, as the original's inference does."""

from __future__ import annotations

import numpy as np
import pytest

from latentsync.cli import inference
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.pipelines import loading, pipeline_weights
from tests.helpers.demo_clips import decode_rgb, demo_frames, tiny_lipsync_inputs
from tests.helpers.x264 import x264_settings

NUM_SOURCE_FRAMES = 12
NUM_OUTPUT_FRAMES = 20


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    yield from tiny_lipsync_inputs(tmp_path_factory.mktemp("reproduce"), demo_frames(NUM_SOURCE_FRAMES, step=2),
                                   NUM_OUTPUT_FRAMES)


def encode(path, frames, crf, audio=None):
    with VideoWriter(path, audio=audio, fps=25, crf=crf, preset="medium") as writer:
        for frame in frames:
            writer.write(frame)
    return path


@pytest.mark.slow
def test_reproduce_original_from_the_command_line(inputs, tmp_path, monkeypatch, capsys):
    pipeline, video, audio, _ = inputs
    monkeypatch.setattr(loading, "load_lipsync_pipeline", lambda *args, **kwargs: pipeline)
    monkeypatch.setattr(pipeline_weights, "check_pipeline_weights", lambda *args: None)  # the tiny models are built
    output = tmp_path / "out" / "synced.mp4"
    output.parent.mkdir()
    arguments = ["--video_path", str(video), "--audio_path", str(audio), "--video_out_path", str(output),
                 "--inference_steps", "1", "--guidance_scale", "1.0", "--face_backend", "mediapipe", "--device", "cpu"]
    assert inference.main([*arguments, "--reproduce", "original"]) == 0, capsys.readouterr().err
    assert [path.name for path in output.parent.iterdir()] == ["synced.mp4"]  # the first encode's file is gone
    assert "crf=18.0" in x264_settings(output)

    # The same steps one by one: the input through x264 at CRF 18, the float16 aligner, CRF 13, then CRF 18.
    staged = encode(tmp_path / "staged.mp4", VideoReader(video).frames(), crf=18)
    report = pipeline(staged, audio, num_inference_steps=1, guidance_scale=1.0, align_dtype="float16")
    first = encode(tmp_path / "first.mp4", report.frames, crf=13)
    second = encode(tmp_path / "second.mp4", VideoReader(first).frames(), crf=18, audio=report.audio)
    reproduced = np.stack(decode_rgb(output))
    assert reproduced.shape == (NUM_OUTPUT_FRAMES, 960, 540, 3)
    np.testing.assert_array_equal(reproduced, np.stack(decode_rgb(second)))

    # Without it, one encode of the frames aligned in float32 from the input as it is: other pixels.
    assert inference.main([*arguments, "--video_out_path", str(tmp_path / "plain.mp4")]) == 0
    plain = np.stack(decode_rgb(tmp_path / "plain.mp4")).astype(np.int16)
    assert np.abs(plain - reproduced).max() > 2
