"""The frame plan of each sync mode (frame counts, which source frame lands where, audio length and padding) and
the silence detector that lets the source mouth through (``--silence keep``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentsync.pipelines.frame_plan import SYNC_MODES, plan_frames
from latentsync.pipelines.frame_plan import num_output_audio_samples, source_frame_index
from latentsync.pipelines.lipsync_executor import cross_fade
from latentsync.pipelines.silence import silence_weights, silent_runs
from latentsync.utils.loudness import frame_loudness_db

FPS, RATE = 25, 16000


def original_ping_pong(num_video: int, num_audio: int) -> list[int]:
    """The original's bounce, written out as it builds it: the frame indices forward, then backward, and again,
    until there are as many as audio frames (the turn-around frame appears twice in a row)."""
    forward = list(range(num_video))
    schedule: list[int] = []
    while len(schedule) < num_audio:
        schedule += forward
        forward = forward[::-1]
    return schedule[:num_audio]


@pytest.mark.parametrize("num_video, num_audio, sources", [
    (3, 11, [0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1]),
    (2, 7, [0, 1, 1, 0, 0, 1, 1]),
    (1, 5, [0, 0, 0, 0, 0]),
    (5, 3, [0, 1, 2]),
])
def test_bounce_written_out(num_video, num_audio, sources):
    """Short cases spelled out by hand; they also check ``original_ping_pong``, the reference of the next test."""
    assert original_ping_pong(num_video, num_audio) == sources
    assert plan_frames("bounce", num_video, num_audio).source_frames.tolist() == sources
    assert [source_frame_index(k, num_video) for k in range(num_audio)] == sources


@pytest.mark.parametrize("num_video, num_audio", [(10, 23), (23, 10), (16, 16), (1, 5), (100_000, 7), (7, 100)])
def test_bounce_is_the_original_schedule(num_video, num_audio):
    plan = plan_frames("bounce", num_video, num_audio)
    assert plan.source_frames.tolist() == original_ping_pong(num_video, num_audio)
    assert plan.num_frames_to_track == min(num_video, num_audio)  # faces of the frames shown, in video order
    assert (plan.generate_weights == 1).all() and plan.num_passed_through == 0


@pytest.mark.parametrize("mode, num_video, num_audio, sources", [
    ("bounce", 4, 10, [0, 1, 2, 3, 3, 2, 1, 0, 0, 1]),
    ("loop", 4, 10, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]),
    ("loop", 10, 4, [0, 1, 2, 3]),
    ("remap", 4, 10, [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]),  # floor(k * 4 / 10): slowed down
    ("remap", 10, 4, [0, 2, 5, 7]),  # floor(k * 10 / 4): sped up
    ("cut_off", 4, 10, [0, 1, 2, 3]),
    ("cut_off", 10, 4, [0, 1, 2, 3]),
    ("silence", 4, 10, [0, 1, 2, 3, 3, 3, 3, 3, 3, 3]),  # the last frame held
    ("silence", 10, 4, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
])
def test_which_source_frame_lands_where(mode, num_video, num_audio, sources):
    plan = plan_frames(mode, num_video, num_audio)
    assert plan.source_frames.tolist() == sources
    assert plan.num_frames_to_track == max(sources[:num_audio]) + 1


@pytest.mark.parametrize("mode", SYNC_MODES)
@pytest.mark.parametrize("num_video, num_audio", [(40, 100), (100, 40)])
def test_frame_counts_and_audio_track(mode, num_video, num_audio):
    """Output length per mode; the audio written lasts as long as the video, cut, or padded with silence."""
    plan = plan_frames(mode, num_video, num_audio)
    expected = {"cut_off": min(num_video, num_audio), "silence": max(num_video, num_audio)}.get(mode, num_audio)
    assert plan.num_output_frames == expected
    assert all(0 <= source < num_video for source in plan.source_frames)
    speech = np.linspace(0.1, 0.9, num_audio * RATE // FPS, dtype=np.float32)
    audio = plan.audio_track(speech, FPS, RATE)
    assert len(audio) == num_output_audio_samples(expected, FPS, RATE) == expected * RATE // FPS
    assert np.array_equal(audio[:len(speech)], speech[:len(audio)])
    padded = mode == "silence" and num_video > num_audio
    assert (audio[len(speech):] == 0).all() and (len(audio) > len(speech)) == padded
    generated = plan.generate_weights == 1
    assert generated.tolist() == [k < num_audio for k in range(expected)]  # past the audio's end: source as it is
    assert plan.num_passed_through == expected - min(expected, num_audio)


def test_audio_track_keeps_the_original_cut():
    """bounce never pads: the original cuts at int(m / fps * rate), which may exceed the samples there are."""
    speech = np.ones(640 * 10 - 100, np.float32)  # 10 frames by rounding, 100 samples short of the 10th's end
    assert len(plan_frames("bounce", 30, 10).audio_track(speech, FPS, RATE)) == len(speech)


def test_silence_weights_scale_the_planned_frames():
    weights = np.array([1, 0.5, 0, 0, 1], np.float32)
    plan = plan_frames("silence", 8, 5, weights)
    assert plan.generate_weights.tolist() == [1, 0.5, 0, 0, 1, 0, 0, 0]
    assert plan.num_frames_to_track == 5 and plan.num_passed_through == 5
    assert plan_frames("cut_off", 3, 5, weights).generate_weights.tolist() == [1, 0.5, 0]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown sync mode 'stretch'; choose one of bounce, loop"):
        plan_frames("stretch", 10, 10)


def tone(seconds: float, level_db: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (np.sqrt(2) * 10 ** (level_db / 20) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_loudness_is_rms_dbfs_per_frame():
    speech = np.concatenate([tone(0.2, -20), np.zeros(2 * RATE // FPS, np.float32), tone(0.2, -50)])
    loudness = frame_loudness_db(speech, 14, FPS, RATE)
    assert np.allclose(loudness[:5], -20, atol=0.1) and np.allclose(loudness[7:12], -50, atol=0.1)
    assert (loudness[5:7] == -np.inf).all() and loudness[12] == -np.inf  # digital silence, then past the end
    assert [list(run) for run in silent_runs(np.array([1, 1, 0, 1, 1, 1, 0], bool), 2)] == [[0, 1], [3, 4, 5]]


def test_silences_long_enough_pass_through_with_cross_fades():
    speech = np.concatenate([tone(1.0, -20), tone(0.6, -60), tone(0.8, -20), tone(0.2, -60), tone(0.4, -20),
                             tone(1.0, -60)])
    weights = silence_weights(speech, 100, FPS, RATE, threshold_db=-45, min_seconds=0.4)
    fade_in, fade_out = [0.75, 0.5, 0.25], [0.25, 0.5, 0.75]
    assert weights[:25].tolist() == [1] * 25
    assert weights[25:40].tolist() == fade_in + [0] * 9 + fade_out  # 0.6 s of silence: 15 frames
    assert weights[40:60].tolist() == [1] * 20
    assert weights[60:65].tolist() == [1] * 5  # 0.2 s: shorter than 0.4 s, generated
    assert weights[65:75].tolist() == [1] * 10
    assert weights[75:].tolist() == fade_in + [0] * 22  # the audio's end is no edge: no fade back
    assert silence_weights(speech, 100, FPS, RATE, threshold_db=-70).tolist() == [1] * 100


def test_cross_fade_blends_frames():
    source = torch.zeros(3, 2, 2, 3, dtype=torch.uint8)
    generated = torch.full_like(source, 200)
    blended = cross_fade(source, generated, torch.tensor([1.0, 0.75, 0.25]))
    assert blended[:, 0, 0, 0].tolist() == [200, 150, 50]


@pytest.mark.parametrize("mode, num_video, num_audio, planned", [
    ("bounce", 4, 10, [0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3]),  # ends with the audio: 2 frames more, same rule
    ("loop", 4, 10, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]),
    ("remap", 4, 10, [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 3]),  # past the end: the last source frame
    ("cut_off", 4, 10, [0, 1, 2, 3]),  # ends with the video: nothing past it
    ("silence", 12, 10, list(range(12))),  # ends after the audio: nothing past it
])
def test_the_original_s_last_window_runs_past_the_audio_but_is_not_written(mode, num_video, num_audio, planned):
    plan = plan_frames(mode, num_video, num_audio, num_generated_frames=num_audio + 2)
    unextended = plan_frames(mode, num_video, num_audio)
    assert plan.source_frames.tolist() == planned
    assert plan.num_output_frames == unextended.num_output_frames
    assert plan.source_frames[:plan.num_output_frames].tolist() == unextended.source_frames.tolist()
    assert plan.num_passed_through == unextended.num_passed_through
    assert len(plan.audio_track(np.ones(640 * 20, np.float32), FPS, RATE)) == \
        num_output_audio_samples(unextended.num_output_frames, FPS, RATE)
