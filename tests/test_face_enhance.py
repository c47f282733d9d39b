"""Face enhancement with tiny ONNX stand-ins: pre-/post-processing, the graph checks, blending, mouth protection."""

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
from tests.tiny_enhancers import write_tiny_enhancer

SIZE = 32  # stand-in input size; the released models take 512


def spec(method: str = "gfpgan", **changes):
    return dataclasses.replace(enhancer_spec(method), input_size=SIZE, **changes)


def random_faces(count: int = 3, size: int = SIZE, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


class ConstantRestorer(FaceEnhancer):
    """Restores every face to one colour, so blended pixels show exactly how much of the restoration got in."""

    title = "constant"

    def __init__(self, value: float = 1.0):
        self.value = value
        self.batches: list[tuple[int, ...]] = []

    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        self.batches.append(tuple(faces.shape))
        return torch.full_like(faces, self.value)


def test_the_table_documents_every_released_model():
    specs = enhancer_specs()
    assert list(specs) == ["gfpgan", "codeformer", "gpen"]
    for entry in specs.values():
        assert (entry.input_size, entry.value_range, entry.colour_order) == (512, (-1.0, 1.0), "rgb")
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


def test_faces_are_resized_to_the_network_and_back(tmp_path):
    enhancer = OnnxFaceEnhancer(spec(), write_tiny_enhancer(tmp_path / "m.onnx", size=SIZE))  # fixed 32x32 graph
    smooth = torch.nn.functional.interpolate(random_faces(size=4), size=(16, 16), mode="bilinear")
    assert enhancer.to_model_input(smooth).shape == (3, 3, SIZE, SIZE)
    restored = enhancer.restore(smooth.half())
    assert restored.shape == smooth.shape and restored.dtype == torch.float16
    assert (restored.float() - smooth).abs().max() < 0.05  # bicubic up, antialiased down: near the input


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
    enhancement = FaceEnhancement(ConstantRestorer(), strength=1.0, mouth_protection=1.0, mask_image_path=path)
    protection = enhancement.protection_map(64, torch.device("cpu"))[0, 0]
    assert protection[:, :20].min() > 0.99 and protection[:, 44:].max() < 0.01


def test_strength_zero_leaves_the_faces_untouched():
    faces = random_faces(size=64)
    restorer = ConstantRestorer()
    assert torch.equal(FaceEnhancement(restorer, strength=0.0)(faces), faces)
    assert restorer.batches == []  # not even run
    assert torch.equal(blend_restored(faces, -faces, 0.0, torch.zeros(1, 1, 64, 64), 0.5), faces)


@pytest.mark.parametrize("mouth_protection", [0.0, 0.5, 0.8, 1.0])
def test_strength_one_restores_fully_outside_the_protected_mouth(mouth_protection):
    faces = random_faces(count=4, size=64)
    restorer = ConstantRestorer(value=0.5)
    enhancement = FaceEnhancement(restorer, strength=1.0, mouth_protection=mouth_protection)
    enhanced = enhancement(faces)
    assert restorer.batches == [(4, 3, 64, 64)]  # the whole window in one batch
    protection = enhancement.protection_map(64, faces.device).expand_as(faces)
    outside, mouth = protection == 0, protection == 1
    assert outside.any() and mouth.any()
    assert torch.all(enhanced[outside] == 0.5)
    expected_mouth = faces[mouth] + (1 - mouth_protection) * (0.5 - faces[mouth])
    torch.testing.assert_close(enhanced[mouth], expected_mouth, atol=1e-6, rtol=0)
    if mouth_protection == 1.0:
        assert torch.equal(enhanced[mouth], faces[mouth])  # the lip-synced mouth, bit for bit


def test_strength_blends_linearly_and_keeps_dtype():
    faces = random_faces(size=64).half()
    enhancement = FaceEnhancement(ConstantRestorer(value=1.0), strength=0.25, mouth_protection=1.0)
    enhanced = enhancement(faces)
    assert enhanced.dtype == torch.float16 and enhanced.shape == faces.shape
    outside = (enhancement.protection_map(64, faces.device) == 0).expand_as(faces)
    torch.testing.assert_close(enhanced[outside].float(), faces[outside].float() * 0.75 + 0.25, atol=2e-3, rtol=0)


@pytest.mark.parametrize("strength, protection", [(-0.1, 0.5), (1.5, 0.5), (0.5, 1.2)])
def test_out_of_range_weights_are_refused(strength, protection):
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaceEnhancement(ConstantRestorer(), strength=strength, mouth_protection=protection)


def test_onnx_enhancer_end_to_end_in_the_post_processor(tmp_path):
    """The real loader and a tiny graph behind the hook: unchanged mouth, restored elsewhere, 256 faces, 512 net."""
    directory = tmp_path / "enhancers"
    write_tiny_enhancer(enhancer_spec("gpen").path(directory), channel_gains=(0.0, 0.0, 0.0))
    enhancement = FaceEnhancement(load_face_enhancer("gpen", directory), strength=1.0, mouth_protection=1.0)
    faces = random_faces(count=2, size=256)
    enhanced = enhancement(faces)
    protection = enhancement.protection_map(256, faces.device).expand_as(faces)
    assert torch.equal(enhanced[protection == 1], faces[protection == 1])
    assert enhanced[protection == 0].abs().max() < 1e-6  # the stand-in restores everything to grey (0)
