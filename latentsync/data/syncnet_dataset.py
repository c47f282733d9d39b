"""SyncNet training samples: 16 frames and a mel window that are in sync (y = 1) or not (y = 0)."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig

from latentsync.data.clip_dataset import ClipDataset, SkipClip, pixel_values
from latentsync.data.mel_cache import MelCache
from latentsync.data.video_list import read_video_list
from latentsync.utils.syncnet_mel import mel_window


class SyncNetDataset(ClipDataset):
    """``{"frames": (F, 3, res, res) in [-1, 1], "audio_samples": (1, 80, 52), "y": (1,)}`` float32.

    The mel window always belongs to a random start; with probability 1/2 the frames come from the same
    start (y = 1), otherwise from another start of the same clip (y = 0). Clips under 2x num_frames are skipped.
    """

    min_clip_frames_factor = 2

    def __init__(self, video_paths: list[str], *, audio_mel_cache_dir: str, audio_sample_rate: int = 16000,
                 **kwargs):
        super().__init__(video_paths, **kwargs)
        self.mel_cache = MelCache(audio_mel_cache_dir, audio_sample_rate)

    @classmethod
    def from_config(cls, data: DictConfig, split: str = "train", seed: int = 0, **kwargs) -> SyncNetDataset:
        """From the ``data`` section of a SyncNet config; ``split`` picks ``train_*`` or ``val_*`` sources. The
        validation samples (validation loss, SyncNet accuracy) each draw their clip from the whole list, as the
        original's dataset does (``draw_clips``); training takes clip i for index i."""
        paths = read_video_list(data.get(f"{split}_fileslist"), data.get(f"{split}_data_dir"), role=split)
        return cls(paths, num_frames=data.num_frames, resolution=data.resolution, video_fps=data.video_fps,
                   audio_mel_cache_dir=data.audio_mel_cache_dir, audio_sample_rate=data.audio_sample_rate, seed=seed,
                   list_name=f"data.{split}_fileslist / {split}_data_dir", draw_clips=split == "val", **kwargs)

    def load_sample(self, path: str, rng: np.random.Generator) -> dict:
        reader, total = self.open_clip(path)
        last_start = total - self.num_frames
        start = int(rng.integers(0, last_start + 1))
        in_sync = bool(rng.random() < 0.5)
        frames_start = start
        if not in_sync:
            other_starts = np.delete(np.arange(last_start + 1), start)
            frames_start = int(rng.choice(other_starts))
        mel = mel_window(self.mel_cache.mel(path), start, self.num_frames, fps=self.video_fps)
        if mel is None:
            raise SkipClip(f"the audio ends before the mel window of frames {start}..{start + self.num_frames - 1}")
        frames = pixel_values(self.read_window(reader, frames_start), self.resolution)
        return {"frames": frames, "audio_samples": torch.from_numpy(mel).float(),
                "y": torch.full((1,), float(in_sync))}
