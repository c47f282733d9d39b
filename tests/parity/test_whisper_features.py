"""Whisper features, segmenting and chunking against the reference fixtures (README section 2/2b)."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from latentsync.whisper import Audio2Feature
from latentsync.whisper.audio2feature import chunk_indices, whisper_segments
from latentsync.whisper.chunk_count import num_chunks
from tests.helpers.paths import shared_path

INPUTS = {"demo2": "demo2_audio.wav", "long": "long_speech.wav"}
FP32_TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    return load_file(shared_path("parity", "audio", "whisper_features.safetensors"))


@pytest.fixture(scope="module")
def audio2feature() -> Audio2Feature:
    return Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt"))


@pytest.fixture(scope="module")
def features(audio2feature) -> dict[str, torch.Tensor]:
    return {name: audio2feature.audio2feat(shared_path("parity", "audio", file)) for name, file in INPUTS.items()}


def test_positional_embedding_comes_from_checkpoint(audio2feature):
    checkpoint = torch.load(shared_path("parity", "audio", "whisper_tiny_fake.pt"), weights_only=True)
    stored = checkpoint["model_state_dict"]["encoder.positional_embedding"].float()
    assert torch.equal(audio2feature.encoder.positional_embedding, stored)
    assert (audio2feature.embedding_dim, audio2feature.num_layers) == (64, 5)


def test_log_mel(audio2feature, reference):
    log_mel = audio2feature.log_mel(shared_path("parity", "audio", INPUTS["demo2"]))
    # log10 of the float32 STFT power: 13 of 158,720 values moved by up to 3.2e-5 on some CPUs (measured; the
    # FFT's SIMD path), while the Whisper features computed from it stay within their own tolerance.
    torch.testing.assert_close(log_mel, reference["logmel_demo2"], atol=5e-5, rtol=0)


@pytest.mark.parametrize("name", INPUTS)
def test_segments(audio2feature, reference, name):
    num_mel_frames = audio2feature.log_mel(shared_path("parity", "audio", INPUTS[name])).shape[-1]
    assert torch.equal(torch.tensor(whisper_segments(num_mel_frames)), reference[f"segments_{name}"])


@pytest.mark.parametrize("name", INPUTS)
def test_features(features, reference, name):
    assert features[name].dtype == torch.float32
    torch.testing.assert_close(features[name], reference[f"feat_{name}"], **FP32_TOLERANCE)


@pytest.mark.parametrize("name", INPUTS)
def test_chunk_index_table(reference, name):
    num_features = len(reference[f"feat_{name}"])
    count = num_chunks(num_features, fps=25)
    assert count == num_features // 2 + 2
    assert torch.equal(chunk_indices(np.arange(count), num_features, fps=25), reference[f"chunk_idx_{name}"])


@pytest.mark.parametrize("name", INPUTS)
def test_chunks_are_exact_gathers(audio2feature, features, reference, name):
    ids = reference[f"chunks_sel_ids_{name}"]
    from_reference_feature = audio2feature.feature2chunks(reference[f"feat_{name}"], fps=25)
    assert from_reference_feature.shape == (len(reference[f"chunk_idx_{name}"]), 50, 64)
    assert torch.equal(from_reference_feature[ids], reference[f"chunks_sel_{name}"])
    torch.testing.assert_close(
        audio2feature.feature2chunks(features[name])[ids], reference[f"chunks_sel_{name}"], **FP32_TOLERANCE
    )


@pytest.mark.parametrize("fps", [25, 30, 29.97, 24])
def test_chunking_matches_the_original_loop(fps):
    """The vectorised gather equals the original's per-frame while-loop, off-by-one stop included."""
    num_features = 301
    expected = []
    for frame in range(10**6):
        center = int(frame * 50 / fps)
        expected.append([min(num_features - 1, max(0, i)) for i in range(center - 4, center + 6)])
        if int(frame * (50.0 / fps)) > num_features:
            break
    count = num_chunks(num_features, fps)
    assert chunk_indices(np.arange(count), num_features, fps).tolist() == expected


def test_crop_overlap_audio_window(audio2feature, reference):
    feature = reference["feat_demo2"]
    chunks = audio2feature.feature2chunks(feature)
    assert torch.equal(audio2feature.crop_overlap_audio_window(feature, 247), chunks[247:263])
    tail = audio2feature.crop_overlap_audio_window(feature, len(chunks) - 4)
    assert tail.shape == (16, 50, 64)
    assert torch.equal(tail[-1], feature[-1].expand(10, -1, -1).reshape(50, 64))


@pytest.mark.slow
def test_fp16_encoder_path(reference):
    """The original's default GPU path runs the encoder in fp16; README measures <= 4.8e-3 against fp32."""
    audio2feature = Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt"), dtype=torch.float16)
    feature = audio2feature.audio2feat(shared_path("parity", "audio", INPUTS["demo2"]))
    assert feature.dtype == torch.float32
    torch.testing.assert_close(feature, reference["feat_demo2"], atol=1e-2, rtol=0)
