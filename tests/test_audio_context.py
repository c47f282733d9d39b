"""``--audio_context overlap``: no seam in the Whisper features at 30 s and 60 s of a 75 s speech clip, and the
same features as ``cut`` away from the boundaries (Whisper tiny's architecture with random weights: the real
tiny.pt cannot be downloaded here; the seam comes from the window layout, not from the weights)."""

from __future__ import annotations

import hashlib

import pytest
import torch

from latentsync.whisper.audio2feature import Audio2Feature
from latentsync.whisper.audio_context import AUDIO_CONTEXTS
from latentsync.whisper.seam_windows import SEAM_CORE_FRAMES, SEAM_FADE_FRAMES, jump_ratios, seam_weights, seam_windows
from tests.helpers.demo_clips import demo_speech
from tests.helpers.tiny_models import write_random_whisper_tiny

BOUNDARIES = (1500, 3000)  # encoder frames at 30 s and 60 s


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(features per context, encoder windows computed, the cache folder, the encoder) of the 75 s clip."""
    work = tmp_path_factory.mktemp("audio_context")
    encoder = Audio2Feature(write_random_whisper_tiny(work / "tiny.pt"), cache_dir=work / "cache")
    encode, encoded = encoder._encode_segment, {}

    def encode_each_window_once(mel):  # overlap's back-to-back windows are cut's: encode them once in this test
        key = hashlib.sha256(mel.numpy().tobytes()).hexdigest()
        if key not in encoded:
            encoded[key] = encode(mel)
        return encoded[key]

    encoder._encode_segment = encode_each_window_once
    speech = demo_speech(75.0)
    features = {context: encoder.audio2feat(speech, context=context) for context in AUDIO_CONTEXTS}
    return features, encoded, work / "cache", encoder


@pytest.mark.slow
def test_overlap_removes_the_seams(run):
    features, encoded, _, _ = run
    assert features["cut"].shape == features["overlap"].shape == (3750, 5, 384)
    assert len(encoded) == 5  # 3 back-to-back windows, 2 across the boundaries
    cut, overlap = jump_ratios(features["cut"]), jump_ratios(features["overlap"])
    for boundary in BOUNDARIES:
        assert cut[boundary - 1] > 3, (boundary, cut[boundary - 1])  # the seam: measured 5.8 x the median
        assert overlap[boundary - 1] < 1.5, (boundary, overlap[boundary - 1])
    assert overlap.max() < 1.5, (overlap.max(), overlap.argmax())  # and no new jump where the windows cross-fade


@pytest.mark.slow
def test_features_away_from_the_boundaries_are_cuts(run):
    features, _, _, _ = run
    reach = SEAM_CORE_FRAMES + SEAM_FADE_FRAMES
    near = torch.zeros(3750, dtype=torch.bool)
    for boundary in BOUNDARIES:
        near[boundary - reach:boundary + reach] = True
    assert torch.equal(features["cut"][~near], features["overlap"][~near])
    assert not torch.equal(features["cut"][near], features["overlap"][near])


@pytest.mark.slow
def test_each_context_is_cached_apart(run):
    features, _, cache_dir, _ = run
    assert len(list(cache_dir.glob("*.safetensors"))) == 2
    assert not torch.equal(features["cut"], features["overlap"])


def test_seam_window_layout():
    assert seam_windows(3000) == []  # one window: nothing to stitch, overlap = cut
    assert seam_windows(7500) == [(1500, 4500), (4500, 7500)]
    assert seam_windows(6100) == [(1500, 4500), (4500, 6100)]  # the last one ends with the audio
    weights = seam_weights()
    assert weights.shape == (1500,) and torch.equal(weights, weights.flip(0))
    assert (weights[750 - SEAM_CORE_FRAMES:750 + SEAM_CORE_FRAMES] == 1).all()
    assert (weights[:250] == 0).all()  # no feature comes from within 5 s of a window's edge
    assert (weights[:750].diff() >= 0).all()


@pytest.mark.slow
def test_unknown_context_is_refused(run):
    with pytest.raises(ValueError, match="unknown audio context 'sliding'"):
        run[3].audio2feat(demo_speech(1.0), context="sliding")
