"""Tiny test videos whose frames say which source frame they are, even after lossy coding.

Frame ``i`` is one flat colour: red encodes ``i % 16`` and green ``i // 16`` in steps of 16,
so codecs that shift flat colours by a few levels still decode to the same index (up to 256 frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 64, 48


def frame_for_index(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[..., 0] = (index % 16) * 16 + 8
    frame[..., 1] = (index // 16) * 16 + 8
    return frame


def index_of_frame(frame: np.ndarray) -> int:
    red, green = frame[..., 0].mean(), frame[..., 1].mean()
    return int(round((green - 8) / 16)) * 16 + int(round((red - 8) / 16))


def write_video(path: Path, times: Sequence[float], codec: str = "libx264", width: int = WIDTH, height: int = HEIGHT,
                pix_fmt: str = "yuv420p", rate: float = 25, rotation: int | None = None,
                keyframe_interval: int | None = None) -> Path:
    """Write frame ``i`` at ``times[i]`` seconds (so irregular times make a variable-frame-rate file)."""
    time_base = Fraction(1, 30000)  # exact for 24, 25, 30, 29.97 and 50 fps; mpeg4 allows at most 1/65535
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = stream.codec_context.time_base = time_base
        if keyframe_interval is not None:
            stream.codec_context.gop_size = keyframe_interval
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index, time in enumerate(times):
            frame = av.VideoFrame.from_ndarray(frame_for_index(index, width, height), format="rgb24")
            frame.pts, frame.time_base = round(time / time_base), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_constant_rate_video(path: Path, fps: float, seconds: float, **options) -> Path:
    return write_video(path, [index / fps for index in range(round(seconds * fps))], rate=fps, **options)


def write_audio(path: Path, seconds: float, sample_rate: int = 16000) -> Path:
    """An audio-only file of silence (no video stream)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        samples = np.zeros((1, round(seconds * sample_rate)), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate = sample_rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
