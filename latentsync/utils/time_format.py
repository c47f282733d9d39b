"""Human-readable run times for log lines."""

from __future__ import annotations

import os


def format_duration(seconds: float) -> str:
    """``"4.2 s"`` under a minute, else whole seconds: ``"12 min 0 s"``, ``"1 h 2 min 3 s"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, whole_seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {whole_seconds} s" if hours else f"{minutes} min {whole_seconds} s"


def written_video_summary(path: str | os.PathLike, num_frames: int, fps: float, elapsed_seconds: float) -> str:
    """``"wrote out.mp4: 19.84 s of video in 12 min 0 s"``: how long the video lasts, then how long it took."""
    return f"wrote {os.fspath(path)}: {num_frames / fps:.2f} s of video in {format_duration(elapsed_seconds)}"
