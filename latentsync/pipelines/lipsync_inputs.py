"""What a lip-sync run reads and where it writes: a video (file or frames), an audio (file or waveform), an output.

Files and arrays become one thing here, so everything after works alike: the video a ``VideoSource`` on the
pipeline's frame grid, the audio a mono float32 waveform at the pipeline's sample rate (an in-memory waveform goes
through the same resampler as a file's samples), and the output a file path or ``None`` (frames in memory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio, waveform_at_rate
from latentsync.io.paths import check_audio_input, check_output_path, check_video_input
from latentsync.io.video_frames import VideoFrames
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_source import VideoSource

VideoInput = str | os.PathLike | np.ndarray | VideoFrames
"""A video file, a uint8 ``(N, H, W, 3)`` RGB array (with ``fps``), or ``VideoFrames``."""
AudioInput = str | os.PathLike | tuple[Any, int]
"""An audio (or video) file, or ``(waveform, sample_rate)`` with a 1-D or ``(channels, T)`` float waveform."""


@dataclass(frozen=True)
class LipsyncInputs:
    video: VideoSource
    waveform: np.ndarray  # mono float32 at the pipeline's sample rate
    audio_name: str  # how messages name the audio
    output_path: Path | None  # None: the frames are returned in memory
    input_paths: tuple[Path, ...]  # the files read, which the output must not replace


def is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike))


def check_input_paths(video_path: str | os.PathLike, audio_path: str | os.PathLike,
                      video_out_path: str | os.PathLike | None) -> tuple[Path, Path, Path | None]:
    """The boundary check of a file run: a decodable video and audio, and an output that is neither of them.

    Cheap (one frame and one audio packet are decoded), so commands call it before loading any model.
    """
    video, audio = check_video_input(video_path), check_audio_input(audio_path)
    output = None if video_out_path is None else check_output_path(video_out_path, inputs=[video, audio])
    return video, audio, output


def read_inputs(video: VideoInput, audio: AudioInput, video_out_path: str | os.PathLike | None,
                fps: float | None, grid_fps: float, sample_rate: int, checked: bool = False) -> LipsyncInputs:
    """The run's inputs on the pipeline's ``grid_fps`` and ``sample_rate``; ``InputError`` names a bad one.

    ``checked``: the paths already passed ``check_input_paths``.
    """
    if video is None or audio is None:
        raise InputError("pass both a video and an audio")
    if is_path(video) and fps is not None:
        raise InputError(f"fps={fps!r} is for frames in memory; the video file {video} has its own frame rate")
    paths = [Path(value) for value in (video, audio) if is_path(value)]
    if not checked:
        for path, check in ((video, check_video_input), (audio, check_audio_input)):
            if is_path(path):
                check(path)
        if video_out_path is not None:
            check_output_path(video_out_path, inputs=paths)
    return LipsyncInputs(video_source(video, fps, grid_fps), audio_waveform(audio, sample_rate),
                         str(audio) if is_path(audio) else "the audio waveform",
                         None if video_out_path is None else Path(video_out_path), tuple(paths))


def video_source(video: VideoInput, fps: float | None, grid_fps: float) -> VideoSource:
    if is_path(video):
        return VideoReader(video, fps=grid_fps)
    if isinstance(video, VideoFrames):
        if video.fps != Fraction(grid_fps).limit_denominator(1001):
            raise InputError(f"VideoFrames on a {video.fps} fps grid; the pipeline reads {grid_fps} fps "
                             f"(VideoFrames(frames, fps, grid_fps={grid_fps}))")
        return video
    return VideoFrames(video, fps, grid_fps)


def audio_waveform(audio: AudioInput, sample_rate: int) -> np.ndarray:
    if is_path(audio):
        return load_audio(audio, sample_rate)
    if not (isinstance(audio, tuple) and len(audio) == 2):
        raise InputError(f"audio must be a file path or a (waveform, sample_rate) pair, got {type(audio).__name__}")
    return waveform_at_rate(audio[0], audio[1], sample_rate)
