"""Which files of a folder the evaluation scripts treat as videos."""

from __future__ import annotations

from pathlib import Path

from latentsync.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")


def list_videos(directory: str | Path, suffixes: tuple[str, ...] = VIDEO_SUFFIXES) -> list[Path]:
    """Sorted video files (of ``suffixes``) directly inside ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory} is not a folder; pass a folder of videos")
    videos = sorted(path for path in directory.iterdir() if path.suffix.lower() in suffixes)
    if not videos:
        raise InputError(f"{directory} contains no videos ({', '.join(suffixes)})")
    return videos
