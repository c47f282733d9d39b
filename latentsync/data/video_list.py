"""Which processed clips a run trains on: a file list (one path a line) or every video under a folder."""

from __future__ import annotations

from pathlib import Path

from latentsync.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")


def read_video_list(fileslist: str | Path | None, data_dir: str | Path | None = None, role: str = "train") -> list[str]:
    """Paths from ``fileslist`` when given, else every video under ``data_dir`` (recursive, sorted).

    Fails at start-up, naming the path, when the list or folder is missing or empty or a listed clip does not exist.
    Relative lines are resolved against the list's folder when they do not exist relative to the working folder.
    """
    if fileslist:
        path = Path(fileslist)
        if not path.is_file():
            raise InputError(f"{role}_fileslist {path} does not exist; write one processed video path per line")
        lines = [line.strip() for line in path.read_text().splitlines()]
        videos = []
        for number, line in enumerate(lines, start=1):
            if not line:
                continue
            video = Path(line) if Path(line).exists() or Path(line).is_absolute() else path.parent / line
            if not video.is_file():
                raise InputError(f"{path}:{number}: {line} does not exist; fix or remove the line")
            videos.append(str(video))
        if not videos:
            raise InputError(f"{role}_fileslist {path} lists no videos; write one processed video path per line")
        return videos
    if data_dir:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise InputError(f"{role}_data_dir {folder} is not a folder; point it at the processed clips")
        videos = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        if not videos:
            raise InputError(f"{role}_data_dir {folder} holds no videos ({', '.join(VIDEO_SUFFIXES)})")
        return videos
    raise InputError(f"neither data.{role}_fileslist nor data.{role}_data_dir is set; set one of them in the config")
