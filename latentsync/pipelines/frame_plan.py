"""The frame plan: what every output frame shows, decided before generation starts.

For each output frame ``k`` the plan says which source frame it shows, whether that frame is generated, passed
through unchanged or cross-faded between the two, and which audio conditions it: output frame ``k`` always lines
up with audio frame ``k`` (samples ``k * sample_rate / fps`` onward), and frames from ``num_audio_frames`` on lie
in silence padded after the audio's end. ``LipsyncPipeline.__call__`` executes a plan; it decides nothing.

Sync modes (``n`` video frames, ``A`` audio frames):

- ``bounce`` (the original's): ``A`` frames; the video plays forward, then backward, ... (``source_frame_index``).
- ``loop``: ``A`` frames; the video restarts from its first frame.
- ``remap``: ``A`` frames; the video is time-stretched: frame ``k`` shows ``floor(k * n / A)`` (no blending).
- ``cut_off``: ``min(n, A)`` frames; the longer track is trimmed.
- ``silence``: ``max(n, A)`` frames; a shorter audio is padded with silence and the frames after its end pass
  through unchanged; a shorter video holds its last frame, which is lip-synced.

When the output ends with the audio, the plan may run a few frames past it (``num_generated_frames``: the
original's audio windows run 2 frames past the audio's end): those frames follow the same rule and are generated
with the last window, so its temporal layers see the original's frames, but they are not written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentsync.utils.frame_schedule import num_output_audio_samples, source_frame_index

SYNC_MODES = ("bounce", "loop", "remap", "cut_off", "silence")


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


def cross_fade(source: torch.Tensor, generated: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """uint8 frames ``(B, H, W, 3)``: ``weights[i]`` of ``generated[i]`` over ``source[i]``, rounded (1: generated)."""
    weights = weights.to(device=source.device, dtype=torch.float32).view(-1, 1, 1, 1)
    blended = torch.lerp(source.float(), generated.float(), weights)
    return blended.round_().clamp_(0, 255).to(torch.uint8)
