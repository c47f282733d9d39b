"""U-Net training samples: a target window with its masked copy, a reference window and what aligns the audio."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig

from latentsync.data.clip_dataset import ClipDataset, SkipClip, pixel_values
from latentsync.data.mel_cache import MelCache
from latentsync.data.video_list import read_video_list
from latentsync.face.mask import load_fixed_mask, prepare_masks_and_masked_images
from latentsync.utils.syncnet_mel import mel_window


class UNetDataset(ClipDataset):
    """One sample per clip draw, all float32 and (F, C, res, res):

    ``gt_pixel_values`` in [-1, 1], ``masked_pixel_values`` (mouth region zeroed by the fixed mask), ``masks``
    (F, 1, res, res; 1 keep, 0 inpaint), ``ref_pixel_values`` (a window at least num_frames away from the
    target, so the reference never shows the mouth being predicted), ``mel`` (1, 80, 52) when ``use_mel``
    (the sync loss), and ``video_path`` / ``start_idx`` for the trainer's Whisper window. As the original, the
    target starts anywhere in ``[0, frames - num_frames]`` and the reference anywhere it does not overlap it.
    Clips under 3x num_frames are skipped.
    """

    min_clip_frames_factor = 3

    def __init__(self, video_paths: list[str], *, audio_mel_cache_dir: str, use_mel: bool,
                 mask_image_path: str | None = None, audio_sample_rate: int = 16000, **kwargs):
        super().__init__(video_paths, **kwargs)
        self.use_mel = use_mel
        self.mel_cache = MelCache(audio_mel_cache_dir, audio_sample_rate)
        self.mask = load_fixed_mask(self.resolution, mask_image_path)

    @classmethod
    def from_config(cls, config: DictConfig, seed: int = 0, **kwargs) -> UNetDataset:
        """From a whole U-Net config: ``data`` plus ``run.use_syncnet`` / ``model.add_audio_layer`` for the mel."""
        data = config.data
        paths = read_video_list(data.train_fileslist, data.get("train_data_dir"), role="train")
        return cls(paths, num_frames=data.num_frames, resolution=data.resolution, video_fps=data.video_fps,
                   audio_mel_cache_dir=data.audio_mel_cache_dir, audio_sample_rate=data.audio_sample_rate,
                   use_mel=bool(config.run.use_syncnet and config.model.add_audio_layer),
                   mask_image_path=data.get("mask_image_path"), seed=seed,
                   list_name="data.train_fileslist / train_data_dir", **kwargs)

    def load_sample(self, path: str, rng: np.random.Generator) -> dict:
        reader, total = self.open_clip(path)
        num_frames = self.num_frames
        start, ref_start = draw_windows(rng, total, num_frames)
        sample = {}
        if self.use_mel:
            mel = mel_window(self.mel_cache.mel(path), start, num_frames, fps=self.video_fps)
            if mel is None:
                raise SkipClip(f"the audio ends before the mel window of frames {start}..{start + num_frames - 1}")
            sample["mel"] = torch.from_numpy(mel).float()
        gt, masked, masks = prepare_masks_and_masked_images(self.read_window(reader, start), self.mask)
        sample |= {
            "gt_pixel_values": gt.float(),
            "masked_pixel_values": masked.float(),
            "masks": masks.float(),
            "ref_pixel_values": pixel_values(self.read_window(reader, ref_start), self.resolution),
            "video_path": path,
            "start_idx": start,
        }
        return sample


def draw_windows(rng: np.random.Generator, total: int, num_frames: int) -> tuple[int, int]:
    """``(start, ref_start)`` as the original draws them: the target anywhere in ``[0, total - num_frames]``, the
    reference anywhere in that range that does not overlap it (uniform over the allowed starts)."""
    start = int(rng.integers(0, total - num_frames + 1))
    ref_candidates = np.concatenate([np.arange(0, start - num_frames + 1),
                                     np.arange(start + num_frames, total - num_frames + 1)])
    return start, int(rng.choice(ref_candidates))
