"""U-Net validation: lip-sync the validation clip through the inference pipeline and score its sync confidence,
without disturbing the random streams of training or ending the run when the clip cannot be scored."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import OmegaConf

from latentsync.evaluation.syncnet_v2 import SyncNetV2
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.models.unet_loading import load_unet
from latentsync.pipelines.loading import load_vae
from latentsync.training.validation import UNetValidator
from latentsync.whisper import Audio2Feature
from tests.paths import shared_path
from tests.tiny_models import TINY_RESOLUTION, write_tiny_release

NUM_FRAMES = 60  # > the scorer's shortest track (50 frames)


def test_validation_lip_syncs_the_clip_scores_it_and_leaves_the_rng_alone(tmp_path, caplog):
    source = shared_path("media", "demo1_video.mp4")
    clip = tmp_path / "val.mp4"
    with VideoWriter(clip, audio=load_audio(source)[: NUM_FRAMES * 640], preset="ultrafast") as writer:
        for index, frame in enumerate(VideoReader(source).frames()):
            if index == NUM_FRAMES:
                break
            writer.write(np.ascontiguousarray(frame[::2, ::2]))
    release = write_tiny_release(tmp_path / "release")
    torch.manual_seed(0)
    torch.save(SyncNetV2().state_dict(), tmp_path / "syncnet_v2.model")
    config = OmegaConf.create({"data": {"resolution": TINY_RESOLUTION, "mask_image_path": None,
                                        "val_video_path": str(clip), "val_audio_path": str(clip)},
                               "run": {"inference_steps": 1, "guidance_scale": 1.0, "seed": 1247}})
    unet = load_unet(release["unet_config_path"], release["inference_ckpt_path"]).train()
    vae, audio_encoder = load_vae(release["vae_model_path"], torch.float32), Audio2Feature(release["whisper_model_path"])
    validator = UNetValidator(config, tmp_path / "syncnet_v2.model", torch.device("cpu"), min_face_size=50)
    try:
        state = torch.get_rng_state()
        confidence = validator(unet, vae, audio_encoder, tmp_path / "out" / "val_video_1.mp4")
    finally:
        validator.close()
    # A random tiny U-Net paints noise over the face, so the scorer may find no face track: then NaN and a warning.
    assert confidence >= 0 if np.isfinite(confidence) else "not scored" in caplog.text
    assert (tmp_path / "out" / "val_video_1.mp4").is_file()
    assert torch.equal(torch.get_rng_state(), state) and unet.training
