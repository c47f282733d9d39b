"""Pipeline settings come from the U-Net YAML (``register_to_config``), and the latent core uses them."""

import pytest
import torch
from diffusers import DDIMScheduler
from omegaconf import OmegaConf

from latentsync.config.unet_config import pipeline_settings
from latentsync.locations import REPO_ROOT
from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.latent_inpainting import LatentInpaintingPipeline
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from tests.helpers.tiny_models import TINY_RESOLUTION, tiny_unet_model_config, tiny_vae


@pytest.fixture(scope="module")
def modules() -> dict:
    torch.manual_seed(0)
    unet = UNet3DConditionModel(**tiny_unet_model_config(cross_attention_dim=64)).eval()
    return dict(vae=tiny_vae(), unet=unet, scheduler=DDIMScheduler.from_pretrained(REPO_ROOT / "configs"))


def test_release_configs_give_every_setting():
    for name in ("stage2.yaml", "stage2_512.yaml"):
        settings = pipeline_settings(OmegaConf.load(REPO_ROOT / "configs" / "unet" / name))
        assert settings == dict(resolution=512 if "512" in name else 256, num_frames=16, video_fps=25,
                                audio_sample_rate=16000, audio_feat_length=[2, 2], num_inference_steps=20,
                                guidance_scale=1.5, seed=1247), name


def test_pipeline_config_follows_the_yaml_and_the_checkpoints_dir(modules, tmp_path):
    config = OmegaConf.create({"data": {"resolution": TINY_RESOLUTION, "num_frames": 8, "video_fps": 30},
                               "run": {"inference_steps": 7, "guidance_scale": 2.5, "seed": 3}})
    pipeline = LipsyncPipeline.from_unet_config(config, audio_encoder=None, checkpoints_dir=tmp_path,
                                                face_backend="mediapipe", **modules)
    assert (pipeline.config.resolution, pipeline.config.num_frames, pipeline.config.video_fps) == (64, 8, 30)
    assert (pipeline.config.num_inference_steps, pipeline.config.guidance_scale, pipeline.config.seed) == (7, 2.5, 3)
    assert pipeline.config.audio_sample_rate == 16000  # absent from the YAML: the pipeline's default
    assert pipeline.checkpoint_layout.auxiliary == tmp_path / "auxiliary"  # where the landmark weights are read
    assert pipeline.config.enhancers_dir == str(tmp_path / "enhancers")
    assert pipeline.mask.shape == (3, TINY_RESOLUTION, TINY_RESOLUTION)
    assert "audio_encoder" in pipeline.components and "landmark_detector" not in pipeline.components


@torch.no_grad()
def test_the_latent_core_runs_config_num_frames_per_unet_call(modules):
    faces = torch.rand(10, 3, TINY_RESOLUTION, TINY_RESOLUTION) * 2 - 1
    mask = torch.ones(1, 1, TINY_RESOLUTION, TINY_RESOLUTION)
    audio = torch.randn(10, 50, 64)
    for num_frames, expected_calls in ((16, 1), (4, 3)):
        core = LatentInpaintingPipeline(num_frames=num_frames, **modules)
        core.set_progress_bar_config(disable=True)
        window_sizes = []
        hook = core.unet.register_forward_pre_hook(lambda _m, args: window_sizes.append(args[0].shape[2]))
        try:
            core.inpaint(faces, faces * mask, mask, audio, num_inference_steps=1, guidance_scale=1.0)
        finally:
            hook.remove()
        assert len(window_sizes) == expected_calls and sum(window_sizes) == 10, num_frames
