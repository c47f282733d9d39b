"""Stage 2: 25 fps video and 16 kHz audio -> ``resampled/``.

As the original (``ffmpeg -c:v copy -ar 16000`` when the source is 25 fps, ``-r 25`` otherwise), the video
stream is copied untouched when it is already 25 fps; other rates are re-timed on the 25 fps grid of
``VideoReader`` and re-encoded: at CRF 18 (``standard``), or at ffmpeg's default CRF 23 as the original
(``encoding="original"``). Audio is decoded to 16 kHz mono, as the trainers read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import av

from latentsync.data_processing.media import (FPS, STAGE_ENCODINGS, load_clip_audio, remux_with_audio,
                                              source_frame_rate, write_clip)
from latentsync.data_processing.records import ClipResult, kept
from latentsync.data_processing.stage import Stage, output_name
from latentsync.io.video_reader import VideoReader


@dataclass(frozen=True)
class Resample(Stage):
    folder: ClassVar[str] = "resampled"
    encoding: str = "standard"

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        name = output_name(clip)
        target = output_dir / name
        audio = load_clip_audio(source)
        rate = source_frame_rate(source)
        if rate == FPS:
            try:
                remux_with_audio(source, target, audio)
                return kept(name, source_fps=float(rate), video="copied")
            except av.FFmpegError:
                pass  # a codec MP4 cannot carry: re-encode below
        reader = VideoReader(source, fps=FPS)
        write_clip(target, reader.frames(), audio, reader.count_frames(), STAGE_ENCODINGS[self.encoding]["resample"])
        return kept(name, source_fps=float(rate) if rate else None, video="re-encoded")
