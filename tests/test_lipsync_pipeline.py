"""The latent core (``inpaint``) runs end to end on CPU with tiny random models, deterministically."""

import pytest
import torch
from diffusers import DDIMScheduler

from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.whisper import Audio2Feature
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import tiny_vae

RESOLUTION = 64


@pytest.fixture(scope="module")
def pipeline() -> LipsyncPipeline:
    audio_encoder = Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt"))
    torch.manual_seed(0)
    unet = UNet3DConditionModel(block_out_channels=(32, 32, 32, 32), cross_attention_dim=audio_encoder.embedding_dim,
                                layers_per_block=1).eval()
    with torch.no_grad():  # random weights everywhere, so the output depends on every input
        for p in unet.parameters():
            p.normal_(0, 0.02)
    scheduler = DDIMScheduler.from_pretrained("configs")
    return LipsyncPipeline(vae=tiny_vae(), audio_encoder=audio_encoder, unet=unet, scheduler=scheduler)


@pytest.fixture(scope="module")
def inputs(pipeline):
    features = pipeline.audio_encoder.audio2feat(shared_path("parity", "audio", "demo2_audio.wav"))
    chunks = pipeline.audio_encoder.feature2chunks(features)[:20]
    torch.manual_seed(1)
    faces = torch.rand(20, 3, RESOLUTION, RESOLUTION) * 2 - 1
    mask = torch.ones(1, 1, RESOLUTION, RESOLUTION)
    mask[..., RESOLUTION // 2:, :] = 0  # generate the lower half
    return faces, faces * mask, mask, chunks


def _run(pipeline, inputs, seed=7, guidance_scale=1.5):
    faces, masked, mask, chunks = inputs
    return pipeline.inpaint(faces, masked, mask, chunks, num_inference_steps=2, guidance_scale=guidance_scale,
                    generator=torch.Generator().manual_seed(seed))


@pytest.mark.slow
def test_generates_every_frame_and_keeps_unmasked_pixels(pipeline, inputs):
    faces, _, mask, chunks = inputs
    assert chunks.shape == (20, 50, pipeline.audio_encoder.embedding_dim)
    out = _run(pipeline, inputs)  # 20 frames = one full 16-frame window + a 4-frame window
    assert out.shape == faces.shape and torch.isfinite(out).all()
    keep = mask.bool().expand_as(faces)
    assert torch.equal(out[keep], faces[keep])
    assert not torch.allclose(out[~keep], faces[~keep], atol=1e-3)


@pytest.mark.slow
def test_deterministic_under_a_fixed_seed(pipeline, inputs):
    assert torch.equal(_run(pipeline, inputs, seed=7), _run(pipeline, inputs, seed=7))
    assert not torch.equal(_run(pipeline, inputs, seed=7), _run(pipeline, inputs, seed=8))


@pytest.mark.slow
def test_audio_changes_the_generated_region(pipeline, inputs):
    faces, masked, mask, chunks = inputs
    silent = (faces, masked, mask, torch.zeros_like(chunks))
    assert not torch.allclose(_run(pipeline, inputs), _run(pipeline, silent), atol=1e-4)


def test_rejects_audio_frame_count_mismatch(pipeline, inputs):
    faces, masked, mask, chunks = inputs
    with pytest.raises(ValueError, match="one per frame"):
        pipeline.inpaint(faces, masked, mask, chunks[:5], num_inference_steps=1)


@pytest.mark.slow
def test_deepcache_runs_through_the_pipeline_and_stays_close(pipeline, inputs):
    faces, masked, mask, chunks = inputs
    args = (faces[:8], masked[:8], mask, chunks[:8])
    plain = pipeline.inpaint(*args, num_inference_steps=4, generator=torch.Generator().manual_seed(3))
    cached = pipeline.inpaint(*args, num_inference_steps=4, generator=torch.Generator().manual_seed(3), deep_cache_interval=2)
    assert not torch.equal(plain, cached)
    assert (plain - cached).abs().mean() < 0.5 * plain.abs().mean()


def test_every_attention_uses_pytorch_sdpa(pipeline):
    """Spatial, audio-cross and temporal attention (and the VAE's) all run on F.scaled_dot_product_attention,
    the fused flash / memory-efficient kernels on a GPU, not a softmax over a materialised score matrix."""
    from diffusers.models.attention_processor import Attention, AttnProcessor2_0

    attentions = [m for model in (pipeline.unet, pipeline.vae) for m in model.modules() if isinstance(m, Attention)]
    kinds = {type(m).__name__ for m in attentions}
    assert {"Attention", "TemporalSelfAttention"} <= kinds
    assert all(type(m.processor) is AttnProcessor2_0 for m in attentions)
