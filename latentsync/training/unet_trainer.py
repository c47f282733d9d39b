"""Train the LatentSync U-Net (``scripts/train_unet.py --unet_config_path configs/unet/...``), one process per device.

As the original ``train_unet.py``: stage 1 trains every parameter from Stable Diffusion 1.5 weights, stage 2
only the parameters whose names contain ``run.trainable_modules``; AdamW with ``scale_lr``, a diffusers LR
schedule with warmup, gradient clipping, fp16 autocast + GradScaler, gradient checkpointing; the step itself
(noise, losses) is ``unet_training_step``. Every ``ckpt.save_ckpt_steps`` a ``checkpoint-{step}.pt`` that
inference loads, its resume bundle, and a validation video scored for lip-sync confidence.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import torch
from diffusers.optimization import get_scheduler
from omegaconf import DictConfig
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from latentsync.config.syncnet_config import load_syncnet_config
from latentsync.config.training_length import check_steps_left, total_train_steps
from latentsync.config.unet_config import load_unet_training_config
from latentsync.data import DistributedResumableSampler, UNetDataset
from latentsync.data.whisper_windows import whisper_windows
from latentsync.errors import CheckpointError, InputError
from latentsync.losses.perceptual import load_lpips
from latentsync.losses.trepa import load_trepa_loss
from latentsync.models.checkpoint_io import load_state_dict_strict, read_checkpoint
from latentsync.models.stable_syncnet import load_stable_syncnet
from latentsync.models.unet import UNet3DConditionModel
from latentsync.models.unet_loading import load_unet_training_start, unet_from_config, zero_input_output_convs
from latentsync.pipelines.loading import load_scheduler, load_vae
from latentsync.training.data_position import DataPosition
from latentsync.training.frozen_precision import frozen_model_precision
from latentsync.training.optimization import backward, clip_and_step, scaled_learning_rate
from latentsync.training.run_options import UNetTrainOptions
from latentsync.training.session import TrainingSession, resolve_precision, seed_everything, to_device, training_loader
from latentsync.training.skipped_batches import SkippedBatches
from latentsync.training.step_settings import LOSS_NAMES, UNetStepSettings
from latentsync.training.unet_step import UNetStepModels, unet_training_step
from latentsync.training.validation import UNetValidator
from latentsync.utils.distributed import barrier, distributed, mean_over_ranks
from latentsync.whisper import Audio2Feature

logger = logging.getLogger(__name__)


def train_unet(options: UNetTrainOptions) -> Path:
    """Train until ``run.max_train_steps`` (or ``run.max_train_epochs``); return the run folder."""
    with distributed(options.device) as ctx, contextlib.ExitStack() as session_scope:
        return _train(options, ctx, session_scope)


def load_initial_unet_weights(unet: UNet3DConditionModel, path: str | os.PathLike | None, exact_resume: bool,
                              log: bool) -> int:
    """The starting weights; return the global step training continues from (the file's, as the original).

    ``exact_resume``: this trainer's own checkpoint of the same config, loaded strictly. Otherwise
    ``ckpt.resume_ckpt_path`` loads non-strictly the original's way (``load_unet_training_start``, report logged
    by module group when ``log``); without any file the model starts as the original's constructor leaves it.
    """
    if exact_resume:
        state_dict, extras = read_checkpoint(path)
        load_state_dict_strict(unet, state_dict, str(path))
        return int(extras["global_step"])
    if not path:
        zero_input_output_convs(unet)
        return 0
    report, global_step = load_unet_training_start(unet, path)
    if log:
        logger.info("U-Net start (global_step %d): %s", global_step, report.table())
    return global_step


def select_trainable_parameters(unet: UNet3DConditionModel, trainable_modules) -> list[torch.nn.Parameter]:
    """Stage 1 (no ``trainable_modules``): every parameter; stage 2: those whose names contain one of them."""
    if not trainable_modules:
        unet.requires_grad_(True)
        return list(unet.parameters())
    unet.requires_grad_(False)
    chosen = [p for name, p in unet.named_parameters() if any(m in name for m in trainable_modules)]
    if not chosen:
        raise InputError(f"run.trainable_modules {list(trainable_modules)} match no U-Net parameter name")
    for parameter in chosen:
        parameter.requires_grad_(True)
    return chosen


def _train(options: UNetTrainOptions, ctx, session_scope: contextlib.ExitStack) -> Path:
    config = load_unet_training_config(options.unet_config_path)
    data, run, device = config.data, config.run, ctx.device
    seed_everything(run.seed + ctx.rank)
    precision = resolve_precision(run.mixed_precision_training, options.mixed_precision, device)
    frozen = frozen_model_precision(device, config)
    if ctx.is_main:
        logger.info("frozen models on %s: %s", device, frozen.describe())
    settings = UNetStepSettings.from_config(config, autocast_dtype=precision.autocast_dtype)
    train_set = UNetDataset.from_config(config, seed=run.seed)
    sampler = DistributedResumableSampler(train_set, ctx.world_size, ctx.rank, shuffle=True, seed=run.seed)
    loader = training_loader(train_set, sampler, data, device, run.seed)
    batches_per_epoch = len(loader)
    max_steps = total_train_steps(run, batches_per_epoch)

    # Every model and weight file before the run folder exists: a missing one fails before any step.
    unet = unet_from_config(config)
    vae = load_vae(options.vae_model_path, frozen.vae_dtype).to(device).requires_grad_(False)
    if frozen.vae_gradient_checkpointing:
        vae.enable_gradient_checkpointing()
    audio_encoder = None
    if config.model.add_audio_layer:
        audio_encoder = Audio2Feature(options.whisper_path(config.model.cross_attention_dim), device=device,
                                      dtype=frozen.whisper_dtype, num_frames=data.num_frames,
                                      audio_feat_length=tuple(data.audio_feat_length),
                                      cache_dir=data.audio_embeds_cache_dir)
    models = UNetStepModels(unet=unet, vae=vae, noise_scheduler=load_scheduler())
    if settings.uses("sync"):
        syncnet_config = load_syncnet_config(data.syncnet_config_path)
        models.syncnet = load_stable_syncnet(syncnet_config, options.syncnet_path(syncnet_config), device=device,
                                             dtype=frozen.syncnet_dtype,
                                             gradient_checkpointing=frozen.syncnet_gradient_checkpointing)
        models.syncnet_resolution = syncnet_config.data.resolution
        models.syncnet_lower_half = syncnet_config.data.lower_half
        models.syncnet_latent_space = syncnet_config.data.latent_space
    if settings.uses("lpips"):
        models.lpips = load_lpips(device)
    if settings.uses("trepa"):
        half = (frozen.trepa_dtype == torch.float16 if options.trepa_half_precision is None
                else options.trepa_half_precision)
        models.trepa = load_trepa_loss(options.trepa_ckpt_path, half_precision=half,
                                       gradient_checkpointing=frozen.trepa_gradient_checkpointing, device=device)
    validator = None
    for what, path, flag in (("SyncNet", options.sync_model_path, "--sync_model_path"),
                             ("face detector (S3FD)", options.s3fd_path, "--s3fd_path")):
        if options.validation and not Path(path).is_file():
            raise CheckpointError(f"validation {what} {path} not found; run ./setup_env.sh --auxiliary to download "
                                  f"it, pass {flag}, or train with --no_validation")
    if options.validation and ctx.is_main:
        validator = UNetValidator(config, options.sync_model_path, device, options.face_backend, options.s3fd_path,
                                  autocast_dtype=frozen.validation_autocast_dtype, align_dtype=options.align_dtype)

    global_step = 0
    if not options.resume:  # a training start: known before the run folder exists
        global_step = load_initial_unet_weights(unet, config.ckpt.resume_ckpt_path, exact_resume=False,
                                                log=ctx.is_main)
        check_steps_left(global_step, max_steps, "ckpt.resume_ckpt_path")
        sampler.set_position(global_step // batches_per_epoch, 0)  # the epoch the original continues in
    session = session_scope.enter_context(TrainingSession(ctx, config, data.train_output_dir, _configs_to_copy(config),
                                                          options.resume, options.report_to))
    if session.bundle is not None:
        global_step = load_initial_unet_weights(unet, session.resume_checkpoint, exact_resume=True, log=False)
        check_steps_left(global_step, max_steps, "--resume")
    unet.to(device)
    if run.enable_gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    trainable = select_trainable_parameters(unet, run.trainable_modules)
    unet.train()
    if ctx.is_distributed:
        models.unet = DistributedDataParallel(unet, device_ids=[device.index] if device.type == "cuda" else None)
    if ctx.is_main:
        logger.info("training %d of %d U-Net parameters, steps %d to %d (%d batches per epoch and process)",
                    sum(p.numel() for p in trainable), sum(p.numel() for p in unet.parameters()), global_step + 1,
                    max_steps, batches_per_epoch)

    optimizer = torch.optim.AdamW(trainable, lr=scaled_learning_rate(config.optimizer.lr, config.optimizer.scale_lr,
                                                                      ctx.world_size))
    lr_scheduler = get_scheduler(config.optimizer.lr_scheduler, optimizer,
                                 num_warmup_steps=config.optimizer.lr_warmup_steps, num_training_steps=max_steps)
    scaler = precision.grad_scaler(device)
    if session.bundle is not None:
        session.restore(optimizer, lr_scheduler, scaler, sampler)

    position = DataPosition(loader, sampler, train_set)
    progress = tqdm(total=max_steps, initial=global_step, desc="training U-Net", disable=not ctx.is_main)
    skipped = SkippedBatches()
    while global_step < max_steps:
        for batch in position.batches():
            batch = to_device(batch, device)
            audio_embeds = failure = None
            if audio_encoder is not None:
                try:
                    audio_embeds = whisper_windows(audio_encoder, batch["video_path"], batch["start_idx"]).to(device)
                except Exception as error:  # the original skips the batch whatever went wrong; so does this
                    failure = f"{', '.join(batch['video_path'])}: {type(error).__name__}: {error}"
                if skipped.skip(failure, device):
                    continue
            output = unet_training_step(batch, audio_embeds, models, settings)
            backward(output.loss, scaler)
            clip_and_step(optimizer, trainable, config.optimizer.max_grad_norm, scaler)
            lr_scheduler.step()
            global_step += 1
            logged = mean_over_ranks(torch.stack([output.losses[name] for name in (*LOSS_NAMES, "total")]))
            progress.update(1)
            progress.set_postfix(loss=f"{float(logged[-1]):.4f}")
            if session.metrics is not None:
                session.metrics.log(global_step, **{f"{name}_loss": float(value)
                                                    for name, value in zip((*LOSS_NAMES, "total"), logged)
                                                    if name == "total" or settings.uses(name)})
            if global_step % config.ckpt.save_ckpt_steps == 0 or global_step == max_steps:
                session.save(global_step, unet.state_dict(), optimizer=optimizer, lr_scheduler=lr_scheduler,
                             grad_scaler=scaler, sampler_state=position.sampler_state())
                if validator is not None:
                    _validate(session, validator, unet, vae, audio_encoder, global_step)
                if session.metrics is not None:
                    session.metrics.save_chart(global_step)
                barrier()  # the other ranks wait for rank 0's validation here
            if global_step >= max_steps:
                break
    progress.close()
    if validator is not None:
        validator.close()
    return session.run_dir


def _configs_to_copy(config: DictConfig) -> dict:
    """The config as used, and the SyncNet config file it names, as the original copies both into the run folder."""
    configs = {"unet.yaml": config}
    if Path(config.data.syncnet_config_path).is_file():
        configs["syncnet.yaml"] = config.data.syncnet_config_path
    return configs


def _validate(session: TrainingSession, validator: UNetValidator, unet, vae, audio_encoder, step: int) -> None:
    """Rank 0 lip-syncs the validation clip with the current weights and charts its sync confidence."""
    video_path = session.run_dir / "val_videos" / f"val_video_{step}.mp4"
    confidence = validator(unet, vae, audio_encoder, video_path)
    session.metrics.log(step, val_sync_confidence=confidence)
    logger.info("step %d: validation sync confidence %.3f (%s)", step, confidence, video_path)
