"""Face enhancement with tiny ONNX stand-ins: pre-/post-processing, the graph checks, blending, mouth protection
(the frame path itself: tests/test_face_enhance_template.py)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from latentsync.errors import CheckpointError
from latentsync.face.enhancement import (FaceEnhancement, FaceEnhancer, OnnxFaceEnhancer, blend_restored,
                                         enhancer_spec, enhancer_specs, load_face_enhancer, mouth_protection_map,
                                         onnx_providers)
from latentsync.face.mask import load_fixed_mask
from tests.helpers.tiny_enhancers import write_tiny_enhancer

SIZE = 32  # stand-in input size; the released models take 512


def spec(method: str = "gfpgan", **changes):
    return dataclasses.replace(enhancer_spec(method), input_size=SIZE, **changes)


def random_faces(count: int = 3, size: int = SIZE, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


class IdleRestorer(FaceEnhancer):
    """A restorer for tests of the settings alone: never run."""

    title = "idle"
    input_size = 64
    template = enhancer_spec("gfpgan").template

    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        raise AssertionError("not meant to run")


def test_the_table_documents_every_released_model():
    specs = enhancer_specs()
    assert list(specs) == ["gfpgan", "codeformer", "gpen"]
    for entry in specs.values():
        assert (entry.input_size, entry.value_range, entry.colour_order) == (512, (-1.0, 1.0), "rgb")
        assert entry.template.name == "ffhq_512" and entry.template.size == 512
        eyes, nose, mouth = np.split(entry.template.points_at(512), [2, 3])  # FFHQ: eyes 126 px apart at 512
        assert 120 < eyes[1, 0] - eyes[0, 0] < 130 and eyes[:, 1].max() < nose[0, 1] < mouth[:, 1].min()
        assert entry.repo and entry.filename.endswith(".onnx")
    assert specs["codeformer"].fidelity_input == "weight"
    assert specs["gfpgan"].fidelity_input is None and specs["gpen"].fidelity_input is None


@pytest.mark.parametrize("colour_order, value_range, red_channel, expected", [
    ("rgb", (-1.0, 1.0), 0, (1.0, -1.0)),
    ("bgr", (0.0, 1.0), 2, (1.0, 0.0)),
    ("bgr", (0.0, 255.0), 2, (255.0, 0.0)),
])
def test_faces_reach_the_network_in_its_range_and_colour_order(tmp_path, colour_order, value_range, red_channel,
                                                              expected):
    enhancer = OnnxFaceEnhancer(spec(colour_order=colour_order, value_range=value_range),
                                write_tiny_enhancer(tmp_path / "m.onnx"))
    red = torch.full((2, 3, SIZE, SIZE), -1.0)
    red[:, 0] = 1.0
    model_input = enhancer.to_model_input(red)
    assert model_input.dtype == np.float32 and model_input.shape == (2, 3, SIZE, SIZE)
    high, low = expected
    assert np.all(model_input[:, red_channel] == high)
    assert np.all(np.delete(model_input, red_channel, axis=1) == low)


@pytest.mark.parametrize("colour_order, value_range", [("rgb", (-1.0, 1.0)), ("bgr", (0.0, 1.0))])
def test_identity_network_gives_the_faces_back(tmp_path, colour_order, value_range):
    enhancer = OnnxFaceEnhancer(spec(colour_order=colour_order, value_range=value_range),
                                write_tiny_enhancer(tmp_path / "m.onnx"))
    faces = random_faces()
    torch.testing.assert_close(enhancer.restore(faces), faces, atol=1e-6, rtol=0)


@pytest.mark.parametrize("colour_order, dropped_face_channel", [("rgb", 0), ("bgr", 2)])
def test_output_colour_order_is_undone(tmp_path, colour_order, dropped_face_channel):
    """The stand-in zeroes the network's first channel: red for an RGB model, blue for a BGR one."""
    value_range = (0.0, 1.0)
    enhancer = OnnxFaceEnhancer(spec(colour_order=colour_order, value_range=value_range),
                                write_tiny_enhancer(tmp_path / "m.onnx", channel_gains=(0.0, 1.0, 1.0)))
    faces = random_faces()
    restored = enhancer.restore(faces)
    assert torch.all(restored[:, dropped_face_channel] == -1.0)  # 0 in [0, 1] is -1 in the pipeline's range
    kept = [c for c in range(3) if c != dropped_face_channel]
    torch.testing.assert_close(restored[:, kept], faces[:, kept], atol=1e-6, rtol=0)


def test_out_of_range_outputs_are_clipped(tmp_path):
    enhancer = OnnxFaceEnhancer(spec(), write_tiny_enhancer(tmp_path / "m.onnx", channel_gains=(3.0, 3.0, 3.0)))
    restored = enhancer.restore(random_faces())
    assert restored.min() == -1.0 and restored.max() == 1.0


def test_faces_must_come_at_the_networks_input_size(tmp_path):
    enhancer = OnnxFaceEnhancer(spec(), write_tiny_enhancer(tmp_path / "m.onnx", size=SIZE))  # fixed 32x32 graph
    with pytest.raises(ValueError, match=f"takes {SIZE}x{SIZE} faces in its template"):
        enhancer.restore(random_faces(size=16))
    faces = random_faces().half()
    restored = enhancer.restore(faces)
    assert restored.dtype == torch.float16 and restored.shape == faces.shape


def test_graph_with_a_fixed_batch_of_one_runs_face_by_face(tmp_path):
    enhancer = OnnxFaceEnhancer(spec(), write_tiny_enhancer(tmp_path / "m.onnx", size=SIZE, batch=1))
    faces = random_faces(count=5)
    torch.testing.assert_close(enhancer.restore(faces), faces, atol=1e-6, rtol=0)


