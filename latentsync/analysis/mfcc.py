"""The MFCC front end of the classic SyncNet: ``python_speech_features.mfcc(signal, 16000)`` with its defaults.

Re-implemented in numpy (the package is unmaintained) with the same float64 operations in the same
order: 25 ms rectangular frames every 10 ms, pre-emphasis 0.97, 512-point power spectrum, 26 triangular
mel filters, orthonormal DCT-II keeping 13 cepstra, lifter 22, and c0 replaced by the log frame energy.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fftpack import dct

_EPS = np.finfo(float).eps


def mfcc(signal: np.ndarray, sample_rate: int = 16000, window_s: float = 0.025, step_s: float = 0.01,
         num_cepstra: int = 13, num_filters: int = 26, nfft: int = 512, preemphasis: float = 0.97,
         lifter: int = 22) -> np.ndarray:
    """(num_frames, num_cepstra) float64 MFCCs; frames = 1 + ceil((N - window) / step), zero-padded at the end.

    The evaluator feeds raw int16 sample values (not scaled to [-1, 1]); only c0 depends on that scale.
    """
    frames = _frame(_preemphasize(np.asarray(signal), preemphasis), _round_half_up(window_s * sample_rate),
                    _round_half_up(step_s * sample_rate))
    power = np.square(np.absolute(np.fft.rfft(frames, nfft))) / nfft
    energy = np.sum(power, 1)
    energy = np.where(energy == 0, _EPS, energy)
    features = np.dot(power, _mel_filterbank(num_filters, nfft, sample_rate).T)
    features = np.where(features == 0, _EPS, features)
    cepstra = dct(np.log(features), type=2, axis=1, norm="ortho")[:, :num_cepstra]
    cepstra *= 1 + (lifter / 2.0) * np.sin(np.pi * np.arange(num_cepstra) / lifter)
    cepstra[:, 0] = np.log(energy)
    return cepstra


def _preemphasize(signal: np.ndarray, coefficient: float) -> np.ndarray:
    return np.append(signal[0], signal[1:] - coefficient * signal[:-1])


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def _frame(signal: np.ndarray, length: int, step: int) -> np.ndarray:
    """Overlapping frames covering the whole signal; the last one is completed with zeros."""
    num_frames = 1 if len(signal) <= length else 1 + math.ceil((len(signal) - length) / step)
    padded = np.concatenate([signal, np.zeros((num_frames - 1) * step + length - len(signal))])
    indices = np.arange(length)[None, :] + step * np.arange(num_frames)[:, None]
    return padded[indices]


def _mel_filterbank(num_filters: int, nfft: int, sample_rate: int) -> np.ndarray:
    """(num_filters, nfft // 2 + 1) triangles between FFT bins placed evenly on the mel scale up to Nyquist."""
    high_mel = 2595 * np.log10(1 + (sample_rate / 2) / 700.0)
    mel_points = np.linspace(0.0, high_mel, num_filters + 2)
    bins = np.floor((nfft + 1) * (700 * (10 ** (mel_points / 2595.0) - 1)) / sample_rate)
    filterbank = np.zeros([num_filters, nfft // 2 + 1])
    for j in range(num_filters):
        rising = np.arange(int(bins[j]), int(bins[j + 1]))
        falling = np.arange(int(bins[j + 1]), int(bins[j + 2]))
        filterbank[j, rising] = (rising - bins[j]) / (bins[j + 1] - bins[j])
        filterbank[j, falling] = (bins[j + 2] - falling) / (bins[j + 2] - bins[j + 1])
    return filterbank
