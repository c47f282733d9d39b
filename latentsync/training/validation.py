"""Validation during training: U-Net lip-sync quality (sync confidence) and SyncNet validation loss.

Validation must not change the training that follows it (exact resume would break otherwise), so both run
under ``preserved_rng``: every random state is put back afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler
from omegaconf import DictConfig

from ..errors import InputError
from ..evaluation.video_sync import VideoSyncScorer, scorer_from_args
from ..models.unet import UNet3DConditionModel
from ..pipelines.lipsync_pipeline import LipsyncPipeline
from ..pipelines.loading import SCHEDULER_CONFIG_DIR
from ..utils.checkpoints_dir import DEFAULT_CHECKPOINTS_DIR
from ..whisper import Audio2Feature
from .resume import capture_rng_state, restore_rng_state

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def preserved_rng(device: torch.device) -> Iterator[None]:
    state = capture_rng_state(device)
    try:
        yield
    finally:
        restore_rng_state(state, device)


def lipsync_validation_video(unet: UNet3DConditionModel, vae: AutoencoderKL, audio_encoder: Audio2Feature,
                             config: DictConfig, video_path: str | os.PathLike, audio_path: str | os.PathLike,
                             output_path: str | os.PathLike, face_backend: str = "auto") -> Path:
    """The one call from training into the inference pipeline (re-point it here when the pipeline changes).

    Generates with the config's ``run.inference_steps``, ``run.guidance_scale``, ``run.seed`` and mouth mask.
    """
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    pipeline = LipsyncPipeline.from_unet_config(config, vae=vae, audio_encoder=audio_encoder, unet=unet,
                                                scheduler=DDIMScheduler.from_pretrained(SCHEDULER_CONFIG_DIR),
                                                face_backend=face_backend)
    try:
        return pipeline(video_path=video_path, audio_path=audio_path, video_out_path=output_path).output_path
    finally:
        pipeline.close()


class UNetValidator:
    """At each save step: lip-sync ``data.val_video_path`` to ``data.val_audio_path`` and score its sync (LSE-C).

    ``sync_model_path`` is the classic SyncNet of the evaluation (``checkpoints/auxiliary/syncnet_v2.model``);
    it is loaded at start-up so a missing file fails before any training step.
    """

    def __init__(self, config: DictConfig, sync_model_path: str | os.PathLike, device: torch.device,
                 face_backend: str = "mediapipe", min_face_size: float = 100):
        self.config = config
        self.device = device
        self.face_backend = face_backend
        args = argparse.Namespace(initial_model=str(sync_model_path), detector=face_backend,
                                  checkpoints_dir=DEFAULT_CHECKPOINTS_DIR, s3fd_path=None, min_track=50,
                                  min_face_size=min_face_size, batch_size=20, device=str(device),
                                  protocol="original")
        self.scorer: VideoSyncScorer = scorer_from_args(args)

    def __call__(self, unet: UNet3DConditionModel, vae: AutoencoderKL, audio_encoder: Audio2Feature,
                 output_path: str | os.PathLike) -> float:
        """Sync confidence (LSE-C) of the lip-synced validation video written to ``output_path``.

        NaN (with a warning) when the scorer finds no long enough face track in it, as happens early in
        training: a validation hiccup must not end a run.
        """
        was_training = unet.training
        unet.eval()
        try:
            with preserved_rng(self.device):
                video = lipsync_validation_video(unet, vae, audio_encoder, self.config, self.config.data.val_video_path,
                                                 self.config.data.val_audio_path, output_path, self.face_backend)
                try:
                    return self.scorer(video).confidence
                except InputError as error:
                    logger.warning("validation video %s not scored: %s", video, error)
                    return math.nan
        finally:
            unet.train(was_training)

    def close(self) -> None:
        self.scorer.close()


@torch.no_grad()
def syncnet_validation_loss(syncnet: torch.nn.Module, loader, num_samples: int, step_function,
                            device: torch.device) -> float:
    """Mean loss over the first ``num_samples`` validation samples (``step_function(batch) -> mean loss``)."""
    was_training = syncnet.training
    syncnet.eval()
    total, seen = 0.0, 0
    try:
        with preserved_rng(device):
            for batch in loader:
                size = len(batch["y"])
                total += float(step_function(batch)) * size
                seen += size
                if seen >= num_samples:
                    break
    finally:
        syncnet.train(was_training)
    return total / max(seen, 1)
