"""Helpers for the trainers' input: the file list of a folder of clips, its total hours, a duration histogram."""

from __future__ import annotations

import os
from pathlib import Path

from latentsync.data_processing.media import header_duration
from latentsync.io.atomic_file import replaced_atomically


def list_clips(folder: str | os.PathLike) -> list[Path]:
    """Every ``.mp4`` under ``folder`` (recursively, hidden temporary files excluded), sorted."""
    return sorted(path for path in Path(folder).rglob("*.mp4") if not path.name.startswith("."))


def write_fileslist(clips: list[Path], path: str | os.PathLike) -> Path:
    """One absolute path per line (the trainers' ``train_fileslist``), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as partial, partial.open("w", encoding="utf-8") as file:
        file.writelines(f"{clip.resolve()}\n" for clip in clips)
    return path


def clip_durations(clips: list[Path]) -> list[float]:
    """Seconds of each clip, from the container headers (no decoding)."""
    return [header_duration(clip) for clip in clips]


def plot_duration_histogram(durations: list[float], path: str | os.PathLike, bins: int = 50) -> Path:
    """Save a histogram of clip durations (seconds) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 4))
    axes.hist(durations, bins=bins)
    axes.set_xlabel("clip duration (s)")
    axes.set_ylabel("clips")
    axes.set_title(f"{len(durations)} clips, {sum(durations) / 3600:.2f} h")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
    return Path(path)
