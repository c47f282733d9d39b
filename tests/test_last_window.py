"""The last, shorter window is generated with the original's frames (its audio windows run 2 frames past the
audio's end) and cut at the audio's end, so the written frames are those of the uncut, original-length run."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from latentsync.io.audio_reader import load_audio
from latentsync.pipelines import lipsync_pipeline, lipsync_plan
from latentsync.pipelines.frame_plan import AudioFrames
from latentsync.pipelines.frame_plan import inference_windows, plan_frames
from latentsync.whisper.chunk_count import num_chunks
from tests.helpers.demo_clips import demo_frames, tiny_lipsync_inputs

SOURCE_FRAMES, OUTPUT_FRAMES = 4, 5  # 0.2 s of audio: the original makes 7 frames, one window 0-6


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    yield from tiny_lipsync_inputs(tmp_path_factory.mktemp("last_window"), demo_frames(SOURCE_FRAMES, step=4),
                                   OUTPUT_FRAMES)


def test_windows_extend_to_the_generated_frames_and_write_up_to_the_output():
    windows = plan_frames("bounce", 100, 75, num_generated_frames=77).windows(16)  # 3 s of audio
    assert windows[-1].output_frames == range(64, 77) and [w.num_written for w in windows] == [16, 16, 16, 16, 11]
    assert inference_windows(64, 16, 66) == inference_windows(64, 16)  # no window of unwritten frames only
    assert inference_windows(62, 16, 64)[-1] == range(48, 64)  # the cut window is a full one
    with pytest.raises(ValueError, match="cannot cover"):
        inference_windows(20, 16, 19)


def _lipsync(inputs, monkeypatch, name: str) -> tuple[np.ndarray, list[int], int]:
    """(frames handed to the writer, faces per U-Net call, reported output frames) of a sequential run."""
    pipeline, video, audio, work = inputs
    written, generated = [], []

    class RecordingWriter(contextlib.nullcontext):  # keeps the frames; no encode (nor its audio-length check)
        def __init__(self, path, **_settings):
            super().__init__(self)
            self.path = path

        def write(self, frame):
            written.append(frame.copy())

    monkeypatch.setattr(lipsync_pipeline, "VideoWriter", RecordingWriter)
    report = pipeline(video=video, audio=audio, video_out_path=work / f"{name}.mp4", num_inference_steps=1,
                      guidance_scale=1.0, pipelined=False,
                      face_postprocessor=lambda faces: generated.append(len(faces)) or faces)
    return np.stack(written), generated, report.num_output_frames


@pytest.mark.slow
def test_cut_output_equals_the_uncut_run(inputs, monkeypatch):
    pipeline = inputs[0]
    cut, cut_calls, cut_reported = _lipsync(inputs, monkeypatch, "cut")
    original_frames = num_chunks(len(pipeline.audio_features(load_audio(inputs[2], 16000))))
    assert original_frames == OUTPUT_FRAMES + 2
    # The reference: the same call without the cut at the audio's end writes every frame the original makes.
    monkeypatch.setattr(lipsync_plan, "count_audio_frames",
                        lambda samples, features, fps, rate: AudioFrames(num_chunks(features), num_chunks(features)))
    uncut, uncut_calls, uncut_reported = _lipsync(inputs, monkeypatch, "uncut")
    assert (cut_reported, uncut_reported) == (OUTPUT_FRAMES, original_frames) == (len(cut), len(uncut))
    assert cut_calls == uncut_calls == [original_frames]  # the last window has the original's 7 frames
    np.testing.assert_array_equal(cut, uncut[:OUTPUT_FRAMES])
