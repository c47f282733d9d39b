"""How video frames, inference windows and audio samples line up with the output.

The output has one frame per audio (whisper) chunk. A shorter video is played forward, then
backward, then forward again ("ping-pong"), so the turn-around frame appears twice in a row;
a longer video is cut (``frame_plan`` builds every sync mode's plan on these rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def source_frame_index(output_index: int, num_video_frames: int) -> int:
    """Source frame shown at ``output_index``: even passes run forward, odd passes backward."""
    if num_video_frames < 1:
        raise ValueError(f"a video needs at least one frame, got {num_video_frames}")
    loop_pass, position = divmod(output_index, num_video_frames)
    return position if loop_pass % 2 == 0 else num_video_frames - 1 - position


def inference_windows(num_output_frames: int, window: int, num_generated_frames: int | None = None) -> list[range]:
    """ceil(m / window) consecutive frame ranges of ``window`` frames (the U-Net's); the last may be shorter.

    ``num_generated_frames`` (>= m, default m) is the original's frame count, whose audio windows run a little
    past the audio's end: the last window extends up to it, so the temporal layers see the original's window
    and every output frame is the original's; frames ``m`` and later are generated but not written
    (``frames_to_write``). E.g. m=75, window 16, 77 generated: ..., 64-76 (13 frames, 11 written).
    """
    end = num_output_frames if num_generated_frames is None else num_generated_frames
    if end < num_output_frames:
        raise ValueError(f"{end} generated frames cannot cover {num_output_frames} output frames")
    return [range(start, min(start + window, end)) for start in range(0, num_output_frames, window)]


def frames_to_write(window: range, num_output_frames: int) -> int:
    """How many leading frames of ``window`` are output frames (the rest lie past the audio's end)."""
    return max(0, min(window.stop, num_output_frames) - window.start)


def group_windows(generate_together: Iterable[bool], windows_per_call: int) -> Iterator[list[int]]:
    """Window indices per U-Net call: up to ``windows_per_call`` consecutive windows that may share a call, in order.

    ``generate_together[i]`` says whether window ``i`` may be batched with its neighbours (a full window with a
    face in every frame); any other window gets a call of its own, so its frames are windowed as with one
    window per call. E.g. [T, T, F, T, T, T], 2 -> [0, 1], [2], [3, 4], [5]. Lazy: a group is yielded as soon
    as it is complete, reading at most one flag past it.
    """
    if windows_per_call < 1:
        raise ValueError(f"windows_per_call must be at least 1, got {windows_per_call}")
    group: list[int] = []
    for index, together in enumerate(generate_together):
        if group and not together:  # a window that runs alone closes the open group
            yield group
            group = []
        group.append(index)
        if not together or len(group) == windows_per_call:
            yield group
            group = []
    if group:
        yield group


def num_output_audio_samples(num_output_frames: int, fps: float, sample_rate: int) -> int:
    """Audio samples kept: int(m / fps * sample_rate) in float math, so 640 m - 1 for some m (201, 203, 402...)."""
    return int(num_output_frames / fps * sample_rate)
