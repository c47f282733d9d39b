"""What both training datasets share: deterministic per-sample randomness and bounded skipping of bad clips.

The original draws with the global ``random`` module inside ``__getitem__`` (a random clip of the list for every
sample, whatever the index) and retries a bad clip forever. Here a sample's random numbers come from
``(seed, epoch, index, attempt)`` alone, so a batch is the same whatever the number of workers or ranks, and after
``max_retries`` unusable clips in a row the run stops with an error naming the file list. Index ``i`` is clip ``i``
(an epoch of training shows every clip), or with ``draw_clips`` a clip drawn uniformly from the whole list, with
replacement, as the original draws every sample (SyncNet validation and accuracy).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import av
import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms.functional import InterpolationMode, resize

from latentsync.errors import InputError
from latentsync.io.video_reader import VideoReader

logger = logging.getLogger("latentsync.data")


class SkipClip(Exception):
    """This clip cannot give a sample (too short, mel window past the end, ...); the reason is the message."""


class ClipDataset(Dataset, ABC):
    """Base of the SyncNet and U-Net datasets: subclasses implement ``load_sample(path, rng)``."""

    min_clip_frames_factor = 1  # clips need at least this many times num_frames frames

    def __init__(self, video_paths: list[str], *, num_frames: int, resolution: int, video_fps: int = 25,
                 seed: int = 0, max_retries: int = 20, list_name: str = "the file list", draw_clips: bool = False):
        if not video_paths:
            raise InputError(f"{list_name} lists no videos; write one processed video path per line")
        self.video_paths = list(video_paths)
        self.num_frames = num_frames
        self.resolution = resolution
        self.video_fps = video_fps
        self.seed = seed
        self.max_retries = max_retries
        self.list_name = list_name
        self.draw_clips = draw_clips
        self.epoch = 0
        self._unusable: dict[str, str] = {}  # per worker: clips already found bad, with the reason
        check_clip_resolution(self.video_paths[0], resolution)

    def __len__(self) -> int:
        return len(self.video_paths)

    def set_epoch(self, epoch: int) -> None:
        """Change the draws of every index (call before each epoch, like ``DistributedSampler.set_epoch``)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict:
        reason = ""
        for attempt in range(self.max_retries + 1):
            rng = np.random.default_rng([self.seed, self.epoch, index, attempt])
            drawn = attempt > 0 or self.draw_clips
            path = self.video_paths[int(rng.integers(len(self))) if drawn else index]
            if path in self._unusable:
                reason = f"{path}: {self._unusable[path]}"
                continue
            try:
                return self.load_sample(path, rng)
            except SkipClip as error:
                reason = f"{path}: {error}"
                if str(error).startswith("unusable"):
                    self._unusable[path] = str(error)
            except (av.FFmpegError, InputError, OSError, ValueError, RuntimeError) as error:
                reason = f"{path}: unusable, cannot be decoded ({type(error).__name__}: {error})"
                self._unusable[path] = reason
            logger.warning("skipping %s", reason)
        raise InputError(f"{self.max_retries + 1} clips in a row from {self.list_name} gave no sample "
                         f"(last: {reason}); re-run the data processing or remove the bad clips from the list")

    @abstractmethod
    def load_sample(self, path: str, rng: np.random.Generator) -> dict:
        """One sample of ``path`` using only ``rng``'s draws; raise ``SkipClip`` when the clip cannot give one."""

    def open_clip(self, path: str) -> tuple[VideoReader, int]:
        """The clip's reader and frame count; clips shorter than ``min_clip_frames_factor * num_frames`` are skipped."""
        reader = VideoReader(path, fps=self.video_fps)
        num_frames = reader.count_frames()
        needed = self.min_clip_frames_factor * self.num_frames
        if num_frames < needed:
            raise SkipClip(f"unusable, {num_frames} frames is shorter than the {needed} a sample needs")
        return reader, num_frames

    def read_window(self, reader: VideoReader, start: int) -> np.ndarray:
        """(num_frames, H, W, 3) uint8 RGB frames from ``start``."""
        frames = np.stack(list(reader.iter_frames(range(start, start + self.num_frames))))
        if len(frames) != self.num_frames:
            raise SkipClip(f"only {len(frames)} frames decoded from {start}")
        return frames


def pixel_values(frames: np.ndarray, resolution: int) -> torch.Tensor:
    """(F, H, W, 3) uint8 -> (F, 3, res, res) float32 in [-1, 1]: bicubic (antialiased) as the inference path."""
    images = torch.from_numpy(frames).permute(0, 3, 1, 2)
    if images.shape[-2:] != (resolution, resolution):
        images = resize(images, [resolution, resolution], interpolation=InterpolationMode.BICUBIC, antialias=True)
    return ((images / 255.0 - 0.5) / 0.5).float()


def check_clip_resolution(path: str, resolution: int) -> None:
    """Warn (once, at start-up) when the data is smaller than the config's resolution: it is upsampled.

    Clips of any size are resized to ``data.resolution`` as the original does, so one processed data set serves
    a 256 px SyncNet and a 512 px U-Net; only upsampling, which blurs, deserves a word.
    """
    try:
        reader = VideoReader(path)
    except (av.FFmpegError, InputError, OSError) as error:
        logger.warning("cannot check the resolution of %s (%s)", path, error)
        return
    if reader.width < resolution or reader.height < resolution:
        logger.warning("%s is %dx%d, smaller than data.resolution %d: clips are upsampled (bicubic); process the "
                       "data at %d px or more for sharp samples", path, reader.width, reader.height, resolution,
                       resolution)
