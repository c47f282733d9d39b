"""Stage 3: one file per shot -> ``shot/<name>_shot_NNN.mp4`` (numbered from 001, as scenedetect names them).

Cuts come from PySceneDetect's ``AdaptiveDetector`` with threshold 2 through its Python API, which is what
the original's ``scenedetect detect-adaptive --threshold 2 split-video`` runs (same default minimum shot
length of 15 frames, same automatic downscaling); the shots are then cut frame-exactly and re-encoded: at CRF 18
``medium`` (``standard``), or as scenedetect's ``split-video`` encodes them by default, CRF 22 ``veryfast``
(``encoding="original"``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import scenedetect
from scenedetect.detectors import AdaptiveDetector
from scenedetect.scene_manager import SceneManager

from latentsync.data_processing.media import FPS, SAMPLES_PER_FRAME, STAGE_ENCODINGS, load_clip_audio, write_clip
from latentsync.data_processing.records import ClipResult, kept
from latentsync.data_processing.stage import Stage, output_name
from latentsync.io.video_reader import VideoReader


def detect_shots(path: Path, threshold: float = 2.0, min_scene_len: int = 15) -> list[tuple[int, int]]:
    """[start, end) frame ranges of the shots of a 25 fps video; the whole video when there is no cut."""
    # scenedetect.detect's own opening would hand FFmpeg's log to the terminal for the rest of the process
    # (every encoder's statistics): PyAV's silence is kept instead, as everywhere else.
    video = scenedetect.open_video(str(path), backend="pyav", suppress_output=True)
    manager = SceneManager()
    manager.add_detector(AdaptiveDetector(adaptive_threshold=threshold, min_scene_len=min_scene_len))
    manager.detect_scenes(video)
    return [(start.frame_num, end.frame_num) for start, end in manager.get_scene_list(start_in_scene=True)]


@dataclass(frozen=True)
class ShotSplitter(Stage):
    folder: ClassVar[str] = "shot"
    threshold: float = 2.0
    min_scene_len: int = 15
    encoding: str = "standard"

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        shots = detect_shots(source, self.threshold, self.min_scene_len)
        reader = VideoReader(source, fps=FPS)
        num_frames = reader.count_frames()
        audio = load_clip_audio(source)
        frames = reader.frames()
        outputs = []
        position = 0
        for number, (start, end) in enumerate(shots, start=1):
            end = min(end, num_frames)
            if end <= start:
                continue
            for _ in itertools.islice(frames, start - position):  # frames between shots, if any
                pass
            name = output_name(clip, f"_shot_{number:03d}")
            write_clip(output_dir / name, itertools.islice(frames, end - start),
                       audio[start * SAMPLES_PER_FRAME: end * SAMPLES_PER_FRAME], end - start,
                       STAGE_ENCODINGS[self.encoding]["shots"])
            outputs.append(name)
            position = end
        return kept(*outputs, shots=len(outputs))
