"""Whisper-encoder audio features that condition the LatentSync UNet."""

from latentsync.whisper.audio2feature import Audio2Feature

__all__ = ["Audio2Feature"]
