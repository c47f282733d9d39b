"""The original's training recipe in small functions, asked about CUDA on any machine: which frozen model runs in
which dtype and with checkpointing, how long a run is, how the learning rate scales."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from latentsync.config.training_length import total_train_steps
from latentsync.models.stable_syncnet import StableSyncNet
from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.loading import load_scheduler
from latentsync.cli import eval_fvd
from latentsync.training.frozen_precision import frozen_dtype, frozen_model_precision
from latentsync.training.optimization import scaled_learning_rate
from latentsync.training.step_settings import UNetStepSettings
from latentsync.training.unet_step import UNetStepModels, unet_training_step
from latentsync.utils.device import resolve_whisper_dtype
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.tiny_models import tiny_unet_model_config, tiny_vae

STAGE1 = OmegaConf.load(REPO_ROOT / "configs" / "unet" / "stage1.yaml")
STAGE2 = OmegaConf.load(REPO_ROOT / "configs" / "unet" / "stage2_512.yaml")


def test_on_cuda_the_frozen_models_run_in_float16_as_the_original():
    stage2 = frozen_model_precision(torch.device("cuda"), STAGE2)
    assert stage2.vae_dtype == stage2.syncnet_dtype == stage2.trepa_dtype == stage2.whisper_dtype == torch.float16
    assert stage2.vae_gradient_checkpointing  # pixel_space_supervise: the loss backpropagates through the decoder
    assert stage2.syncnet_gradient_checkpointing and stage2.trepa_gradient_checkpointing
    assert stage2.validation_autocast_dtype == torch.float16
    stage1 = frozen_model_precision("cuda:1", STAGE1)
    assert stage1.vae_dtype == torch.float16 and not stage1.vae_gradient_checkpointing
    assert "VAE float16 + gradient checkpointing" in stage2.describe()


def test_whisper_and_the_syncnet_trainers_vae_are_float16_on_every_gpu_as_the_original():
    assert frozen_dtype("cuda:0") == torch.float16 and frozen_dtype("cpu") == torch.float32  # latent SyncNet's VAE
    # The original's Whisper computes in float16 on any GPU, also where its U-Net stays float32 (capability <= 7).
    assert resolve_whisper_dtype("auto", torch.device("cuda")) == torch.float16
    assert resolve_whisper_dtype("float32", torch.device("cuda")) == torch.float32
    assert resolve_whisper_dtype("auto", torch.device("cpu")) == torch.float32


def test_fvd_runs_i3d_on_the_cpu_unless_asked_as_the_original():
    arguments = ["--real_videos_dir", "real", "--fake_videos_dir", "fake"]
    assert eval_fvd.parse_args(arguments).device == "cpu"
    assert eval_fvd.parse_args([*arguments, "--device", "auto"]).device == "auto"  # a GPU when there is one


def test_off_cuda_everything_stays_float32():
    cpu = frozen_model_precision(torch.device("cpu"), STAGE2)
    assert {cpu.vae_dtype, cpu.syncnet_dtype, cpu.trepa_dtype, cpu.whisper_dtype} == {torch.float32}
    assert cpu.validation_autocast_dtype is None
    assert cpu.vae_gradient_checkpointing == frozen_model_precision("cuda", STAGE2).vae_gradient_checkpointing


@pytest.mark.slow
def test_a_step_runs_with_the_cuda_settings_float16_vae_and_syncnet_float32_unet():
    """The dtypes meet as on a GPU (float16 latents into the float32 trained U-Net, float16 pixels into the SyncNet);
    on the CPU without autocast, so only the plumbing is checked, not float16 speed."""
    torch.manual_seed(0)
    vae = tiny_vae(0).to(torch.float16).requires_grad_(False)
    vae.enable_gradient_checkpointing()
    num_frames = 2  # a 2-frame SyncNet keeps the test cheap; the dtypes meet as with 16
    syncnet_config = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml"))
    syncnet_config.model.visual_encoder.in_channels = 3 * num_frames
    syncnet = StableSyncNet(syncnet_config.model, gradient_checkpointing=True).to(torch.float16).eval()
    unet = UNet3DConditionModel(**tiny_unet_model_config(16)).train()
    models = UNetStepModels(unet=unet, vae=vae, noise_scheduler=load_scheduler(),
                            syncnet=syncnet.requires_grad_(False), syncnet_resolution=32)
    settings = UNetStepSettings(num_frames=num_frames, perceptual_loss_weight=0, trepa_loss_weight=0)
    pixels = torch.rand(1, num_frames, 3, 64, 64) * 2 - 1
    masks = torch.ones(1, num_frames, 1, 64, 64)
    batch = {"gt_pixel_values": pixels, "masked_pixel_values": pixels, "ref_pixel_values": pixels, "masks": masks,
             "mel": torch.randn(1, 1, 80, 52)}
    output = unet_training_step(batch, torch.randn(1, num_frames, 50, 16), models, settings)
    assert output.intermediates["gt_latents"].dtype == torch.float16
    assert output.intermediates["syncnet_input"].dtype == torch.float16
    output.loss.backward()
    assert unet.conv_out.weight.grad is not None and torch.isfinite(output.loss)


@pytest.mark.parametrize("steps, epochs, batches, expected", [(10, -1, 7, 10), (10, 3, 7, 10), (-1, 3, 7, 21)])
def test_max_train_steps_minus_one_trains_the_epochs_as_the_original(steps, epochs, batches, expected):
    assert total_train_steps(OmegaConf.create({"max_train_steps": steps, "max_train_epochs": epochs}), batches) \
        == expected


def test_scale_lr_multiplies_by_the_number_of_processes_only():
    assert scaled_learning_rate(1e-5, True, 8) == pytest.approx(8e-5)
    assert scaled_learning_rate(1e-5, False, 8) == 1e-5
