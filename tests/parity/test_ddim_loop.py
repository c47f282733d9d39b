"""The pipeline's denoising loop reproduces the reference DDIM trajectory step by step."""

import json

import pytest
import torch
from diffusers import DDIMScheduler
from safetensors.torch import load_file

from latentsync.models.unet_loading import unet_from_config
from latentsync.pipelines.latent_inpainting import LatentInpaintingPipeline
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import tiny_vae

LATENT_ATOL = 3e-4  # README section 6
NOISE_PRED_ATOL = 1e-4


@pytest.fixture(scope="module")
def loop() -> dict[str, torch.Tensor]:
    return load_file(shared_path("parity", "unet", "ddim_loop.safetensors"))


@pytest.fixture(scope="module")
def pipeline() -> LatentInpaintingPipeline:
    unet = unet_from_config(shared_path("parity", "unet", "tiny_unet.yaml"))
    unet.load_state_dict(load_file(shared_path("parity", "unet", "tiny_unet.safetensors")), strict=True)
    scheduler = DDIMScheduler.from_pretrained("configs", subfolder=None)  # configs/scheduler_config.json
    return LatentInpaintingPipeline(vae=tiny_vae(), unet=unet.eval(), scheduler=scheduler)


def test_scheduler_resolves_like_reference(pipeline, loop):
    resolved = json.loads(shared_path("parity", "unet", "scheduler_config_resolved.json").read_text())
    config = dict(pipeline.scheduler.config)
    assert {k: config[k] for k in resolved} == resolved
    pipeline.scheduler.set_timesteps(3)
    assert torch.equal(pipeline.scheduler.timesteps, loop["timesteps"])
    assert torch.equal(pipeline.scheduler.alphas_cumprod, loop["alphas_cumprod"])


def test_initial_noise_is_one_draw_repeated(pipeline, loop):
    assert torch.equal(loop["noise_draw"].repeat(1, 1, 8, 1, 1) * pipeline.scheduler.init_noise_sigma,
                       loop["init_latents"])
    noise = pipeline.prepare_initial_noise(128, 128, torch.Generator().manual_seed(0))
    assert noise.shape == (1, 4, 1, 16, 16)


@torch.no_grad()
@pytest.mark.slow
def test_guided_loop_per_step(pipeline, loop):
    steps = {}
    captured_unet = []
    hook = pipeline.unet.register_forward_hook(lambda _m, _i, out: captured_unet.append(out.sample.clone()))
    try:
        final = pipeline.denoise(loop["init_latents"].clone(), loop["mask"], loop["masked_image_latents"],
                                 loop["ref_latents"], loop["audio_embeds"], num_inference_steps=3,
                                 guidance_scale=1.5, step_callback=lambda i, t, x: steps.__setitem__(i, x.clone()))
    finally:
        hook.remove()
    assert (captured_unet[0] - loop["cfg.step0.unet_out"]).abs().max() <= NOISE_PRED_ATOL
    uncond, cond = captured_unet[0].chunk(2)
    assert (uncond + 1.5 * (cond - uncond) - loop["cfg.step0.noise_pred"]).abs().max() <= NOISE_PRED_ATOL
    for i in range(3):
        assert (steps[i] - loop[f"cfg.step{i}.latents"]).abs().max() <= LATENT_ATOL, i
    assert (final - loop["cfg.final_latents"]).abs().max() <= LATENT_ATOL


@torch.no_grad()
def test_unguided_loop(pipeline, loop):
    final = pipeline.denoise(loop["init_latents"].clone(), loop["mask"], loop["masked_image_latents"],
                             loop["ref_latents"], loop["audio_embeds"], num_inference_steps=3, guidance_scale=1.0)
    assert (final - loop["nocfg.final_latents"]).abs().max() <= LATENT_ATOL


@pytest.fixture(scope="module")
def deepcache() -> dict[str, torch.Tensor]:
    return load_file(shared_path("parity", "unet", "ddim_deepcache.safetensors"))


@pytest.mark.parametrize("tag, guidance_scale", [("cfg1.5_deepcache", 1.5), ("nocfg_deepcache", 1.0),
                                                 ("cfg1.5_full", 1.5)])
@torch.no_grad()
@pytest.mark.slow
def test_deepcache_loop_per_step(pipeline, deepcache, monkeypatch, tag, guidance_scale):
    """DeepCache (interval 3, branch 0) gives the original's noise predictions and latents at every one of 7 steps."""
    noise_preds, steps = {}, {}
    scheduler_step = pipeline.scheduler.step

    def recording_step(model_output, t, *args, **kwargs):
        noise_preds[len(noise_preds)] = model_output.clone()
        return scheduler_step(model_output, t, *args, **kwargs)

    monkeypatch.setattr(pipeline.scheduler, "step", recording_step)
    inputs = {name: deepcache[f"inputs.{name}"] for name in ("latents0", "mask", "masked", "ref", "audio")}
    pipeline.denoise(inputs["latents0"].clone(), inputs["mask"], inputs["masked"], inputs["ref"], inputs["audio"],
                     num_inference_steps=7, guidance_scale=guidance_scale,
                     step_callback=lambda i, t, x: steps.__setitem__(i, x.clone()),
                     deep_cache_interval=None if tag.endswith("_full") else 3)
    assert torch.equal(pipeline.scheduler.timesteps, deepcache[f"{tag}.timesteps"])
    for i in range(7):
        assert (noise_preds[i] - deepcache[f"{tag}.noise_pred.{i}"]).abs().max() <= NOISE_PRED_ATOL, i
        assert (steps[i] - deepcache[f"{tag}.latents.{i}"]).abs().max() <= LATENT_ATOL, i
