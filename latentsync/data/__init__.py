"""Training data: processed clips (25 fps, 16 kHz, aligned faces) turned into SyncNet and U-Net samples.

The names below are imported on first use (``latentsync.utils.lazy_exports``), so a light module of this package
(``video_list``, ``loader``) does not load torch. ``whisper_windows`` is imported from its module of the same name.
"""

from latentsync.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "MelCache": "mel_cache",
    "DistributedResumableSampler": "sampler",
    "SyncNetDataset": "syncnet_dataset",
    "UNetDataset": "unet_dataset",
    "read_video_list": "video_list",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
