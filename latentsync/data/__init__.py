"""Training data: processed clips (25 fps, 16 kHz, aligned faces) turned into SyncNet and U-Net samples."""

from latentsync.data.mel_cache import MelCache
from latentsync.data.sampler import DistributedResumableSampler
from latentsync.data.syncnet_dataset import SyncNetDataset
from latentsync.data.unet_dataset import UNetDataset
from latentsync.data.video_list import read_video_list
from latentsync.data.whisper_windows import whisper_windows

__all__ = ["DistributedResumableSampler", "MelCache", "SyncNetDataset", "UNetDataset", "read_video_list",
           "whisper_windows"]
