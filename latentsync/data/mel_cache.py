"""The SyncNet mel spectrogram of each clip's audio, computed once and kept on disk."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from latentsync.io.atomic_file import replaced_atomically
from latentsync.io.audio_reader import load_audio
from latentsync.utils.syncnet_mel import melspectrogram

logger = logging.getLogger(__name__)


class MelCache:
    """``mel(video_path)`` -> (80, T) float64, read from ``cache_dir`` or computed and stored atomically.

    Entries are named after the clip and keyed by its absolute path, size and modification time, so two
    clips with the same file name never collide and an edited clip is recomputed. A corrupt entry is rebuilt.
    """

    def __init__(self, cache_dir: str | Path, sample_rate: int = 16000):
        self.cache_dir = Path(cache_dir)
        self.sample_rate = sample_rate

    def path_for(self, video_path: str | Path) -> Path:
        video_path = Path(video_path).resolve()
        stat = video_path.stat()
        key = hashlib.sha1(f"{video_path}|{stat.st_size}|{stat.st_mtime_ns}|{self.sample_rate}".encode()).hexdigest()
        return self.cache_dir / f"{video_path.stem}_{key[:16]}_mel.npy"

    def mel(self, video_path: str | Path) -> np.ndarray:
        cache_path = self.path_for(video_path)
        if cache_path.is_file():
            try:
                return np.load(cache_path, allow_pickle=False)
            except (OSError, ValueError, EOFError) as error:
                logger.warning("rebuilding corrupt mel cache %s (%s)", cache_path, error)
        mel = melspectrogram(load_audio(video_path, self.sample_rate))
        self._save(cache_path, mel)
        return mel

    def _save(self, cache_path: Path, mel: np.ndarray) -> None:
        """Temp file + rename: concurrent workers and crashes never leave a half-written entry."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(cache_path) as partial, partial.open("wb") as stream:
            np.save(stream, mel)
