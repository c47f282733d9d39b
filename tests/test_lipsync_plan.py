"""A run's plan, made alone, before anything is generated: the frame plan and its windows, the audio features, the
face of each source frame (filled as tracking goes) and the speaker; and what the executor reads from it."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.pipelines.frame_plan import count_audio_frames, num_output_audio_samples
from latentsync.pipelines.lipsync_inputs import read_inputs
from latentsync.pipelines.lipsync_plan import plan_lipsync
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.whisper.audio2feature import num_chunks
from tests.helpers.demo_clips import demo_frames, tiny_lipsync_inputs, write_h264
from tests.helpers.synthetic_video import write_constant_rate_video

pytestmark = pytest.mark.slow

NUM_VIDEO_FRAMES, NUM_AUDIO_FRAMES = 10, 37  # 37 frames: windows of 16, 16 and the original's last 5 (+2)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    generator = tiny_lipsync_inputs(tmp_path_factory.mktemp("plan"), demo_frames(NUM_VIDEO_FRAMES, step=4),
                                    NUM_AUDIO_FRAMES)
    yield next(generator)
    generator.close()


def plan(pipeline, video, audio, **settings):
    scope = contextlib.ExitStack()
    inputs = read_inputs(video, audio, None, None, 25, 16000)
    with scope:
        yield plan_lipsync(pipeline, inputs, LipsyncSettings(**settings), scope, ahead=False), inputs


def test_the_plan_holds_the_frames_windows_audio_and_faces_before_any_generation(inputs):
    pipeline, video, audio, _ = inputs
    calls = []
    hook = pipeline.unet.register_forward_pre_hook(lambda *args: calls.append(1))
    for made, read in plan(pipeline, video, audio, seed=-1):
        frames = made.frames
        assert (frames.num_output_frames, made.num_video_frames) == (NUM_AUDIO_FRAMES, NUM_VIDEO_FRAMES)
        generated = count_audio_frames(len(read.waveform), len(made.audio_features), 25, 16000).num_generated_frames
        assert generated == num_chunks(len(made.audio_features)) == NUM_AUDIO_FRAMES + 2
        assert [(w.output_frames, w.num_written) for w in made.windows] == [
            (range(0, 16), 16), (range(16, 32), 16), (range(32, generated), 5)]
        assert made.windows[1].source_frames.tolist() == [3, 2, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8]  # bounce
        assert len(made.audio_track) == num_output_audio_samples(NUM_AUDIO_FRAMES, 25, 16000)
        assert made.speaker == "largest" and 0 <= made.seed < 2**32  # -1: a drawn seed, recorded in the plan
        assert (made.num_inference_steps, made.guidance_scale) == (pipeline.config.num_inference_steps,
                                                                    pipeline.config.guidance_scale)
        # Faces are data, filled on demand: the first face was found, the rest is tracked as generation asks.
        assert 1 <= made.faces.num_known < NUM_VIDEO_FRAMES and made.faces.has_face[0]
        made.faces.extend_to(NUM_VIDEO_FRAMES)
        assert bool(made.faces.has_face.all()) and made.faces.affine_matrices.shape == (NUM_VIDEO_FRAMES, 2, 3)
    hook.remove()
    assert calls == []  # planning runs no U-Net


def test_the_speaker_choice_is_in_the_plan(inputs):
    pipeline, video, audio, _ = inputs
    for made, _ in plan(pipeline, video, audio, speaker="center", sync_mode="cut_off"):
        assert made.speaker.startswith("center (track 0, frames 0-9)")
        assert made.frames.num_output_frames == NUM_VIDEO_FRAMES and len(made.windows) == 1


def test_a_faceless_video_or_a_too_short_audio_is_refused_while_planning(inputs, tmp_path):
    pipeline, video, audio, _ = inputs
    blank = write_constant_rate_video(tmp_path / "blank.mp4", fps=25, seconds=0.4)
    with pytest.raises(InputError, match="no face was found in any frame of .*blank.mp4"):
        list(plan(pipeline, blank, audio))
    with pytest.raises(InputError, match="use at least 320 .20 ms. of audio"):  # Whisper's shortest
        list(plan(pipeline, video, (np.zeros(300, np.float32), 16000)))
    still = write_h264(tmp_path / "still.mp4", demo_frames(1, step=4))
    for made, _ in plan(pipeline, still, audio, sync_mode="loop"):
        assert set(made.frames.source_frames.tolist()) == {0}
