"""A video held in memory: frames in (``VideoFrames``, read like ``VideoReader``) and frames out (``FrameCollector``).

Notebooks and node-graph tools (ComfyUI) hold frames as arrays. ``VideoFrames`` puts such an array on the same
constant-rate grid as a file (``VideoReader``'s rule: frame ``i`` at ``i / fps`` s, dropped or repeated, never
blended), so the pipeline reads both alike; ``FrameCollector`` takes the frames a pipeline would encode.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from fractions import Fraction

import numpy as np

from latentsync.errors import InputError
from latentsync.io.audio_reader import waveform_at_rate
from latentsync.io.video_reader import constant_rate_slots

MIN_FRAME_SIDE = 16  # no face can be found in less


class VideoFrames:
    """``frames``: a uint8 RGB array ``(N, H, W, 3)`` at ``fps``, read on a ``grid_fps`` grid.

    ``soundtrack``: the video's own ``(waveform, sample_rate)``, if any (``--speaker active`` listens to it).
    Raises ``InputError`` for anything else than such an array, naming what is wrong.
    """

    name = "the video frames"

    def __init__(self, frames: np.ndarray, fps: float, grid_fps: float | Fraction = 25,
                 soundtrack: tuple[np.ndarray, int] | None = None):
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise InputError(f"video frames must be a uint8 array (N, H, W, 3) of RGB frames, got {frames.dtype} "
                             f"{frames.shape}; convert floats in 0..1 with (frames * 255).round().astype(uint8)")
        if len(frames) == 0:
            raise InputError("the video frames array holds no frame; pass at least one")
        if min(frames.shape[1:3]) < MIN_FRAME_SIDE:
            raise InputError(f"video frames of {frames.shape[2]}x{frames.shape[1]} pixels are too small for a face; "
                             f"pass frames of at least {MIN_FRAME_SIDE}x{MIN_FRAME_SIDE}")
        if fps is None or not (isinstance(fps, (int, float, Fraction)) and math.isfinite(fps) and fps > 0):
            raise InputError(f"the video frames need their frame rate: pass fps=<frames per second>, got {fps!r}")
        self._frames = frames
        self.fps = Fraction(grid_fps).limit_denominator(1001)
        self.source_fps = Fraction(fps).limit_denominator(1001)
        self.height, self.width = frames.shape[1:3]
        self.duration = len(frames) / float(fps)
        self._soundtrack = soundtrack
        timed = ((Fraction(index) / self.source_fps, 1 / self.source_fps, index) for index in range(len(frames)))
        self._sources = [index for _, index in constant_rate_slots(
            timed, lambda time: math.floor(time * self.fps + Fraction(1, 2)))]

    @property
    def estimated_num_frames(self) -> int:
        return len(self._sources)

    def count_frames(self) -> int:
        """Frames on the grid (``round(duration * grid fps)``, at least one)."""
        return len(self._sources)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """Grid frames ``start, start + 1, ...`` to the end."""
        return self.iter_frames(range(start, len(self._sources)))

    def iter_frames(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """The grid frames at ``indices``, in that order, each a fresh array; ``IndexError`` past the end."""
        for index in indices:
            if not 0 <= index < len(self._sources):
                raise IndexError(f"frame {index} is past the end of {self.name} ({len(self._sources)} frames)")
            yield self._frames[self._sources[index]].copy()

    def soundtrack(self, sample_rate: int) -> np.ndarray:
        """The video's own audio as mono float32 at ``sample_rate``; ``InputError`` when none was given."""
        if self._soundtrack is None:
            raise InputError(f"{self.name} have no soundtrack; pass VideoFrames(frames, fps, "
                             "soundtrack=(waveform, sample_rate)) to the pipeline as its video")
        return waveform_at_rate(*self._soundtrack, sample_rate)


class FrameCollector:
    """Takes the ``num_frames`` (H, W, 3) uint8 frames a pipeline writes into one ``(num_frames, H, W, 3)`` array.

    Used like a video writer (``with``, ``write``), so the pipeline's output can go to memory instead of a file.
    """

    path = None

    def __init__(self, num_frames: int):
        self.num_frames = num_frames
        self.frames: np.ndarray | None = None
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        if self.frames is None:
            self.frames = np.empty((self.num_frames, *frame.shape), dtype=np.uint8)
        self.frames[self.frames_written] = frame
        self.frames_written += 1

    def __enter__(self) -> FrameCollector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None and self.frames_written != self.num_frames:
            raise ValueError(f"{self.frames_written} frames were written, {self.num_frames} were announced")
