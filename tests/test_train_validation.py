"""U-Net validation: lip-sync the validation clip through the inference pipeline and score its sync confidence
(S3FD face tracks, as the original), without disturbing the random streams of training or ending the run when the
clip cannot be scored; SyncNet validation's batch averaging."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from latentsync.analysis.syncnet_v2 import SyncNetV2
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.models.s3fd import S3FD, S3FDNet
from latentsync.models.unet_loading import load_unet
from latentsync.pipelines.loading import load_vae
from latentsync.training.validation import UNetValidator, syncnet_validation_loss
from latentsync.whisper import Audio2Feature
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import TINY_RESOLUTION, write_tiny_release

NUM_FRAMES = 20  # under the scorer's shortest track (50): the NaN path; scoring itself is tested in test_eval_sync_conf


@pytest.mark.slow
def test_validation_lip_syncs_the_clip_scores_it_and_leaves_the_rng_alone(tmp_path, caplog, monkeypatch):
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
    torch.save(S3FDNet().state_dict(), tmp_path / "sfd_face.pth")
    detections = []  # the original protocol's S3FD finds the faces it scores: 1/4 size, confidence 0.9
    real_detect_faces = S3FD.detect_faces

    def recording_detect_faces(self, image, conf_th=None, scales=None):
        detections.append((conf_th, tuple(scales)))
        return real_detect_faces(self, image, conf_th=conf_th, scales=scales)

    monkeypatch.setattr(S3FD, "detect_faces", recording_detect_faces)
    config = OmegaConf.create({"data": {"resolution": TINY_RESOLUTION, "mask_image_path": None,
                                        "val_video_path": str(clip), "val_audio_path": str(clip)},
                               "run": {"inference_steps": 1, "guidance_scale": 1.0, "seed": 1247}})
    unet = load_unet(release["unet_config_path"], release["inference_ckpt_path"]).train()
    vae, audio_encoder = load_vae(release["vae_model_path"], torch.float32), Audio2Feature(release["whisper_model_path"])
    validator = UNetValidator(config, tmp_path / "syncnet_v2.model", torch.device("cpu"),
                              s3fd_path=tmp_path / "sfd_face.pth", min_face_size=50)
    try:
        state = torch.get_rng_state()
        confidence = validator(unet, vae, audio_encoder, tmp_path / "out" / "val_video_1.mp4")
    finally:
        validator.close()
    # Too short for a face track: NaN and a warning, and training goes on (the original charts 0).
    assert np.isnan(confidence) and "not scored" in caplog.text
    assert (tmp_path / "out" / "val_video_1.mp4").is_file()
    assert torch.equal(torch.get_rng_state(), state) and unet.training
    assert detections and set(detections) == {(0.9, (0.25,))}


def test_syncnet_validation_averages_the_batch_means_of_as_many_batches_as_asked():
    """As the original: the mean of per-batch mean losses; the data is walked again, with new draws, when it runs out;
    the same starting epoch gives the same value (the fixed samples of this trainer)."""

    class Draws(torch.utils.data.Dataset):
        epoch = 0

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __len__(self):
            return 3

        def __getitem__(self, index):
            return {"value": torch.tensor(float(10 * self.epoch + index))}

    dataset = Draws()
    seen = []

    def loss_of_batch(batch):
        seen.append(batch["value"].tolist())
        return batch["value"].mean()

    syncnet = torch.nn.Linear(1, 1)
    loss = syncnet_validation_loss(syncnet, dataset, batch_size=2, num_batches=3, loss_of_batch=loss_of_batch,
                                   device=torch.device("cpu"))
    assert seen == [[0.0, 1.0], [2.0], [10.0, 11.0]]
    assert loss == pytest.approx((0.5 + 2.0 + 10.5) / 3)
    assert dataset.epoch == 0 and syncnet.training
    assert syncnet_validation_loss(syncnet, dataset, 2, 3, loss_of_batch, torch.device("cpu")) == loss
