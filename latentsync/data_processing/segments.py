"""Stage 4: cut each shot into 5-second segments -> ``segmented/<name>_NNN.mp4`` (numbered from 000).

The original uses ffmpeg's segment muxer with the video stream copied, so its pieces end at the first
keyframe after 5 s; here every segment is exactly 5 s (125 frames) and the last one holds the remainder.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from latentsync.data_processing.media import FPS, SAMPLES_PER_FRAME, load_clip_audio, write_clip
from latentsync.data_processing.records import ClipResult, kept
from latentsync.data_processing.stage import Stage, output_name
from latentsync.io.video_reader import VideoReader


@dataclass(frozen=True)
class Segmenter(Stage):
    folder: ClassVar[str] = "segmented"
    seconds: float = 5.0

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        reader = VideoReader(source, fps=FPS)
        num_frames = reader.count_frames()
        audio = load_clip_audio(source)
        frames = reader.frames()
        length = round(self.seconds * FPS)
        outputs = []
        for number, start in enumerate(range(0, num_frames, length)):
            end = min(start + length, num_frames)
            name = output_name(clip, f"_{number:03d}")
            write_clip(output_dir / name, itertools.islice(frames, end - start),
                       audio[start * SAMPLES_PER_FRAME: end * SAMPLES_PER_FRAME], end - start)
            outputs.append(name)
        return kept(*outputs, segments=len(outputs))
