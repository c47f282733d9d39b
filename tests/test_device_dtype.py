"""Device and dtype choice: CPU float32 by default, explicit dtypes honoured, no hard-coded CUDA."""

import pytest
import torch

from latentsync.cli import demo, eval_fvd, eval_sync_conf, eval_syncnet_acc, inference, inference_videos, train_syncnet
from latentsync.errors import InputError
from latentsync.pipelines.loading import load_lipsync_pipeline
from latentsync.utils.device import available_devices, resolve_device, resolve_dtype
from tests.helpers.entry_points import error_line, run_entry_point
from tests.helpers.tiny_models import TINY_RESOLUTION, write_tiny_release


def test_auto_device_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == resolve_device("auto").type
    if expected == "cpu":
        assert resolve_device("auto") == torch.device("cpu")


def test_auto_dtype_is_float32_on_cpu_and_explicit_names_win():
    cpu = torch.device("cpu")
    assert resolve_dtype(None, cpu) == resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("fp16", cpu) == torch.float16
    assert resolve_dtype("bfloat16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("float8", cpu)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_dtype_on_cuda_follows_compute_capability():
    device = torch.device("cuda")
    expected = torch.float16 if torch.cuda.get_device_capability(device)[0] > 7 else torch.float32
    assert resolve_dtype("auto", device) == expected


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.slow
def test_pipeline_runs_in_the_requested_dtype(tmp_path, dtype):
    pipeline = load_lipsync_pipeline(**write_tiny_release(tmp_path), device="cpu", dtype=dtype)
    assert pipeline.unet.dtype == dtype and pipeline.vae.dtype == dtype
    faces = torch.rand(3, 3, TINY_RESOLUTION, TINY_RESOLUTION) * 2 - 1
    mask = torch.ones(1, 1, TINY_RESOLUTION, TINY_RESOLUTION)
    mask[..., TINY_RESOLUTION // 2:, :] = 0
    chunks = pipeline.audio_encoder.feature2chunks(pipeline.audio_encoder.audio2feat(
        torch.randn(16000).numpy() * 0.1))[:3]
    out = pipeline.inpaint(faces, faces * mask, mask, chunks, num_inference_steps=1, guidance_scale=1.5,
                   generator=torch.Generator().manual_seed(0))
    assert out.dtype == dtype and out.shape == faces.shape and torch.isfinite(out.float()).all()


MISSING_GPU = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"


@pytest.mark.parametrize("name", [MISSING_GPU, "gpu0", "mps" if not torch.backends.mps.is_available() else "meta"])
def test_a_device_this_machine_lacks_names_those_it_has(name):
    with pytest.raises(InputError, match=rf"device '{name}'.*; this machine has cpu"):
        resolve_device(name)
    assert available_devices()[0] == "cpu" and resolve_device("cpu") == torch.device("cpu")


# Commands as the README shows them, with a device this machine lacks and inputs that do not exist: the device is
# refused first, in one line, before any input is read or model loaded (one through the inference script, one
# through the training launcher; every command's parser below).
DEVICE_COMMANDS = [
    ("./inference.sh", "--video_path", "missing.mp4", "--audio_path", "missing.wav", "--device", MISSING_GPU),
    ("./train_unet.sh", "--device", MISSING_GPU),
]
DEVICE_PARSERS = [
    (inference, ["--video_path", "missing.mp4", "--audio_path", "missing.wav", "--device", "gpu0"]),
    (inference_videos, ["--video_fileslist", "v.txt", "--audio_fileslist", "a.txt", "--output_dir", "out",
                        "--device", MISSING_GPU]),
    (train_syncnet, ["--device", MISSING_GPU]),
    (eval_sync_conf, ["--video_path", "missing.mp4", "--device", MISSING_GPU]),
    (eval_syncnet_acc, ["--device", "gpu0"]),
    (eval_fvd, ["--real_videos_dir", "real", "--fake_videos_dir", "fake", "--device", MISSING_GPU]),
    (demo, ["--device", MISSING_GPU]),
]


@pytest.mark.slow
@pytest.mark.parametrize("command", DEVICE_COMMANDS, ids=lambda command: f"{command[0]} {command[-1]}")
def test_every_command_refuses_a_missing_device_in_one_line(tmp_path, command):
    line = error_line(run_entry_point(*command, cwd=tmp_path))
    assert f"device '{command[-1]}'" in line and "this machine has cpu" in line


@pytest.mark.parametrize("module, arguments", DEVICE_PARSERS, ids=lambda value: getattr(value, "__name__", ""))
def test_every_parser_refuses_a_missing_device(module, arguments, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(arguments)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1
    assert f"device '{arguments[-1]}'" in error and "this machine has cpu" in error
