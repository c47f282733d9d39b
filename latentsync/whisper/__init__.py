"""Whisper-encoder audio features that condition the LatentSync UNet.

``Audio2Feature`` is imported on first use (``latentsync.utils.lazy_exports``), so the light modules of this package
(the audio-context names, the chunk arithmetic) do not load torch.
"""

from latentsync.utils.lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"Audio2Feature": "audio2feature"})
__all__ = ["Audio2Feature"]
