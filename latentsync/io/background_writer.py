"""``VideoWriter`` with the encoding in a background thread, so it overlaps the next window's generation."""

from __future__ import annotations

import os

import numpy as np

from latentsync.io.video_writer import VideoWriter
from latentsync.utils.background import BackgroundConsumer
from latentsync.utils.kept_unless_failed import KeptUnlessFailed

# Frames queued for the encoder: one 16-frame window, so at most one window waits (about 100 MB at 1080x1920).
DEFAULT_QUEUED_FRAMES = 16


class BackgroundVideoWriter(KeptUnlessFailed):
    """Same use as ``VideoWriter`` (context manager, ``write``, ``close``, ``discard``), encoding in a thread.

    ``write`` returns as soon as the frame is queued (it blocks while ``max_queued_frames`` wait, so memory
    stays bounded); the frame array then belongs to the writer and must not be modified. An encoding error
    is raised by the next ``write`` or by ``close``, and the partial file is discarded as with ``VideoWriter``.
    Extra keyword arguments go to ``writer_type`` (``VideoWriter``, or another writer of its use).
    """

    def __init__(self, path: str | os.PathLike, max_queued_frames: int = DEFAULT_QUEUED_FRAMES,
                 writer_type: type = VideoWriter, **writer_options):
        self._writer = writer_type(path, **writer_options)
        self._encoder: BackgroundConsumer[np.ndarray] = BackgroundConsumer(
            self._writer.write, max_items=max_queued_frames, name="video-encode")
        self.frames_written = 0  # frames handed over (the encoder may still be behind)

    @property
    def path(self):
        return self._writer.path

    @property
    def expected_num_frames(self) -> int | None:
        return self._writer.expected_num_frames

    def write(self, frame: np.ndarray) -> None:
        """Queue one (H, W, 3) uint8 RGB frame for encoding."""
        try:
            self._encoder.put(frame)
        except BaseException:
            self._writer.discard()
            raise
        self.frames_written += 1

    def close(self) -> None:
        """Wait for the encoder, then finish the file as ``VideoWriter.close`` does."""
        try:
            self._encoder.close()
        except BaseException:
            self._writer.discard()
            raise
        self._writer.close()

    def discard(self) -> None:
        self._encoder.discard()
        self._writer.discard()
