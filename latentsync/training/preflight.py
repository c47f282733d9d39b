"""The checks a training run can make before any process starts: the config, the data lists and every weight file.

The launcher (``train_syncnet.sh`` / ``train_unet.sh``) runs them once, in its own process, so a bad config or a
missing file is one ``error:`` line in seconds instead of one failure report per torchrun worker. The workers run
the same checks again as they load (a plain ``python -m scripts.train_*`` has no launcher).
"""

from __future__ import annotations

from latentsync.config.syncnet_config import load_syncnet_config, load_syncnet_training_config
from latentsync.config.unet_config import load_unet_training_config
from latentsync.data.video_list import read_video_list
from latentsync.errors import CheckpointError
from latentsync.io.paths import check_output_folder
from latentsync.locations import AUXILIARY_SETUP_HINT, VIT_G_SETUP_HINT
from latentsync.models.checkpoint_files import require_checkpoint_file
from latentsync.pipelines.vae_check import check_vae
from latentsync.training.run_options import SyncNetTrainOptions, UNetTrainOptions
from latentsync.training.step_settings import UNetStepSettings


def check_syncnet_training(options: SyncNetTrainOptions) -> None:
    """Raise ``InputError`` / ``CheckpointError`` for what would stop ``train_syncnet`` before its first step."""
    config = load_syncnet_training_config(options.config_path)
    data = config.data
    read_video_list(data.train_fileslist, data.train_data_dir, role="train")
    if data.val_fileslist or data.val_data_dir:
        read_video_list(data.val_fileslist, data.val_data_dir, role="val")
    if data.latent_space:
        check_vae(options.vae_model_path)
    check_output_folder(data.train_output_dir, "data.train_output_dir")
    _check_starting_weights(config.ckpt.resume_ckpt_path, options.resume, data.train_output_dir)


def check_unet_training(options: UNetTrainOptions) -> None:
    """Raise ``InputError`` / ``CheckpointError`` for what would stop ``train_unet`` before its first step."""
    config = load_unet_training_config(options.unet_config_path)
    read_video_list(config.data.train_fileslist, config.data.get("train_data_dir"), role="train")
    check_vae(options.vae_model_path)
    if config.model.add_audio_layer:
        require_checkpoint_file(options.whisper_path(config.model.cross_attention_dim), "Whisper checkpoint")
    settings = UNetStepSettings.from_config(config)
    if settings.uses("sync"):
        syncnet_config = load_syncnet_config(config.data.syncnet_config_path)
        require_checkpoint_file(options.syncnet_path(syncnet_config), "SyncNet checkpoint", AUXILIARY_SETUP_HINT)
    if settings.uses("lpips"):
        from latentsync.losses.perceptual import vgg16_weights  # LPIPS (torch), for the runs that use it

        vgg16_weights(None)
    if settings.uses("trepa"):
        require_checkpoint_file(options.trepa_ckpt_path, "TREPA checkpoint", VIT_G_SETUP_HINT)
    if options.validation:
        try:
            require_checkpoint_file(options.sync_model_path, "validation SyncNet", AUXILIARY_SETUP_HINT)
            require_checkpoint_file(options.s3fd_path, "validation face detector (S3FD)", AUXILIARY_SETUP_HINT)
        except CheckpointError as error:
            raise CheckpointError(f"{error}, or train with --no_validation") from None
    check_output_folder(config.data.train_output_dir, "data.train_output_dir")
    _check_starting_weights(config.ckpt.resume_ckpt_path, options.resume, config.data.train_output_dir)


def _check_starting_weights(resume_ckpt_path: str, resume: str | None, output_root: str) -> None:
    if resume:
        from latentsync.training.resume import find_resume_bundle  # torch: for the runs that resume

        find_resume_bundle(resume, output_root)
    elif resume_ckpt_path:
        require_checkpoint_file(resume_ckpt_path, "ckpt.resume_ckpt_path")
