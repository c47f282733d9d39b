"""The Wav2Lip-style mel spectrogram that SyncNet was trained on, and the dataset's window cutting.

Everything stays in float64 (scipy's ``lfilter`` promotes the waveform) because that is what the
original computes; a float32 pipeline drifts by ~1e-5. Parameters come from ``configs/syncnet_mel.yaml``.
``rescale``/``rescaling_max`` are kept in the config for compatibility but, as in the original,
never applied here.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np
from omegaconf import DictConfig, OmegaConf
from scipy.signal import lfilter

from latentsync.locations import CONFIGS_DIR

SYNCNET_MEL_CONFIG_PATH = CONFIGS_DIR / "syncnet_mel.yaml"


@lru_cache(maxsize=None)
def load_syncnet_mel_config(path: str | Path = SYNCNET_MEL_CONFIG_PATH) -> DictConfig:
    """Return the read-only ``audio`` section of an audio config file (parsed once: datasets call this per sample)."""
    config = OmegaConf.load(path).audio
    OmegaConf.set_readonly(config, True)
    if config.use_lws:
        raise ValueError(f"{path}: use_lws=true is not supported; the released SyncNet was trained with librosa's STFT")
    return config


def melspectrogram(wav: np.ndarray, config: DictConfig | None = None) -> np.ndarray:
    """Return the normalised (num_mels, 1 + len(wav) // hop) float64 mel spectrogram of a mono waveform."""
    config = load_syncnet_mel_config() if config is None else config
    if config.preemphasize:
        wav = lfilter([1.0, -config.preemphasis], [1.0], wav)
    magnitude = np.abs(
        librosa.stft(
            y=wav,
            n_fft=config.n_fft,
            hop_length=_hop_size(config),
            win_length=config.win_size,
            pad_mode="constant",  # librosa >= 0.10 default; pinned so older versions cannot switch to reflect
        )
    )
    mel = np.dot(_mel_basis(config.sample_rate, config.n_fft, config.num_mels, config.fmin, config.fmax), magnitude)
    # The original derives the amplitude floor as exp(db/20 * ln 10) (= 1e-5 up to rounding); kept for bit parity.
    floor = np.exp(config.min_level_db / 20 * np.log(10))
    level_db = 20 * np.log10(np.maximum(floor, mel)) - config.ref_level_db
    return _normalize(level_db, config) if config.signal_normalization else level_db


def mel_window(
    mel: np.ndarray, start_frame: int, num_frames: int, fps: float = 25, config: DictConfig | None = None
) -> np.ndarray | None:
    """Cut the (1, num_mels, L) mel window aligned with ``num_frames`` video frames from ``start_frame``.

    Returns ``None`` when the clip runs past the end of the mel: the datasets discard such samples
    (they draw another video) rather than pad them.
    """
    config = load_syncnet_mel_config() if config is None else config
    mel_columns_per_frame = Fraction(config.sample_rate, _hop_size(config)) / Fraction(fps)
    start = math.floor(start_frame * mel_columns_per_frame)
    length = math.ceil(num_frames * mel_columns_per_frame)
    window = mel[:, start : start + length]
    return window[None] if window.shape[-1] == length else None


def _hop_size(config: DictConfig) -> int:
    if config.hop_size is not None:
        return config.hop_size
    return int(config.frame_shift_ms / 1000 * config.sample_rate)


@lru_cache(maxsize=4)
def _mel_basis(sample_rate: int, n_fft: int, num_mels: int, fmin: float, fmax: float) -> np.ndarray:
    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=num_mels, fmin=fmin, fmax=fmax)


def _normalize(level_db: np.ndarray, config: DictConfig) -> np.ndarray:
    """Map [min_level_db, 0] dB linearly onto [-max, max] (symmetric) or [0, max]."""
    max_value = config.max_abs_value
    scaled = (level_db - config.min_level_db) / -config.min_level_db
    if config.symmetric_mels:
        normalized, lower = 2 * max_value * scaled - max_value, -max_value
    else:
        normalized, lower = max_value * scaled, 0.0
    if config.allow_clipping_in_normalization:
        return np.clip(normalized, lower, max_value)
    return normalized
