"""S3FD against ../shared/parity/train/s3fd.safetensors (original detector, rule-filled weights).

Tolerances: the network output agrees to float32 noise (1e-6 absolute on scores and [0, 1] coordinates;
observed 1.5e-7); boxes are those numbers times 640 px, so 1e-4 px.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from latentsync.errors import CheckpointError, InputError
from latentsync.models.s3fd import S3FD, S3FDNet, preprocess
from tests.helpers.hash_init import rule_filled_state_dict
from tests.helpers.paths import shared_path


@pytest.fixture(scope="module")
def manifest():
    return json.loads(shared_path("parity", "train", "manifest_s3fd.json").read_text())


@pytest.fixture(scope="module")
def fixture():
    return load_file(shared_path("parity", "train", "s3fd.safetensors"))


@pytest.fixture(scope="module")
def settings():
    return json.loads(shared_path("parity", "train", "train_fixture_info.json").read_text())["s3fd"]


@pytest.fixture(scope="module")
def detector(manifest, tmp_path_factory):
    """Loaded the way users load sfd_face.pth: a plain state dict saved with torch.save, strict loading."""
    path = tmp_path_factory.mktemp("s3fd") / "sfd_face.pth"
    torch.save(rule_filled_state_dict(manifest["state_dict"]), path)
    return S3FD.from_checkpoint(path, device="cpu")


def test_state_dict_matches_manifest(manifest):
    assert manifest["checkpoint"].startswith("sfd_face.pth")
    assert [[key, list(value.shape)] for key, value in S3FDNet().state_dict().items()] == \
        [[key, shape] for key, shape in manifest["state_dict"].items()]


def test_preprocessing_matches_fixture(fixture, settings):
    net_input = preprocess(fixture["image_rgb_uint8"].numpy(), settings["scale"])
    torch.testing.assert_close(net_input, fixture["net_input"], atol=0, rtol=0)


def test_detections_match_fixture(detector, fixture):
    with torch.no_grad():
        detections = detector.net(fixture["net_input"])
    reference = fixture["detections"]
    assert detections.shape == reference.shape == (1, 2, 750, 5)
    assert (detections[0, 0] == 0).all()  # background rows stay empty
    assert (detections[0, 1, :, 0] > 0).sum() == (reference[0, 1, :, 0] > 0).sum() > 100
    torch.testing.assert_close(detections, reference, atol=1e-6, rtol=0)


def test_detect_faces_matches_fixture(detector, fixture, settings):
    boxes = detector.detect_faces(fixture["image_rgb_uint8"].numpy(), conf_th=settings["conf_th"],
                                  scales=[settings["scale"]])
    assert boxes.dtype == np.float64 and boxes.shape == (settings["n_boxes"], 5) == tuple(fixture["bboxes"].shape)
    np.testing.assert_allclose(boxes, fixture["bboxes"].numpy(), rtol=0, atol=1e-4)


@pytest.mark.slow
def test_scales_are_merged_by_the_final_nms(detector, fixture, settings):
    """The same scale twice yields every box twice (IoU 1); the final NMS keeps one of each."""
    image = fixture["image_rgb_uint8"].numpy()
    boxes = detector.detect_faces(image, conf_th=settings["conf_th"], scales=[settings["scale"]] * 2)
    np.testing.assert_allclose(boxes, fixture["bboxes"].numpy(), rtol=0, atol=1e-4)


def test_no_face_and_bad_input(detector, fixture):
    image = fixture["image_rgb_uint8"].numpy()
    assert detector.detect_faces(image[:128, :128], conf_th=0.999, scales=[1]).shape == (0, 5)
    assert detector.detect_faces(image[:100, :100], conf_th=0.0, scales=[0.25]).shape == (0, 5)  # below 28 px
    with pytest.raises(InputError, match=r"uint8 RGB images of shape \(H, W, 3\)"):
        detector.detect_faces(image[..., 0])


def test_checkpoint_errors_name_the_problem(tmp_path):
    with pytest.raises(CheckpointError, match=r"sfd_face\.pth not found; run ./setup_env.sh --auxiliary"):
        S3FD.from_checkpoint(tmp_path / "sfd_face.pth")
    partial = tmp_path / "partial.pth"
    torch.save({"vgg.0.weight": torch.zeros(64, 3, 3, 3), "head.weight": torch.zeros(1)}, partial)
    with pytest.raises(CheckpointError, match=r"unexpected \[head\.weight\].*sfd_face\.pth"):
        S3FD.from_checkpoint(partial)
