"""DeepCache: full U-Net every N steps, shallow branch in between, exact when the deep features are unchanged."""

import pytest
import torch

from latentsync.models.deep_cache import DeepCacheUNet
from latentsync.models.unet import UNet3DConditionModel
from tests.helpers.tiny_models import tiny_unet_model_config


@pytest.fixture(scope="module")
def unet() -> UNet3DConditionModel:
    torch.manual_seed(0)
    model = UNet3DConditionModel(**{**tiny_unet_model_config(cross_attention_dim=16), "layers_per_block": 2}).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    return model


@pytest.fixture(scope="module")
def inputs():
    torch.manual_seed(1)
    return torch.randn(2, 13, 4, 16, 16), torch.tensor(500), torch.randn(8, 50, 16)


@pytest.mark.parametrize("branch", [0, 1, 2])
@torch.no_grad()
def test_shallow_step_equals_full_step_on_the_same_input(unet, inputs, branch):
    sample, t, audio = inputs
    cached = DeepCacheUNet(unet, cache_interval=2, branch=branch)
    full = cached(sample, t, audio).sample
    shallow = cached(sample, t, audio).sample  # step 1: reuses the deep features of step 0
    torch.testing.assert_close(shallow, full, rtol=0, atol=1e-5)
    assert torch.equal(full, unet(sample, t, encoder_hidden_states=audio).sample)


@torch.no_grad()
@pytest.mark.slow
def test_refreshes_every_interval_and_skips_the_deep_path_otherwise(unet, inputs):
    sample, t, audio = inputs
    deep_calls = []
    handle = unet.mid_block.register_forward_pre_hook(lambda *_: deep_calls.append(1))
    try:
        cached = DeepCacheUNet(unet, cache_interval=3)
        outputs = [cached(sample + 0.1 * i, t, audio).sample for i in range(7)]
    finally:
        handle.remove()
    assert len(deep_calls) == 3  # steps 0, 3, 6
    exact = unet(sample + 0.1, t, encoder_hidden_states=audio).sample
    assert not torch.allclose(outputs[1], exact, atol=1e-6)  # a shallow step approximates
    assert (outputs[1] - exact).abs().mean() < (exact - outputs[0]).abs().mean()


def test_rejects_bad_settings(unet):
    with pytest.raises(ValueError, match="branch"):
        DeepCacheUNet(unet, branch=5)
    with pytest.raises(ValueError, match="interval"):
        DeepCacheUNet(unet, cache_interval=0)
