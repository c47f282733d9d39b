"""Audio2Feature's on-disk cache is keyed by content, and construction/input errors are one-line and actionable."""

import re
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from latentsync.errors import CheckpointError, InputError
from latentsync.whisper import Audio2Feature
from tests.helpers.paths import shared_path


def write_noise_wav(path: Path, seed: int, seconds: float = 1.0) -> Path:
    samples = np.random.default_rng(seed).integers(-8000, 8000, size=int(16000 * seconds), dtype=np.int16)
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(samples.tobytes())
    return path


@pytest.fixture()
def cached(tmp_path) -> tuple[Audio2Feature, list[int]]:
    """An Audio2Feature with a cache, plus a counter of encoder runs (one per 30 s segment)."""
    audio2feature = Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt"), cache_dir=tmp_path / "cache")
    runs = []
    audio2feature.encoder.register_forward_pre_hook(lambda module, args: runs.append(1))
    return audio2feature, runs


def test_hit_on_same_content_and_equal_to_fresh(tmp_path, cached):
    audio2feature, runs = cached
    audio = write_noise_wav(tmp_path / "speech.wav", seed=0)
    first = audio2feature.audio2feat(audio)
    assert len(runs) == 1 and len(list((tmp_path / "cache").glob("*.safetensors"))) == 1
    renamed = audio.rename(tmp_path / "renamed.wav")
    second = audio2feature.audio2feat(renamed)
    assert len(runs) == 1
    fresh = Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt")).audio2feat(renamed)
    assert torch.equal(second, fresh) and torch.equal(first, fresh)
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_miss_when_content_changes_under_same_name(tmp_path, cached):
    audio2feature, runs = cached
    audio = tmp_path / "speech.wav"
    before = audio2feature.audio2feat(write_noise_wav(audio, seed=0))
    after = audio2feature.audio2feat(write_noise_wav(audio, seed=1))
    assert len(runs) == 2
    assert not torch.equal(before, after)


def test_waveform_input_is_cached_too(cached):
    audio2feature, runs = cached
    waveform = np.random.default_rng(0).uniform(-0.2, 0.2, 16000).astype(np.float32)
    assert torch.equal(audio2feature.audio2feat(waveform), audio2feature.audio2feat(waveform.copy()))
    assert len(runs) == 1


def test_unreadable_entry_is_recomputed(tmp_path, cached):
    audio2feature, runs = cached
    audio = write_noise_wav(tmp_path / "speech.wav", seed=0)
    expected = audio2feature.audio2feat(audio)
    (entry,) = (tmp_path / "cache").glob("*.safetensors")
    entry.write_bytes(b"truncated")
    assert torch.equal(audio2feature.audio2feat(audio), expected)
    assert len(runs) == 2


def test_missing_checkpoint_says_how_to_get_it(tmp_path):
    with pytest.raises(CheckpointError, match=r"tiny\.pt not found; run \./setup_env\.sh"):
        Audio2Feature(tmp_path / "checkpoints" / "whisper" / "tiny.pt")


@pytest.mark.parametrize("content, state", [(b"not a checkpoint", r"cannot be read \(16 bytes; the download was "
                                                                   "interrupted"), (b"", r"is empty \(0 bytes\)")])
def test_corrupt_checkpoint_is_one_line_naming_the_file_and_the_fix(tmp_path, content, state):
    checkpoint = tmp_path / "tiny.pt"
    checkpoint.write_bytes(content)
    with pytest.raises(CheckpointError) as raised:
        Audio2Feature(checkpoint)
    message = str(raised.value)
    assert "\n" not in message
    assert re.fullmatch(f"Whisper checkpoint {re.escape(str(checkpoint))} {state}.*; delete it and download it "
                        r"again with \./setup_env\.sh", message), message


def test_audio_too_short_for_one_frame():
    audio2feature = Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt"))
    with pytest.raises(InputError, match="only 100 samples"):
        audio2feature.audio2feat(np.zeros(100, dtype=np.float32))
