"""A tiny processed training set cut from the shared demo clips, for the dataset and trainer tests.

Each clip is ``seconds`` of a demo video (its own, in-sync audio track), cropped to the face area and
resized to ``resolution`` x ``resolution`` at 25 fps with 16 kHz mono AAC: the layout the data-processing
pipeline produces. Clips are built once per machine under the system temp folder (the folder name holds
every parameter and a format version) and reused by later tests and runs; a build goes to a temp folder
that is renamed into place, so concurrent test processes never see half a dataset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from tests.helpers.paths import shared_path

_FORMAT = 1
FACE_BOX = (300, 840, 270, 810)  # rows, columns of the demo videos' face area (a 540 x 540 square)
# (demo video, first frame) of each clip; clips of one video never overlap.
CLIP_STARTS = [("demo1_video.mp4", 0), ("demo2_video.mp4", 0), ("demo1_video.mp4", 125), ("demo2_video.mp4", 250),
               ("demo2_video.mp4", 375), ("demo1_video.mp4", 190)]
CACHE_ROOT = Path(tempfile.gettempdir()) / "latentsync-test-clips"


def make_processed_dataset(num_clips: int = 2, seconds: float = 2.4, resolution: int = 64,
                           root: Path = CACHE_ROOT) -> list[Path]:
    """Paths of ``num_clips`` processed clips (at most 6); skips the calling test when ../shared/media is absent."""
    if num_clips > len(CLIP_STARTS):
        raise ValueError(f"at most {len(CLIP_STARTS)} clips can be cut from the demo videos")
    media = shared_path("media")
    folder = Path(root) / f"v{_FORMAT}-{num_clips}x{seconds:g}s-{resolution}px"
    names = [f"clip{i}.mp4" for i in range(num_clips)]
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            for name, (video, start) in zip(names, CLIP_STARTS):
                cut_clip(media / video, start, round(seconds * 25), resolution, building / name)
            os.rename(building, folder)
        except OSError:
            if not folder.is_dir():  # lost a race with another process only if the folder now exists
                raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return [folder / name for name in names]


def cut_clip(source: Path, start: int, num_frames: int, resolution: int, output: Path) -> None:
    """Frames ``start .. start + num_frames - 1`` of ``source`` (face crop, resized) with the matching audio."""
    top, bottom, left, right = FACE_BOX
    frames = []
    for frame in VideoReader(source).frames(start):
        frames.append(cv2.resize(frame[top:bottom, left:right], (resolution, resolution), interpolation=cv2.INTER_AREA))
        if len(frames) == num_frames:
            break
    audio = load_audio(source)
    first_sample = start * 16000 // 25
    audio = audio[first_sample : first_sample + num_frames * 16000 // 25]
    with VideoWriter(output, audio=np.ascontiguousarray(audio), sample_rate=16000, fps=25) as writer:
        for frame in frames:
            writer.write(frame)


def write_fileslist(paths: list[Path], path: Path) -> Path:
    """A ``train_fileslist`` naming ``paths``, one a line."""
    path.write_text("".join(f"{p}\n" for p in paths))
    return path
