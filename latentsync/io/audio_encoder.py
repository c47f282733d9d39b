"""Encode a mono waveform with a PyAV audio stream (AAC in the clips and the sync-confidence staging)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np


def encode_audio(stream: av.AudioStream, audio: np.ndarray, sample_rate: int = 16000,
                 chunk: int = 16000) -> Iterator[av.Packet]:
    """The packets of mono float ``audio`` at ``sample_rate`` encoded by ``stream``, ``chunk`` samples a frame,
    flushed at the end."""
    for start in range(0, len(audio), chunk):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[None, start: start + chunk], dtype=np.float32),
                                           format="flt", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts, frame.time_base = start, Fraction(1, sample_rate)
        yield from stream.encode(frame)
    yield from stream.encode(None)
