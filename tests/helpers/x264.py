"""Reading back what libx264 was told: the settings it writes into every stream it encodes."""

from __future__ import annotations

from pathlib import Path


def x264_settings(path: Path) -> str:
    """The encoder settings x264 writes into the stream (an SEI message: '... options: cabac=1 ... crf=18.0 ...')."""
    data = path.read_bytes()
    start = data.index(b"options: ")
    return data[start:data.index(b"\x00", start)].decode("ascii", "replace")
