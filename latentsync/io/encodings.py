"""The x264 settings a written video can be encoded with, by name (``--encoding``); apart from the writer (PyAV) so
the lip-sync settings and ``--help`` read them without loading it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderSettings:
    """libx264 rate control: lower ``crf`` keeps more detail (bigger file); slower presets compress better."""

    crf: int
    preset: str


STANDARD_ENCODING = EncoderSettings(crf=18, preset="medium")  # the original's (FFmpeg's libx264 defaults, CRF 18)
# Keeps more of the fine texture (e.g. of a restored face) that CRF 18 smooths away.
HIGH_QUALITY_ENCODING = EncoderSettings(crf=13, preset="slow")
# About the standard's fidelity (PSNR 41.05 against 41.20 dB on demo1 at 540x960: CRF 16 makes up for
# `veryfast`'s lighter analysis) at 2-3x its speed on a CPU, for files ~15% larger; x264 at `medium` is the
# slowest stage of a CPU run once the models are on a GPU.
FAST_ENCODING = EncoderSettings(crf=16, preset="veryfast")
ENCODINGS = {"standard": STANDARD_ENCODING, "high_quality": HIGH_QUALITY_ENCODING, "fast": FAST_ENCODING}
# --staging: none = the input read as it is, the output encoded once; original = the original's encodes
# (latentsync/io/original_encodes.py).
STAGINGS = ("none", "original")
