"""The same inputs and settings give the same frames through every door as through the command line: the frames
the inference command hands its encoder are the ComfyUI node's output, and the frames the Replicate predictor and
the demo's HTTP API hand theirs (each door loading its own tiny models, as it does in use)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cog import Path as CogPath

from latentsync.app.comfyui_nodes import LatentSyncLipSync, LatentSyncLoader
from latentsync.app.door_settings import door_settings
from latentsync.app.lipsync_api import lipsync_api
from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.validation import UploadLimits
from latentsync.cli import inference
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.pipelines.frame_plan import num_output_audio_samples
from latentsync.pipelines.pipeline_weights import ReleaseChoice
from tests.helpers.demo_clips import demo_frames, write_demo_speech, write_h264
from tests.helpers.doors import cli_flags, load_predict_py
from tests.helpers.encoder_frames import frames_to_the_encoder
from tests.helpers.tiny_models import write_tiny_release

pytestmark = pytest.mark.slow

NUM_VIDEO_FRAMES, NUM_AUDIO_FRAMES = 16, 20  # the audio is longer: the loop mode turns around
# Within the demo page's ranges too (its API keeps them): 10-50 steps, guidance 1-3.
SETTINGS = dict(num_inference_steps=10, guidance_scale=1.0, seed=7, enable_deepcache=True, deepcache_interval=2,
                sync_mode="loop", audio_context="overlap", silence_db=-30.0, silence="keep", speaker="center",
                encoding="fast")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """(model files, clip, speech, an empty checkpoints folder, the command line's frames)."""
    work = tmp_path_factory.mktemp("doors")
    models = write_tiny_release(work / "models")
    video = write_h264(work / "clip.mp4", demo_frames(NUM_VIDEO_FRAMES, step=4))
    audio = write_demo_speech(work / "speech.wav", NUM_AUDIO_FRAMES)
    checkpoints = work / "checkpoints"  # nothing in it: face_backend auto takes the same detector at every door
    checkpoints.mkdir()
    return models, video, audio, checkpoints, work


def model_flags(models: dict, checkpoints) -> list[str]:
    return [word for name, path in models.items() for word in (f"--{name}", str(path))] + \
        ["--checkpoints_dir", str(checkpoints), "--device", "cpu", "--dtype", "float32"]


@pytest.fixture(scope="module")
def cli_frames(inputs):
    models, video, audio, checkpoints, work = inputs
    with frames_to_the_encoder() as written:
        code = inference.main(["--video_path", str(video), "--audio_path", str(audio), "--video_out_path",
                               str(work / "cli.mp4"), *model_flags(models, checkpoints), *cli_flags(SETTINGS)])
    assert code == 0 and len(written) == NUM_AUDIO_FRAMES
    return np.stack(written)


def all_settings() -> dict:
    """Every setting: the door's default unless SETTINGS sets it (the predictor's method takes each one)."""
    return {setting.name: SETTINGS.get(setting.name, setting.default) for setting in door_settings()}


def test_the_comfyui_node_gives_the_command_line_s_frames(inputs, cli_frames):
    models, video, audio, checkpoints, _ = inputs
    (pipeline,) = LatentSyncLoader().load(str(models["unet_config_path"]), str(models["inference_ckpt_path"]),
                                          "cpu", "float32", "auto", str(checkpoints),
                                          str(models["whisper_model_path"]), str(models["vae_model_path"]))
    try:
        images = torch.from_numpy(np.stack(list(VideoReader(video).frames()))).float() / 255  # as Load Video gives
        waveform = torch.from_numpy(load_audio(audio)).reshape(1, 1, -1)
        frame_settings = {name: value for name, value in all_settings().items() if name != "encoding"}
        out_images, out_audio, fps = LatentSyncLipSync().lipsync(
            pipeline, images, {"waveform": waveform, "sample_rate": 16000}, 25.0, **frame_settings)
    finally:
        pipeline.close()
    np.testing.assert_array_equal((out_images * 255).round().to(torch.uint8).numpy(), cli_frames)
    assert out_audio["waveform"].shape[-1] == num_output_audio_samples(len(cli_frames), 25, 16000) and fps == 25.0


def test_the_cog_predictor_gives_the_command_line_s_frames(inputs, cli_frames, monkeypatch):
    models, video, audio, checkpoints, _ = inputs
    monkeypatch.setenv("LATENTSYNC_ARGS", " ".join(model_flags(models, checkpoints)))
    predictor = load_predict_py().Predictor()
    predictor.setup()
    with frames_to_the_encoder() as written:
        output = predictor.predict(video=CogPath(video), audio=CogPath(audio), **all_settings())
    predictor.lipsync.pipeline.close()
    assert isinstance(output, CogPath) and output.parent == predictor.lipsync.results_dir
    np.testing.assert_array_equal(np.stack(written), cli_frames)


def test_the_http_api_gives_the_command_line_s_frames(inputs, cli_frames, monkeypatch):
    models, video, audio, checkpoints, _ = inputs
    release = ReleaseChoice("tiny", models["unet_config_path"], models["inference_ckpt_path"])
    pipelines = PipelineCache([release], checkpoints, models["whisper_model_path"], models["vae_model_path"],
                              device="cpu", dtype="float32")
    api = lipsync_api(pipelines, UploadLimits())
    files = [{"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}
             for path in (video, audio)]
    with frames_to_the_encoder() as written:
        [result] = api(*files, "tiny", *all_settings().values())
    pipelines.get("tiny").close()
    assert result.path.endswith("clip_lipsync.mp4")
    np.testing.assert_array_equal(np.stack(written), cli_frames)
