"""Sync confidence protocols: ``original`` stages the video as the original's scripts do (re-encode, JPEG frames,
downscaled scene detection, mp4v crop videos) in a temporary folder; ``lossless`` scores the decoded frames."""

from __future__ import annotations

import argparse
import tempfile

import av
import cv2
import numpy as np
import pytest
import torch

from latentsync.analysis.syncnet_eval import SyncNetEval
from latentsync.analysis.syncnet_v2 import SyncNetV2
from latentsync.cli.arguments import add_scorer_arguments
from latentsync.evaluation import original_staging
from latentsync.evaluation.original_staging import OriginalStaging, downscaled_for_scene_detection, jpeg_encoder_frames
from latentsync.evaluation.video_sync import VideoSyncScorer
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_writer import VideoWriter
from tests.helpers.demo_clips import demo_frames
from tests.helpers.paths import shared_path
from tests.helpers.x264 import x264_settings

NUM_FRAMES = 16  # 11 SyncNet windows; min_track lowered to fit


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """16 frames of demo1 at 136x240 with its own audio."""
    path = tmp_path_factory.mktemp("protocols") / "clip.mp4"
    audio = load_audio(shared_path("media", "demo1_video.mp4"))[: NUM_FRAMES * 640]
    with VideoWriter(path, audio=audio, preset="ultrafast") as writer:
        for frame in demo_frames(NUM_FRAMES, step=8):
            writer.write(np.ascontiguousarray(frame[:, :136]))
    return path


def _scorer(protocol: str) -> VideoSyncScorer:
    torch.manual_seed(0)
    face_box = [np.array([20.0, 50.0, 116.0, 160.0])]  # a fixed track over the face: the protocols, not a detector
    return VideoSyncScorer(SyncNetEval(SyncNetV2(), "cpu"), lambda frame: face_box, min_track=5, min_face_size=10,
                           protocol=protocol)


def test_jpeg_frames_at_qscale_2_and_at_the_encoders_default_rate():
    rng = np.random.default_rng(0)
    images = [cv2.GaussianBlur(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), (9, 9), 3) for _ in range(12)]
    frames = [av.VideoFrame.from_ndarray(image, format="rgb24") for image in images]
    fixed, default = list(jpeg_encoder_frames(frames, qscale=2)), list(jpeg_encoder_frames(frames, qscale=None))
    assert len(fixed) == len(default) == 12
    error = [np.abs(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)[..., ::-1].astype(int) - image).mean()
             for jpeg, image in zip(fixed, images)]
    assert max(error) < 3
    # FFmpeg's default MJPEG rate (200 kbit/s, ~1 kB a frame at 25 fps) coarsens the frames after the first
    assert len(default[0]) == len(fixed[0]) and len(default[-1]) < len(fixed[-1]) / 2


def test_scene_detection_frames_are_downscaled_as_pyscenedetect_does():
    assert downscaled_for_scene_detection(np.zeros((1920, 1080, 3), np.uint8)).shape == (480, 270, 3)  # 1080 // 256
    small = np.zeros((240, 136, 3), np.uint8)
    assert downscaled_for_scene_detection(small) is small


def test_original_staging_files(clip, tmp_path):
    staging = OriginalStaging(clip, tmp_path)
    assert "crf=23.0" in x264_settings(staging.video)  # libx264's defaults
    assert len(staging.frame_files) == NUM_FRAMES and staging.frame_files[0].name == "000001.jpg"
    scene_frame, frame = next(staging.frames())
    assert scene_frame.shape == frame.shape == (240, 136, 3)
    assert abs(len(staging.audio) - NUM_FRAMES * 640) < 640  # AAC round trip keeps the length
    crops = [np.full((224, 224, 3), 80 + 8 * index, np.uint8) for index in range(NUM_FRAMES)]
    frames, audio = staging.track_clip(0, crops, staging.audio[:NUM_FRAMES * 640])
    with av.open(str(tmp_path / "crop_00000.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"  # OpenCV's mp4v
    assert frames.shape == (NUM_FRAMES, 224, 224, 3) and audio.dtype == np.int16
    assert np.abs(frames.astype(int) - np.stack(crops)).mean() < 4


@pytest.mark.slow
def test_both_protocols_score_and_the_staging_is_removed(clip, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with _scorer("lossless") as scorer:
        lossless = scorer(clip)
    with _scorer("original") as scorer:
        original = scorer(clip)
    assert list(tmp_path.iterdir()) == []
    for score in (lossless, original):
        assert len(score.tracks) == 1 and np.isfinite([score.confidence, score.min_dist]).all()
    assert original.min_dist != lossless.min_dist  # the staging's lossy steps move the score

    def fail(*args):
        raise RuntimeError("SyncNet failed")

    monkeypatch.setattr(original_staging.OriginalStaging, "track_clip", fail)
    with _scorer("original") as scorer, pytest.raises(RuntimeError, match="SyncNet failed"):
        scorer(clip)
    assert list(tmp_path.iterdir()) == []  # removed on failure too


def test_original_is_the_default_protocol():
    parser = argparse.ArgumentParser()
    add_scorer_arguments(parser)
    assert parser.parse_args([]).protocol == "original"
    assert parser.parse_args(["--protocol", "lossless"]).protocol == "lossless"
