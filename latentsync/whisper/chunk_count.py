"""How many video frames a run of Whisper encoder frames conditions (numpy only: the frame plan counts frames
before any model is loaded)."""

from __future__ import annotations

import numpy as np

WHISPER_FPS = 50
"""Encoder frames per second: 16 kHz audio, 160-sample mel hop, stride-2 convolution."""


def num_chunks(num_features: int, fps: float = 25) -> int:
    """How many video frames ``feature2chunks`` yields for ``num_features`` encoder frames.

    The original appends chunk ``i`` and only then stops once ``int(i * (50 / fps)) > num_features``,
    so at 25 fps it yields ``num_features // 2 + 2`` chunks, two more than the audio covers.
    Those extra frames decide the output video length, so the off-by-one is kept on purpose.
    """
    step = WHISPER_FPS / fps
    candidates = np.arange(int(np.ceil((num_features + 1) / step)) + 2)
    return int(np.argmax(np.floor(candidates * step) > num_features)) + 1
