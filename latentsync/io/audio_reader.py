"""Decode the audio track of any media file, or take an in-memory waveform, as mono float32 at a given rate.

The original LatentSync reads audio through the ffmpeg CLI (``-f s16le -ac 1 -ar 16000``)
and divides the int16 samples by 32768. We reproduce that in-process: PyAV's ``AudioResampler``
drives the same libswresample with the same target (packed signed 16-bit, mono, target rate),
so compressed inputs are downmixed, resampled and quantised like the original, and a 16 kHz
mono PCM16 WAV passes through untouched (exactly ``int16 / 32768``). An in-memory waveform goes
through the same resampler, so it gives what the same samples in a file give.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

from latentsync.errors import InputError

MAX_CHANNELS = 7  # the channel layouts libswresample names by count (mono ... 6.1)
_SUPPORTED_HINT = "pass an audio file (wav, mp3, m4a, flac, ogg, ...) or a video that has an audio track"


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Return the first audio stream of ``path`` as float32 mono samples at ``sample_rate`` Hz."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"audio file {path} does not exist (or is not a file); check the path")
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise InputError(f"{path} has no audio stream; {_SUPPORTED_HINT}")
            pcm16 = _decode_to_pcm16(container, container.streams.audio[0], sample_rate)
    except av.FFmpegError as error:
        raise InputError(f"{path} is not a readable media file ({error.strerror}); {_SUPPORTED_HINT}") from None
    if pcm16.size == 0:
        raise InputError(f"{path} contains no audio samples; use a file with at least a few milliseconds of sound")
    return pcm16.astype(np.float32) / 32768.0


def waveform_at_rate(waveform: np.ndarray, sample_rate: int, target_rate: int = 16000) -> np.ndarray:
    """An in-memory float ``waveform`` (1-D, or ``(channels, T)``) at ``sample_rate`` as ``load_audio`` returns
    a file of those samples: mono float32 at ``target_rate``. ``InputError`` names what is wrong with it."""
    waveform = np.asarray(waveform)
    if waveform.ndim == 1:
        waveform = waveform[None]
    if waveform.ndim != 2 or waveform.shape[1] == 0 or not 1 <= waveform.shape[0] <= MAX_CHANNELS:
        raise InputError(f"audio waveform of shape {waveform.shape} is not usable; pass a 1-D array of samples or "
                         f"(channels, samples) with 1 to {MAX_CHANNELS} channels")
    if not np.issubdtype(waveform.dtype, np.floating):
        raise InputError(f"audio waveform is {waveform.dtype}; pass float samples in [-1, 1]")
    if not np.isfinite(waveform).all():
        raise InputError("audio waveform holds NaN or infinite samples; pass finite samples in [-1, 1]")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise InputError(f"audio sample rate must be a positive whole number of samples per second, "
                         f"got {sample_rate!r}")
    channels = len(waveform)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(waveform, dtype=np.float32), format="fltp",
                                       layout=f"{channels}c")
    frame.sample_rate = int(sample_rate)
    return _resampled_pcm16([frame], target_rate).astype(np.float32) / 32768.0


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1) -> int16 (``load_audio``'s division undone: exact for what it decoded)."""
    return np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16)


def _decode_to_pcm16(container: av.container.InputContainer, stream: av.AudioStream, sample_rate: int) -> np.ndarray:
    """Decode, downmix and resample ``stream`` to packed int16 mono."""
    return _resampled_pcm16(container.decode(stream), sample_rate)


def _resampled_pcm16(frames: Iterable[av.AudioFrame], sample_rate: int) -> np.ndarray:
    """``frames`` downmixed and resampled to packed int16 mono, flushing the resampler's tail."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    pieces = []
    for frame in frames:
        pieces.extend(chunk.to_ndarray().reshape(-1) for chunk in resampler.resample(frame))
    pieces.extend(chunk.to_ndarray().reshape(-1) for chunk in resampler.resample(None))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
