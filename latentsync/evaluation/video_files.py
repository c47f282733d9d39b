"""Which files of a folder the evaluation scripts treat as videos."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")


def list_videos(directory: str | Path) -> list[Path]:
    """Sorted video files directly inside ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory} is not a folder; pass a folder of videos")
    videos = sorted(path for path in directory.iterdir() if path.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise InputError(f"{directory} contains no videos ({', '.join(VIDEO_SUFFIXES)})")
    return videos
