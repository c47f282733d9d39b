"""Fréchet Video Distance: Fréchet distance between Gaussian fits of I3D features of two sets of clips.

Uses the I3D TorchScript model of StyleGAN-V (``i3d_torchscript.pt``) with its own preprocessing
(``rescale=True``: 0..255 -> [-1, 1]; ``resize=True``: trilinear to 224x224), and its 400-d logits-layer
features (``return_features=True``), so scores are comparable with other papers' FVD numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from ..errors import CheckpointError, InputError
from ..io.video_reader import VideoReader
from ..models.stable_syncnet import AUXILIARY_SETUP_HINT

DETECTOR_KWARGS = {"rescale": True, "resize": True, "return_features": True}


def load_i3d(path: str | Path, device: torch.device | str = "cpu") -> torch.jit.ScriptModule:
    """Load the I3D TorchScript feature extractor, in eval mode on ``device``."""
    if not Path(path).is_file():
        raise CheckpointError(f"I3D model {path} not found; run {AUXILIARY_SETUP_HINT} to download it, "
                              "or pass its path")
    with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format the I3D weights ship in
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location=device).eval()


def video_clips(path: str | Path, clip_len: int = 16) -> Iterator[np.ndarray]:
    """Consecutive non-overlapping (clip_len, H, W, 3) uint8 RGB clips at 25 fps; a short tail is dropped."""
    clip = []
    for frame in VideoReader(path).frames():
        clip.append(frame)
        if len(clip) == clip_len:
            yield np.stack(clip)
            clip = []


@torch.inference_mode()
def i3d_features(detector: torch.jit.ScriptModule, clips: Iterable[np.ndarray], batch_size: int = 8,
                 device: torch.device | str = "cpu") -> np.ndarray:
    """(num_clips, feature_dim) float64 features of (T, H, W, 3) uint8 clips (batched while sizes agree)."""
    features, batch = [], []

    def flush() -> None:
        videos = torch.from_numpy(np.stack(batch)).to(device).permute(0, 4, 1, 2, 3).float()  # (B, 3, T, H, W)
        features.append(detector(videos, **DETECTOR_KWARGS).double().cpu().numpy())
        batch.clear()

    for clip in clips:
        if batch and clip.shape != batch[0].shape:
            flush()
        batch.append(clip)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(features) if features else np.zeros((0, 0))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrtm(S_a S_b))`` of two (N, D) feature sets, N >= 2 each."""
    for name, features in (("first", features_a), ("second", features_b)):
        if len(features) < 2:
            raise InputError(f"the {name} set has {len(features)} clip(s); FVD needs at least 2 clips per set")
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    sigma_a, sigma_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    sqrt_product = linalg.sqrtm(sigma_a @ sigma_b)
    return float(np.real(np.square(mu_a - mu_b).sum() + np.trace(sigma_a + sigma_b - 2 * sqrt_product)))
