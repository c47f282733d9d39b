"""``pipe(sync_mode=..., silence=...)`` end to end with tiny models: which source frame each output frame shows (read
from a marker painted into every source frame), how long video and audio last, and that frames the plan passes
through are the source frames."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest

from latentsync.io.audio_reader import load_audio
from latentsync.pipelines.frame_plan import plan_frames
from latentsync.pipelines.silence import silence_weights
from tests.helpers.demo_clips import decode_rgb, demo_frames, tiny_lipsync_inputs, write_h264, write_wav
from tests.helpers.paths import shared_path

MARKER_WIDTH = 12  # source frame i shows a white block at x = 12 i in a black band along the top
NUM_VIDEO_FRAMES = 34
# demo1's speech from its frame 162: speech, a pause of 9 frames (0.36 s: below -45 dBFS) from frame 9, speech.
SPEECH_START, NUM_AUDIO_FRAMES, PAUSE = 162, 30, range(9, 18)


def marked(frames: list[np.ndarray]) -> list[np.ndarray]:
    for index, frame in enumerate(frames):
        frame[:16] = 0
        frame[:16, MARKER_WIDTH * index:MARKER_WIDTH * (index + 1)] = 255
    return frames


def markers(frames: list[np.ndarray]) -> list[int]:
    """The source frame each decoded frame shows."""
    return [int(np.argmax(frame[2:14, :, 1].mean(axis=0))) // MARKER_WIDTH for frame in frames]


def block_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest mean absolute difference of an 8x8 block: tens of levels where a mouth was generated, a few for
    two lossy encodes of the same frame."""
    difference = np.abs(a.astype(np.float32) - b).mean(axis=2)
    height, width = (size // 8 * 8 for size in difference.shape)
    return float(difference[:height, :width].reshape(height // 8, 8, width // 8, 8).mean(axis=(1, 3)).max())


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(pipeline, marked video, the 30-frame speech with a pause, a 12-frame speech, the frames as decoded, work)."""
    work = tmp_path_factory.mktemp("sync_modes")
    inputs = tiny_lipsync_inputs(work, marked(demo_frames(NUM_VIDEO_FRAMES, step=2)), 12)
    pipeline, video, short_speech, _ = next(inputs)
    speech = load_audio(shared_path("media", "demo1_audio.wav"))[SPEECH_START * 640:][:NUM_AUDIO_FRAMES * 640]
    yield pipeline, video, write_wav(work / "pause.wav", speech), short_speech, decode_rgb(video), work
    inputs.close()


def lipsync(clip, name: str, video_frames: int | None = None, with_pause: bool = False, **settings):
    pipeline, video, pause, short_speech, source, work = clip
    if video_frames is not None:
        video = write_h264(work / f"{name}_video.mp4", source[:video_frames])
    output = work / f"{name}.mp4"
    report = pipeline(video=video, audio=pause if with_pause else short_speech, video_out_path=output,
                      num_inference_steps=1, guidance_scale=1.0, **settings)
    with av.open(str(output)) as container:  # decoded AAC comes in whole 1024-sample frames
        audio_seconds = sum(frame.samples for frame in container.decode(audio=0)) / 16000
    return report, decode_rgb(output), audio_seconds


def lasts(seconds: float) -> object:
    """A decoded AAC track's length for ``seconds`` of audio: up to one 1024-sample frame more."""
    return pytest.approx(seconds + 512 / 16000, abs=512 / 16000 + 1e-6)


@pytest.mark.parametrize("mode", ["loop", "remap"])
@pytest.mark.slow
def test_short_video_is_looped_or_stretched(clip, mode):
    report, frames, audio_seconds = lipsync(clip, mode, video_frames=8, sync_mode=mode)
    expected = plan_frames(mode, 8, 12).source_frames.tolist()
    loop, remap = [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3], [0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7]
    assert expected == (loop if mode == "loop" else remap)
    assert markers(frames) == expected and report.num_output_frames == 12
    assert audio_seconds == lasts(12 / 25)


@pytest.mark.slow
def test_silence_mode_pads_the_audio_and_keeps_the_source_in_pauses(clip, caplog):
    """A 30-frame speech with a 9-frame pause on a 34-frame video, ``silence`` mode, ``silence='keep'`` for pauses
    of 0.3 s or more."""
    source = clip[4]
    with caplog.at_level(logging.INFO, logger="latentsync.pipelines.silence"):
        report, frames, audio_seconds = lipsync(clip, "silence", with_pause=True, sync_mode="silence", silence="keep",
                                                      silence_min_seconds=0.3)
    assert report.num_output_frames == len(frames) == NUM_VIDEO_FRAMES  # the longer track
    assert audio_seconds == lasts(NUM_VIDEO_FRAMES / 25)  # padded with silence
    assert markers(frames) == list(range(NUM_VIDEO_FRAMES))
    speech = load_audio(clip[2])
    weights = silence_weights(speech, NUM_AUDIO_FRAMES, 25, 16000, min_seconds=0.3)
    assert weights[PAUSE].tolist() == [0.75, 0.5, 0.25, 0, 0, 0, 0.25, 0.5, 0.75]
    assert (silence_weights(speech, NUM_AUDIO_FRAMES, 25, 16000) == 1).all()  # 0.4 s by default: too short
    assert (np.delete(weights, PAUSE) == 1).all()
    kept = [k for k in range(NUM_VIDEO_FRAMES) if k >= NUM_AUDIO_FRAMES or weights[k] == 0]
    assert report.frames_passed_through == len(kept) == 3 + 4
    assert "0.12 s kept" in caplog.text
    for k in range(NUM_VIDEO_FRAMES):
        difference = block_difference(frames[k], source[k])
        if k in kept:
            assert difference < 8, (k, difference)  # the source frame, through two lossy encodes
        elif weights[k] == 1:
            assert difference > 20, (k, difference)  # a generated mouth
    with av.open(str(report.output_path)) as container:
        sound = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    assert np.abs(sound[round(NUM_AUDIO_FRAMES / 25 * 16000) + 400:]).max() < 1e-3  # the padding is silent


@pytest.mark.slow
def test_cut_off_trims_the_audio_to_a_shorter_video(clip):
    report, frames, audio_seconds = lipsync(clip, "cut_off", video_frames=8, sync_mode="cut_off")
    assert report.num_output_frames == len(frames) == 8 and markers(frames) == list(range(8))
    assert audio_seconds == lasts(8 / 25)
