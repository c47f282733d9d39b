"""``staging="original"``: the files the original's inference reads and writes, lossy generations included.

The original never reads its input video directly: it first re-encodes it (``ffmpeg -r 25 -crf 18``: 25 fps,
libx264 CRF 18 at its default preset) and reads that. It writes its result twice: the frames at CRF 13 (imageio),
then that video re-encoded at CRF 18 with the audio. Each is one more lossy generation of every pixel. Here the
same encodes run through PyAV (no shell): frames pass between them as RGB, so each re-encode adds the rounding of
one colour conversion that ffmpeg's YUV-to-YUV transcode does not.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from latentsync.io.atomic_file import create_partial_file
from latentsync.io.paths import check_output_path
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_source import VideoSource
from latentsync.io.encodings import EncoderSettings
from latentsync.io.video_writer import VideoWriter
from latentsync.utils.kept_unless_failed import KeptUnlessFailed

ORIGINAL_INPUT_ENCODING = EncoderSettings(crf=18, preset="medium")
ORIGINAL_OUTPUT_ENCODINGS = (EncoderSettings(crf=13, preset="medium"), EncoderSettings(crf=18, preset="medium"))


class ReencodedVideo:
    """A ``VideoSource`` whose frames are those of another one after the original's input re-encode; its name and
    soundtrack stay the source's."""

    def __init__(self, source: VideoSource, path: Path):
        with VideoWriter(path, fps=source.fps, crf=ORIGINAL_INPUT_ENCODING.crf,
                         preset=ORIGINAL_INPUT_ENCODING.preset) as writer:
            for frame in source.frames():
                writer.write(frame)
        self._source = source
        self._reader = VideoReader(path, fps=source.fps)
        self.name, self.fps = source.name, source.fps
        self.width, self.height = source.width, source.height

    def count_frames(self) -> int:
        return self._reader.count_frames()

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        return (frame[: self.height, : self.width] for frame in self._reader.frames(start))

    def iter_frames(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        return (frame[: self.height, : self.width] for frame in self._reader.iter_frames(indices))

    def soundtrack(self, sample_rate: int) -> np.ndarray:
        return self._source.soundtrack(sample_rate)


class TwiceEncodedWriter(KeptUnlessFailed):
    """``VideoWriter``'s use (``write``, ``close``, ``discard``), writing as the original: the frames at CRF 13 into a
    hidden file beside ``path``, then, on ``close``, that video re-encoded at CRF 18 with ``audio`` into ``path``
    (the hidden file is removed either way)."""

    def __init__(self, path: str | os.PathLike, audio: np.ndarray | None = None, sample_rate: int = 16000,
                 fps: int | Fraction = 25, inputs: Iterable[str | os.PathLike] = ()):
        first, self._second = ORIGINAL_OUTPUT_ENCODINGS
        self.path = check_output_path(path, inputs)
        self._final = dict(path=self.path, audio=audio, sample_rate=sample_rate, fps=fps, inputs=tuple(inputs))
        self._first_path = create_partial_file(self.path)
        self._first = VideoWriter(self._first_path, fps=fps, crf=first.crf, preset=first.preset)
        self._frame_shape: tuple[int, ...] | None = None

    @property
    def frames_written(self) -> int:
        return self._first.frames_written

    def write(self, frame: np.ndarray) -> None:
        self._frame_shape = self._frame_shape or frame.shape
        self._first.write(frame)

    def close(self) -> None:
        try:
            self._first.close()
            height, width = self._frame_shape[:2]  # an odd size was padded by one row or column to encode it
            with VideoWriter(**self._final, crf=self._second.crf, preset=self._second.preset) as final:
                for frame in VideoReader(self._first_path, fps=final.fps).frames():
                    final.write(frame[:height, :width])
        finally:
            self._first_path.unlink(missing_ok=True)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._first.discard()
        self._first_path.unlink(missing_ok=True)