@pytest.mark.parametrize("fidelity", [0.0, 0.25, 1.0])
def test_codeformer_fidelity_weight_reaches_the_graph_as_a_double(tmp_path, fidelity):
    path = write_tiny_enhancer(tmp_path / "codeformer.onnx", fidelity_input="weight")
    enhancer = OnnxFaceEnhancer(spec("codeformer"), path, fidelity=fidelity)
    faces = random_faces()
    torch.testing.assert_close(enhancer.restore(faces), faces * fidelity, atol=1e-6, rtol=0)


@pytest.mark.parametrize("method, graph, message", [
    ("gfpgan", dict(size=64), "face input of 64x64 (the config says 32x32)"),
    ("codeformer", dict(), "expected one face input and 'weight'"),
    ("gfpgan", dict(fidelity_input="weight"), "expected one face input)"),
])
def test_a_graph_with_another_contract_is_refused(tmp_path, method, graph, message):
    path = write_tiny_enhancer(tmp_path / "m.onnx", **graph)
    with pytest.raises(CheckpointError, match=r"is not the .* model this project expects") as error:
        OnnxFaceEnhancer(spec(method), path)
    assert message in str(error.value) and f"--enhancers {method}" in str(error.value)


def test_missing_model_names_the_command_that_fetches_it(tmp_path):
    with pytest.raises(CheckpointError) as error:
        load_face_enhancer("codeformer", tmp_path / "enhancers")
    message = str(error.value)
    assert str(tmp_path / "enhancers" / "codeformer.onnx") in message and "\n" not in message
    assert "python -m scripts.download_checkpoints --enhancers codeformer --enhancers_dir " in message
    with pytest.raises(CheckpointError, match=r"fetch it with: python -m scripts.download_checkpoints "
                                              r"--enhancers gpen$"):
        load_face_enhancer("gpen")  # the default folder (no model files in a checkout)


def test_corrupt_model_file_is_reported_with_the_fix(tmp_path):
    path = enhancer_spec("gfpgan").path(tmp_path)
    path.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(CheckpointError, match=r"gfpgan_1\.4\.onnx is not a readable ONNX model .*delete it and "
                                              r"fetch it again: python -m scripts.download_checkpoints"):
        load_face_enhancer("gfpgan", tmp_path)


def test_cuda_device_without_the_cuda_provider_falls_back_to_cpu(caplog):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        assert onnx_providers("cuda:1")[0] == ("CUDAExecutionProvider", {"device_id": 1})
    else:
        assert onnx_providers("cuda:1") == ["CPUExecutionProvider"] and "onnxruntime-gpu" in caplog.text
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]


def test_mouth_protection_map_covers_the_generated_region_with_a_feather():
    resolution = 64
    keep = load_fixed_mask(resolution)
    protection = mouth_protection_map(keep)[0, 0]
    generated = keep[0] < 0.5
    assert protection.shape == (resolution, resolution)
    assert protection[int(0.85 * resolution), resolution // 2] > 0.99  # chin, deep inside the generated region
    assert protection[int(0.15 * resolution), resolution // 2] < 0.01  # forehead
    # Feathered: a gradual transition (a hard edge would step by 1 between neighbours) ...
    assert ((protection > 0.05) & (protection < 0.95)).sum() > 0.05 * resolution**2
    steps = max(protection.diff(dim=0).abs().max(), protection.diff(dim=1).abs().max())
    assert steps < 0.3
    # ... centred on the edge of the generated region.
    assert protection[generated].mean() > 0.75 and protection[~generated].mean() < 0.2


def test_custom_mouth_mask_moves_the_protected_region(tmp_path):
    image = np.full((256, 256, 3), 255, np.uint8)
    image[:, :128] = 0  # the left half is generated
    path = tmp_path / "mask.png"
    cv2.imwrite(str(path), image)
    enhancement = FaceEnhancement(IdleRestorer(), strength=1.0, mouth_protection=1.0, mask_image_path=path)
    protection = enhancement.protection_map(64, torch.device("cpu"))[0, 0]
    assert protection[:, :20].min() > 0.99 and protection[:, 44:].max() < 0.01


def test_blend_keeps_the_generated_pixels_where_alpha_is_zero():
    generated, restored = random_faces(size=8), random_faces(size=8, seed=1)
    face_mask = torch.zeros(1, 1, 8, 8)
    face_mask[..., 2:6, 2:6] = 1.0
    protection = torch.zeros(1, 1, 8, 8)
    protection[..., 4:6, :] = 1.0
    assert blend_restored(generated, restored, 0.0, face_mask, protection, 0.5) is generated
    blended = blend_restored(generated, restored, 0.6, face_mask, protection, 1.0)
    kept = (face_mask == 0) | (protection == 1)
    assert torch.equal(blended[kept.expand_as(generated)], generated[kept.expand_as(generated)])
    torch.testing.assert_close(blended[..., 2:4, 2:6], generated[..., 2:4, 2:6] * 0.4 + restored[..., 2:4, 2:6] * 0.6)
    half_protected = blend_restored(generated, restored, 1.0, face_mask, protection, 0.5)
    torch.testing.assert_close(half_protected[..., 4:6, 2:6], (generated + restored)[..., 4:6, 2:6] / 2)


@pytest.mark.parametrize("strength, protection", [(-0.1, 0.5), (1.5, 0.5), (0.5, 1.2)])
def test_out_of_range_weights_are_refused(strength, protection):
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaceEnhancement(IdleRestorer(), strength=strength, mouth_protection=protection)
