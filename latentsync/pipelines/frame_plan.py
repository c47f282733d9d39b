"""The frame plan: what every output frame shows, decided before generation starts.

For each output frame ``k`` the plan says which source frame it shows, whether that frame is generated, passed
through unchanged or cross-faded between the two, and which audio conditions it: output frame ``k`` always lines
up with audio frame ``k`` (samples ``k * sample_rate / fps`` onward), and frames from ``num_audio_frames`` on lie
in silence padded after the audio's end. The plan's windows are what the U-Net generates together; the lip-sync
executor (``lipsync_executor``) carries a plan out and decides nothing.

Sync modes (``n`` video frames, ``A`` audio frames):

- ``bounce`` (the original's): ``A`` frames; the video plays forward, then backward, ... (``source_frame_index``).
- ``loop``: ``A`` frames; the video restarts from its first frame.
- ``remap``: ``A`` frames; the video is time-stretched: frame ``k`` shows ``floor(k * n / A)`` (no blending).
- ``cut_off``: ``min(n, A)`` frames; the longer track is trimmed.
- ``silence``: ``max(n, A)`` frames; a shorter audio is padded with silence and the frames after its end pass
  through unchanged; a shorter video holds its last frame, which is lip-synced.

The original's audio windows run past the audio's end (``count_audio_frames``: one video frame per Whisper chunk,
2 more than the audio covers), and so does its last window. When the output ends with the audio, the plan runs
to the original's frame count (``num_generated_frames``): those frames follow the same rule and are generated with
the last window, so its temporal layers see the original's frames, but they are not written. This module is the
one place of that rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from latentsync.whisper.chunk_count import num_chunks

SYNC_MODES = ("bounce", "loop", "remap", "cut_off", "silence")


def source_frame_index(output_index: int, num_video_frames: int) -> int:
    """``bounce``'s source frame at ``output_index`` (the original's ping-pong): even passes run forward, odd ones
    backward, so the turn-around frame appears twice in a row."""
    if num_video_frames < 1:
        raise ValueError(f"a video needs at least one frame, got {num_video_frames}")
    loop_pass, position = divmod(output_index, num_video_frames)
    return position if loop_pass % 2 == 0 else num_video_frames - 1 - position


class AudioFrames(NamedTuple):
    """How many video frames an audio gives."""

    num_audio_frames: int  # frames up to the one that covers the audio's last sample
    num_generated_frames: int  # the original's count: one per Whisper chunk, a little past the audio's end


def count_audio_frames(num_samples: int, num_feature_frames: int, fps: float, sample_rate: int) -> AudioFrames:
    """The video frames of ``num_samples`` of audio whose Whisper features have ``num_feature_frames`` frames.

    The original makes one frame per Whisper chunk (``num_chunks``: 2 past the audio's end, its video ends 80 ms
    after its sound); the output stops at the frame that covers the last audio sample, so it lasts exactly as long
    as the audio, and the frames up to the original's count are generated but not written.
    """
    generated = num_chunks(num_feature_frames, fps)
    covering_audio = math.floor(num_samples * fps / sample_rate + 0.5)
    return AudioFrames(min(generated, covering_audio), generated)


def inference_windows(num_output_frames: int, window: int, num_generated_frames: int | None = None) -> list[range]:
    """ceil(m / window) consecutive frame ranges of ``window`` frames (the U-Net's); the last may be shorter.

    The last window extends up to ``num_generated_frames`` (>= m, default m), so the temporal layers see the
    original's window. E.g. m=75, window 16, 77 generated: ..., 64-76 (13 frames, 11 of them output frames).
    """
    end = num_output_frames if num_generated_frames is None else num_generated_frames
    if end < num_output_frames:
        raise ValueError(f"{end} generated frames cannot cover {num_output_frames} output frames")
    return [range(start, min(start + window, end)) for start in range(0, num_output_frames, window)]


def num_output_audio_samples(num_output_frames: int, fps: float, sample_rate: int) -> int:
    """Audio samples kept: int(m / fps * sample_rate) in float math, so 640 m - 1 for some m (201, 203, 402...)."""
    return int(num_output_frames / fps * sample_rate)


@dataclass(frozen=True)
class PlannedWindow:
    """Frames the U-Net generates together: ``output_frames`` showing ``source_frames`` with ``generate_weights``;
    only the first ``num_written`` are output frames (the last window may run past the audio's end)."""

    output_frames: range
    num_written: int
    source_frames: np.ndarray
    generate_weights: np.ndarray

    def __len__(self) -> int:
        return len(self.output_frames)

    @property
    def generated_sources(self) -> np.ndarray:
        """The source frames of this window that are generated (weight above 0)."""
        return self.source_frames[self.generate_weights > 0]


@dataclass(frozen=True)
class FramePlan:
    """Per planned frame: ``source_frames`` (int64) and ``generate_weights`` (float32: 1 = generated, 0 = the source
    frame passes through, in between = that share of the generated frame cross-faded over the source). The first
    ``num_output_frames`` are written; any later ones are only generated with the last window."""

    source_frames: np.ndarray
    generate_weights: np.ndarray
    num_audio_frames: int  # output frames 0..num_audio_frames-1 have audio; later ones are silence padding
    num_output_frames: int

    @property
    def num_frames_to_track(self) -> int:
        """Source frames ``0..k-1`` whose faces are needed: up to the last one a generated frame shows (at least 1)."""
        generated = self.source_frames[self.generate_weights > 0]
        return int(generated.max()) + 1 if len(generated) else 1

    @property
    def num_passed_through(self) -> int:
        """Output frames shown exactly as in the source video."""
        return int((self.generate_weights[:self.num_output_frames] == 0).sum())

    def windows(self, window_size: int) -> list[PlannedWindow]:
        """The windows of ``window_size`` frames (the U-Net's) that cover the plan, in order."""
        return [PlannedWindow(frames, max(0, min(frames.stop, self.num_output_frames) - frames.start),
                              self.source_frames[frames.start:frames.stop],
                              self.generate_weights[frames.start:frames.stop])
                for frames in inference_windows(self.num_output_frames, window_size, len(self.source_frames))]

    def audio_track(self, waveform: np.ndarray, fps: float, sample_rate: int) -> np.ndarray:
        """The audio written with the video: cut to the output's length, padded with silence when it is longer
        than the audio (``silence`` mode only: otherwise the output never outlasts the audio)."""
        num_samples = num_output_audio_samples(self.num_output_frames, fps, sample_rate)
        audio = waveform[:num_samples]
        if self.num_output_frames > self.num_audio_frames:
            audio = np.pad(audio, (0, num_samples - len(audio)))
        return audio


def plan_frames(sync_mode: str, num_video_frames: int, num_audio_frames: int,
                audio_weights: np.ndarray | None = None, num_generated_frames: int | None = None) -> FramePlan:
    """The plan of ``sync_mode`` (see the module docstring) for a video of ``num_video_frames`` and an audio of
    ``num_audio_frames`` output frames; ``audio_weights`` (one per audio frame, e.g. ``silence_weights``) scale the
    generate weight of the output frame each audio frame conditions. ``num_generated_frames`` (the original's
    frame count, at least ``num_audio_frames``) extends a plan that ends with the audio by unwritten frames."""
    if sync_mode not in SYNC_MODES:
        raise ValueError(f"unknown sync mode {sync_mode!r}; choose one of {', '.join(SYNC_MODES)}")
    if num_video_frames < 1 or num_audio_frames < 1:
        raise ValueError(f"need at least one video and one audio frame, got {num_video_frames} and {num_audio_frames}")
    n, a = num_video_frames, num_audio_frames
    num_output = {"cut_off": min(n, a), "silence": max(n, a)}.get(sync_mode, a)
    if num_generated_frames is not None and num_generated_frames < a:
        raise ValueError(f"{num_generated_frames} generated frames cannot cover {a} audio frames")
    num_planned = num_generated_frames if num_generated_frames is not None and num_output == a else num_output
    k = np.arange(num_planned, dtype=np.int64)
    if sync_mode == "bounce":
        sources = np.fromiter((source_frame_index(i, n) for i in range(num_planned)), np.int64, num_planned)
    elif sync_mode == "loop":
        sources = k % n
    elif sync_mode == "remap":
        sources = np.minimum(k * n // num_output, n - 1)
    else:  # cut_off, silence: frame k shows source frame k, the last one held past the video's end
        sources = np.minimum(k, n - 1)
    weights = np.zeros(num_planned, np.float32)
    with_audio = min(num_output, a)
    weights[:with_audio] = 1.0 if audio_weights is None else audio_weights[:with_audio]
    weights[num_output:] = weights[num_output - 1]  # unwritten frames: generated as the last written one
    return FramePlan(sources, weights, a, num_output)
