"""Wav2Lip SyncNet against ../shared/parity/syncnet (hash-defined weights and image input)."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from safetensors.torch import load_file

from latentsync.losses.sync_loss import cosine_loss
from latentsync.models.wav2lip_syncnet import Wav2LipSyncNet
from tests.helpers.hash_init import hash_state_dict, hash_tensor
from tests.helpers.paths import shared_path


@pytest.mark.slow
def test_state_dict_and_hash_weights_match_manifest():
    manifest_path = shared_path("parity", "syncnet", "manifest_wav2lip_syncnet.json")
    manifest = json.loads(manifest_path.read_text())
    syncnet = Wav2LipSyncNet()
    assert [[key, list(value.shape)] for key, value in syncnet.state_dict().items()] == \
        [[key, shape] for key, shape in manifest["state_dict"].items()]
    assert sum(parameter.numel() for parameter in syncnet.parameters()) == manifest["num_params"]
    for key, value in hash_state_dict(manifest_path).items():
        spec = manifest["hash_init"][key]
        if value.is_floating_point():
            assert value.flatten()[:4].tolist() == spec["first4"], key
            assert abs(value.double().sum().item() - spec["sum_float64"]) < 1e-9 * max(1.0, value.numel()), key


@pytest.mark.slow
def test_forward_and_loss_match_fixture():
    manifest_path = shared_path("parity", "syncnet", "manifest_wav2lip_syncnet.json")
    image_spec = json.loads(manifest_path.read_text())["inputs"]["image_sequences"]
    fixture = load_file(shared_path("parity", "syncnet", "wav2lip_syncnet_forward.safetensors"))
    images = hash_tensor(image_spec["hash_name"], image_spec["shape"], image_spec["offset"], image_spec["scale"])
    assert hashlib.sha256(images.numpy().tobytes()).hexdigest() == image_spec["checksum"]["sha256_of_bytes"]

    syncnet = Wav2LipSyncNet()
    syncnet.load_state_dict(hash_state_dict(manifest_path))
    syncnet.eval()
    with torch.no_grad():
        vision_embeds, audio_embeds = syncnet(images, fixture["audio_sequences"])
    loss = cosine_loss(vision_embeds, audio_embeds, fixture["y"])

    torch.testing.assert_close(vision_embeds, fixture["vision_embeds"], atol=1e-5, rtol=0)
    torch.testing.assert_close(audio_embeds, fixture["audio_embeds"], atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cosine_similarity(vision_embeds, audio_embeds), fixture["sims"], atol=1e-5, rtol=0)
    torch.testing.assert_close(loss, fixture["loss"], atol=1e-5, rtol=0)
