"""Stage 1: reject files whose video or audio stream cannot be decoded. Nothing is deleted or copied.

The original deletes such raw files; here they stay where they are and the ledger says why they were left out.
Kept clips are read from the input folder by the next stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import av

from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.stage import Stage
from latentsync.errors import InputError
from latentsync.io.paths import check_audio_input, check_video_input


@dataclass(frozen=True)
class BrokenVideoFilter(Stage):
    """Keeps a file when PyAV decodes a frame of its first video stream and samples of its first audio stream."""

    folder: ClassVar[str] = "broken_videos"
    writes_outputs: ClassVar[bool] = False  # kept clips stay in the input folder

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        try:
            check_video_input(source)
        except InputError as error:
            return rejected("broken_video", str(error))
        try:
            with av.open(str(source)) as container:
                has_audio = bool(container.streams.audio)
            if not has_audio:
                return rejected("no_audio", f"{source.name} has no audio stream")
            check_audio_input(source)
        except (InputError, av.FFmpegError) as error:
            return rejected("broken_audio", str(error))
        return kept(clip)
