"""Content-addressed on-disk store for Whisper features, so re-running the same audio skips the encoder.

Entries are keyed by what determines the result: the audio bytes, the checkpoint bytes and the
numeric variant (dtype, device type). Renaming a file still hits; editing it in place misses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from latentsync.io.atomic_file import replaced_atomically
from latentsync.io.paths import check_output_folder

_FORMAT_VERSION = "1"


def sha256_file(path: str | Path, block_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content, read in blocks so large checkpoints do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def sha256_waveform(waveform: np.ndarray) -> str:
    """Hex SHA-256 of a waveform's float32 samples (for audio passed in memory rather than as a file)."""
    return hashlib.sha256(np.ascontiguousarray(waveform, dtype=np.float32).tobytes()).hexdigest()


class FeatureCache:
    """Stores one ``feature`` tensor per audio digest under ``cache_dir`` as safetensors."""

    def __init__(self, cache_dir: str | Path, model_digest: str, variant: str):
        self.cache_dir = check_output_folder(cache_dir, "audio feature cache folder")  # not at the first save
        self.model_digest = model_digest
        self.variant = variant

    def path_for(self, audio_digest: str) -> Path:
        key = hashlib.sha256(f"v{_FORMAT_VERSION}|{audio_digest}|{self.model_digest}|{self.variant}".encode())
        return self.cache_dir / f"{key.hexdigest()}.safetensors"

    def load(self, audio_digest: str) -> torch.Tensor | None:
        """Return the cached feature, or ``None`` on a miss or an unreadable (e.g. truncated) entry."""
        path = self.path_for(audio_digest)
        try:
            return load_file(path)["feature"]
        except (FileNotFoundError, SafetensorError, KeyError):
            return None

    def save(self, audio_digest: str, feature: torch.Tensor) -> None:
        """Write atomically (partial file + rename) so a crash or a concurrent reader never sees half a file."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        metadata = {"audio_sha256": audio_digest, "model_sha256": self.model_digest, "variant": self.variant}
        with replaced_atomically(self.path_for(audio_digest)) as partial:
            save_file({"feature": feature.contiguous()}, str(partial), metadata=metadata)
