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


def paired_videos(real_dir: str | Path, fake_dir: str | Path) -> list[tuple[Path, Path]]:
    """(real, generated) pairs: each ``fake_dir`` video ``name_out.mp4`` or ``name.mp4`` with ``real_dir/name.mp4``.

    The original's FVD pairing (``file.replace("_out.mp4", ".mp4")``), for any video suffix.
    """
    pairs = []
    for fake in list_videos(fake_dir):
        stem = fake.stem[: -len("_out")] if fake.stem.endswith("_out") else fake.stem
        real = Path(real_dir) / f"{stem}{fake.suffix}"
        if not real.is_file():
            raise InputError(f"{fake} has no real counterpart {real}; name generated videos <name>_out{fake.suffix} "
                             f"after the real <name>{fake.suffix}")
        pairs.append((real, fake))
    return pairs
