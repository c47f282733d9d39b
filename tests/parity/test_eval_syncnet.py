"""The classic evaluation SyncNet and its scoring against ../shared/parity/syncnet (hash-defined weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from scipy.io import wavfile

from latentsync.analysis.mfcc import mfcc
from latentsync.analysis.sync_scoring import offset_distances, score_sync
from latentsync.analysis.syncnet_eval import SyncNetEval
from latentsync.analysis.syncnet_v2 import SyncNetV2, load_syncnet_v2
from latentsync.errors import CheckpointError
from tests.helpers.hash_init import hash_pixels, hash_state_dict
from tests.helpers.paths import shared_path


@pytest.fixture(scope="module")
def manifest_path():
    return shared_path("parity", "syncnet", "manifest_eval_syncnet.json")


@pytest.fixture(scope="module")
def fixture():
    return load_file(shared_path("parity", "syncnet", "eval_syncnet_forward.safetensors"))


@pytest.fixture(scope="module")
def syncnet(manifest_path):
    model = SyncNetV2()
    model.load_state_dict(hash_state_dict(manifest_path))
    return model.eval()


@pytest.fixture(scope="module")
def demo2_pcm16():
    sample_rate, samples = wavfile.read(shared_path("parity", "audio", "demo2_audio.wav"))
    assert sample_rate == 16000 and samples.dtype == np.int16
    return samples


def test_state_dict_matches_manifest(manifest_path):
    manifest = json.loads(manifest_path.read_text())
    model = SyncNetV2()
    assert [[key, list(value.shape)] for key, value in model.state_dict().items()] == \
        [[key, shape] for key, shape in manifest["state_dict"].items()]
    assert sum(parameter.numel() for parameter in model.parameters()) == manifest["num_params"]


def test_mfcc_matches_fixture(fixture, demo2_pcm16):
    np.testing.assert_allclose(mfcc(demo2_pcm16, 16000).T, fixture["mfcc_demo2"].numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(mfcc(demo2_pcm16[:19200], 16000).T, fixture["e2e_mfcc"].numpy(), rtol=0, atol=1e-10)


def test_forward_matches_fixture(syncnet, fixture, manifest_path, demo2_pcm16):
    spec = json.loads(manifest_path.read_text())["inputs"]["frames_bgr_uint8"]
    frames = torch.from_numpy(hash_pixels(spec["hash_name"], spec["shape"]))
    assert frames.double().sum().item() == spec["checksum"]["sum_float64"]
    video = frames.permute(3, 0, 1, 2)[None].float()  # (1, 3, T, 224, 224) raw 0..255
    lip_in = torch.cat([video[:, :, v : v + 5] for v in range(2)])
    cepstra = torch.from_numpy(mfcc(demo2_pcm16, 16000).T).float()
    audio_in = torch.stack([cepstra[None, :, 4 * v : 4 * v + 20] for v in range(2)])
    torch.testing.assert_close(audio_in, fixture["audio_in"], atol=0, rtol=0)
    with torch.no_grad():
        torch.testing.assert_close(syncnet.forward_lip(lip_in), fixture["lip_out"], atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(syncnet.forward_aud(audio_in), fixture["aud_out"], atol=1e-4, rtol=1e-5)


@pytest.mark.slow
def test_end_to_end_evaluate_matches_fixture(syncnet, fixture, manifest_path, demo2_pcm16):
    spec = json.loads(manifest_path.read_text())["inputs"]["e2e_frames_bgr_uint8"]
    frames = hash_pixels(spec["hash_name"], spec["shape"])
    score = SyncNetEval(syncnet, batch_size=20).evaluate(frames, demo2_pcm16[:19200])
    assert score.av_offset == fixture["e2e_av_offset"].item() == -15
    torch.testing.assert_close(score.mean_dists, fixture["e2e_mean_dists"], atol=1e-4, rtol=0)
    assert score.min_dist == pytest.approx(fixture["e2e_min_dist"].item(), abs=1e-4)
    assert score.confidence == pytest.approx(fixture["e2e_conf"].item(), abs=1e-4)


@pytest.mark.parametrize("case", ["planted", "random"])
def test_offset_and_confidence_scoring_matches_fixture(case):
    fixture = load_file(shared_path("parity", "syncnet", "eval_offset_conf.safetensors"))
    video_feats, audio_feats = fixture[f"{case}_im_feat"], fixture[f"{case}_cc_feat"]
    torch.testing.assert_close(offset_distances(video_feats, audio_feats, 15), fixture[f"{case}_dists"],
                               atol=1e-4, rtol=0)
    score = score_sync(video_feats, audio_feats, vshift=15)
    torch.testing.assert_close(score.mean_dists, fixture[f"{case}_mean_dists"], atol=1e-4, rtol=0)
    assert score.av_offset == fixture[f"{case}_av_offset"].item()
    assert 15 - score.av_offset == fixture[f"{case}_minidx"].item()
    assert score.min_dist == pytest.approx(fixture[f"{case}_min_dist"].item(), abs=1e-4)
    assert score.confidence == pytest.approx(fixture[f"{case}_conf"].item(), abs=1e-4)


def test_checkpoint_without_batch_counters_loads_and_extra_keys_fail(tmp_path):
    state_dict = {key: value for key, value in SyncNetV2().state_dict().items()
                  if not key.endswith("num_batches_tracked")}
    path = tmp_path / "syncnet_v2.model"
    torch.save(state_dict, path)
    model = load_syncnet_v2(path)
    assert not model.training
    torch.testing.assert_close(model.state_dict()["netcnnlip.18.weight"], state_dict["netcnnlip.18.weight"])

    torch.save({f"__S__.{key}": value for key, value in state_dict.items()}, path)
    with pytest.raises(CheckpointError, match=r"unexpected \[__S__\..*without '__S__.'"):
        load_syncnet_v2(path)
    with pytest.raises(CheckpointError, match="syncnet_v2.model not found; run ./setup_env.sh --auxiliary"):
        load_syncnet_v2(tmp_path / "auxiliary" / "syncnet_v2.model")
