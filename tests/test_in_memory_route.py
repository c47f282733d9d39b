"""Frames and audio in memory, frames out: ``pipe(video=frames, audio=(waveform, rate), fps=...)`` gives the very
frames the file route hands its encoder, with the dubbing options too; bad arrays are one clear ``InputError``."""

from __future__ import annotations

import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_frames import VideoFrames
from latentsync.io.video_reader import VideoReader
from latentsync.pipelines.frame_plan import num_output_audio_samples
from latentsync.pipelines.settings import LipsyncSettings
from tests.helpers.demo_clips import demo_frames, tiny_lipsync_inputs, write_wav
from tests.helpers.encoder_frames import frames_to_the_encoder
from tests.helpers.paths import shared_path

NUM_VIDEO_FRAMES, NUM_AUDIO_FRAMES = 20, 30  # the audio is longer: bounce and loop turn around


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """(pipeline, video file, audio file with a pause, the video's frames as decoded, its waveform)."""
    work = tmp_path_factory.mktemp("in_memory")
    generator = tiny_lipsync_inputs(work, demo_frames(NUM_VIDEO_FRAMES, step=4), 12)
    pipeline, video, _, _ = next(generator)
    speech = load_audio(shared_path("media", "demo1_audio.wav"))[162 * 640:][:NUM_AUDIO_FRAMES * 640]  # has a pause
    audio = write_wav(work / "pause.wav", speech)
    yield pipeline, video, audio, np.stack(list(VideoReader(video).frames())), load_audio(audio)
    generator.close()


@pytest.mark.parametrize("settings", [
    dict(),
    dict(sync_mode="loop", windows_per_call=2),
    dict(sync_mode="silence", silence="keep", silence_min_seconds=0.3),
    dict(sync_mode="cut_off", audio_context="overlap", speaker="center"),
], ids=["bounce", "loop", "silence-keep", "cut_off-center"])
@pytest.mark.slow
def test_frames_in_memory_equal_the_file_route_before_encoding(inputs, settings):
    pipeline, video, audio, frames, waveform = inputs
    settings = dict(num_inference_steps=1, guidance_scale=1.0, **settings)
    with frames_to_the_encoder() as from_files:
        pipeline(video, audio, video.with_name("out.mp4"), **settings)
    result = pipeline(video=frames, audio=(waveform, 16000), fps=25.0, **settings)
    assert result.output_path is None and result.frames.dtype == np.uint8
    np.testing.assert_array_equal(result.frames, np.stack(from_files))
    assert len(result.audio) == num_output_audio_samples(len(result.frames), 25, 16000)  # the soundtrack of the frames
    assert result.sync_mode == settings.get("sync_mode", "bounce")


@pytest.mark.slow
def test_other_frame_rates_and_channel_layouts_are_read_as_files_are(inputs):
    """50 fps frames drop every other one (the 25 fps grid); a stereo 48 kHz copy of the speech gives the file's
    16 kHz mono samples to within resampling."""
    pipeline, _, _, frames, waveform = inputs
    settings = LipsyncSettings(num_inference_steps=1, guidance_scale=1.0, sync_mode="cut_off")
    at_25 = pipeline(frames, (waveform, 16000), fps=25, settings=settings)
    at_50 = pipeline(np.repeat(frames, 2, axis=0), (waveform, 16000), fps=50, settings=settings)
    np.testing.assert_array_equal(at_25.frames, at_50.frames)
    stereo_48k = np.repeat(np.stack([waveform, waveform]), 3, axis=1)  # a crude upsampling, enough for the rate
    resampled = pipeline(frames, (stereo_48k, 48000), fps=25, settings=settings)
    assert resampled.frames.shape == at_25.frames.shape


@pytest.mark.slow
def test_the_video_s_own_soundtrack_lets_the_active_speaker_listen(inputs):
    pipeline, _, _, frames, waveform = inputs
    settings = dict(num_inference_steps=1, guidance_scale=1.0, speaker="active")
    with pytest.raises(InputError, match="have no soundtrack; pass VideoFrames"):
        pipeline(frames, (waveform, 16000), fps=25, **settings)
    result = pipeline(VideoFrames(frames, 25, soundtrack=(waveform, 16000)), (waveform, 16000), **settings)
    assert result.speaker.startswith("active (track ") and len(result.frames) == NUM_AUDIO_FRAMES


@pytest.mark.parametrize("video, audio, fps, message", [
    (np.zeros((4, 64, 64, 3), np.float32), None, 25, "must be a uint8 array"),
    (np.zeros((4, 64, 64), np.uint8), None, 25, r"must be a uint8 array \(N, H, W, 3\)"),
    (np.zeros((0, 64, 64, 3), np.uint8), None, 25, "holds no frame"),
    (np.zeros((4, 64, 64, 3), np.uint8), None, None, "need their frame rate: pass fps="),
    (np.zeros((4, 64, 64, 3), np.uint8), (np.full(1600, np.nan, np.float32), 16000), 25, "NaN or infinite"),
    (np.zeros((4, 64, 64, 3), np.uint8), (np.zeros(0, np.float32), 16000), 25, "is not usable"),
    (np.zeros((4, 64, 64, 3), np.uint8), (np.zeros(1600, np.int16), 16000), 25, "pass float samples"),
    (np.zeros((4, 64, 64, 3), np.uint8), (np.zeros(1600, np.float32), 0), 25, "sample rate must be a positive"),
    (np.zeros((4, 64, 64, 3), np.uint8), np.zeros(1600, np.float32), 25, r"a \(waveform, sample_rate\) pair"),
])
def test_bad_arrays_are_one_clear_input_error(inputs, video, audio, fps, message):
    pipeline, _, _, _, waveform = inputs
    with pytest.raises(InputError, match=message) as error:
        pipeline(video, (waveform, 16000) if audio is None else audio, fps=fps)
    assert "\n" not in str(error.value)


def test_fps_is_for_frames_only(inputs):
    pipeline, video, audio, _, _ = inputs
    with pytest.raises(InputError, match="is for frames in memory"):
        pipeline(video, audio, fps=30)
