"""The web demo without a browser: upload checks, option ranges, the request's hand-over and clean-up, the page."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from latentsync.app import request as request_module
from latentsync.app.demo import build_demo
from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.request import lipsync_request
from latentsync.app.upload_limits import UploadLimits
from latentsync.app.validation import check_options, check_uploads
from latentsync.cli import demo as gradio_app
from latentsync.errors import CheckpointError, InputError
from latentsync.face.speaker_choice import SpeakerChoice
from latentsync.locations import REPO_ROOT
from latentsync.pipelines.lipsync_report import LipsyncReport
from latentsync.pipelines.pipeline_weights import ReleaseChoice
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.utils import quiet_logs
from tests.helpers.synthetic_video import write_audio, write_constant_rate_video
from tests.helpers.tiny_models import write_tiny_release


def refusal(video, audio, limits: UploadLimits = UploadLimits()) -> str:
    with pytest.raises(InputError) as error:
        check_uploads(video, audio, limits)
    return str(error.value)


@pytest.fixture
def uploads(tmp_path) -> tuple[Path, Path]:
    """A 2 s video and a 2 s audio file in a folder standing for Gradio's upload cache."""
    folder = tmp_path / "gradio-cache" / "3f9a"
    folder.mkdir(parents=True)
    return (write_constant_rate_video(folder / "clip.mp4", fps=25, seconds=2),
            write_audio(folder / "voice.m4a", seconds=2))


class FakePipelines:
    """Stands for ``PipelineCache``: hands out ``pipeline`` (a stand-in callable) and records the releases asked for."""

    def __init__(self, error: Exception | None = None, pipeline: object = None, enhancers_dir: Path | None = None):
        self.error = error
        self.pipeline = pipeline
        self.requested: list[str] = []
        self.enhancers_dir = enhancers_dir

    def get(self, name: str) -> object:
        self.requested.append(name)
        if self.error is not None:
            raise self.error
        return self.pipeline


def run_request(pipelines, uploads, **settings) -> list[tuple[str | None, str]]:
    options = dict(num_inference_steps=20, guidance_scale=1.5, seed=1247, enable_deepcache=False) | settings
    return list(lipsync_request(pipelines, UploadLimits(), *uploads, "LatentSync 1.6 (512x512)",
                                progress=lambda stage, fraction: None, **options))


def test_good_uploads_pass(uploads):
    assert check_uploads(*uploads, UploadLimits()) == uploads


def test_missing_uploads_are_asked_for(uploads):
    assert refusal(None, uploads[1]) == "Upload a video of a talking face first."
    assert refusal(uploads[0], None) == "Upload or record the audio the lips should follow."


def test_text_file_as_video_is_refused_naming_only_the_uploaded_file(uploads):
    text = uploads[0].with_name("notes.mp4")
    text.write_text("these are meeting notes, not a video\n")
    message = refusal(text, uploads[1])
    assert "'notes.mp4'" in message and "not a media file" in message
    assert str(text.parent) not in message and "\n" not in message


def test_audio_file_without_sound_is_refused(uploads):
    assert "has no audio stream" in refusal(uploads[0], uploads[0])


@pytest.mark.parametrize("limits, expected", [
    (UploadLimits(max_video_seconds=1), r"The video 'clip\.mp4' lasts 2\.0 s; this demo accepts video up to 1 s\. "),
    # AAC's encoder delay makes the header say 2.064 s
    (UploadLimits(max_audio_seconds=1.5),
     r"The audio 'voice\.m4a' lasts 2\.1 s; this demo accepts audio up to 1\.5 s\. "),
    (UploadLimits(max_upload_mb=0.001), r"'clip\.mp4' is 0 MB; this demo accepts files up to 0\.001 MB\. "),
])
def test_limits_are_enforced_before_any_work(uploads, limits, expected):
    assert re.match(expected, refusal(*uploads, limits))


@pytest.mark.parametrize("steps, guidance, seed, expected", [
    (9, 1.5, 1247, "Inference steps must be between 10 and 50; got 9."),
    (20, 3.5, 1247, "Guidance scale must be between 1.0 and 3.0; got 3.5."),
    (20, 1.5, -2, "Seed must be between -1 and 4294967295; got -2."),
    (20, 1.5, None, "Seed must be between -1 and 4294967295; got nothing."),
])
def test_options_outside_the_page_ranges_are_refused(steps, guidance, seed, expected):
    with pytest.raises(InputError, match=re.escape(expected)):
        check_options(steps, guidance, seed, False)


def test_options_become_integers_where_the_pipeline_needs_them():
    options = check_options(25.0, 2.0, 7.0, True)
    assert (options.num_inference_steps, options.guidance_scale, options.seed, options.enable_deepcache) == \
        (25, 2.0, 7, True)


def test_request_hands_over_the_result_then_removes_its_folder(uploads):
    calls = []

    def fake_pipeline(video, audio, video_out_path, settings, progress, inputs_checked):
        assert not settings.face_enhance  # Face Enhance is off
        calls.append((settings, inputs_checked))
        progress("generating", 1.0)
        video_out_path.write_bytes(b"video")
        return LipsyncReport(video_out_path, num_output_frames=50, num_video_frames=50, frames_without_face=3,
                             seconds=1.25, seed=1247)

    handler = lipsync_request(FakePipelines(pipeline=fake_pipeline), UploadLimits(), *uploads,
                              "LatentSync 1.6 (512x512)", 20, 1.5, 1247, False, lambda stage, fraction: None)
    result, status = next(handler)
    assert calls == [(LipsyncSettings(num_inference_steps=20, guidance_scale=1.5, seed=1247, enable_deepcache=False,
                                      sync_mode="bounce", audio_context="cut", silence="generate",
                                      speaker=SpeakerChoice("largest")), True)]
    assert Path(result).read_bytes() == b"video" and Path(result).name == "clip_lipsync.mp4"
    assert status == ("**Done** in 1.2 s: 50 frames lip-synced (seed 1247). "
                      "3 frames showed no face and were left unchanged.")
    assert list(handler) == []  # Gradio resumes the generator only after copying the file
    assert not Path(result).parent.exists()


def test_timing_settings_reach_the_pipeline_and_the_status(uploads):
    calls = []

    def fake_pipeline(video, audio, video_out_path, settings, **options):
        calls.append(vars(settings))
        video_out_path.write_bytes(b"video")
        return LipsyncReport(video_out_path, num_output_frames=50, num_video_frames=50, frames_without_face=0,
                             seconds=1.0, seed=7, frames_passed_through=12)

    (_, status), = run_request(FakePipelines(pipeline=fake_pipeline), uploads, sync_mode="loop",
                               audio_context="overlap", silence="keep")
    assert [(c["sync_mode"], c["audio_context"], c["silence"]) for c in calls] == [("loop", "overlap", "keep")]
    assert status == ("**Done** in 1.0 s: 50 frames lip-synced (seed 7). With sync mode loop, audio context overlap, "
                      "silence keep. 12 frames were passed through from the source video.")
    (result, status), = run_request(FakePipelines(pipeline=fake_pipeline), uploads, sync_mode="stretch")
    assert result is None and status == ("**Could not run:** Sync mode must be one of bounce, loop, remap, cut_off, "
                                         "silence; got 'stretch'.")
    assert len(calls) == 1


def test_bad_input_is_reported_before_the_model_is_touched(uploads):
    pipelines = FakePipelines()
    [(result, status)] = run_request(pipelines, (uploads[0], uploads[0]))
    assert result is None and status.startswith("**Could not run:** 'clip.mp4' has no audio stream")
    assert pipelines.requested == []


def test_problem_found_during_the_run_names_only_the_uploaded_file(uploads):
    def faceless_pipeline(video, *args, **kwargs):
        raise InputError(f"no face was found in any frame of {video}; use a video in which the face is visible")

    [(result, status)] = run_request(FakePipelines(pipeline=faceless_pipeline), uploads)
    assert result is None
    assert status == ("**Could not run:** no face was found in any frame of clip.mp4; "
                      "use a video in which the face is visible")


def test_missing_checkpoint_is_reported_with_the_fetch_command(uploads):
    error = CheckpointError("checkpoint checkpoints/latentsync_unet.pt not found; run ./setup_env.sh to download it")
    [(result, status)] = run_request(FakePipelines(error), uploads)
    assert result is None and status == f"**Could not run:** {error}"


def test_unexpected_failure_shows_one_line_and_logs_the_traceback(uploads, caplog):
    def broken_pipeline(*args, **kwargs):
        raise RuntimeError("decoder exploded\nsecond line of detail")

    with caplog.at_level(logging.ERROR, logger=request_module.__name__):
        [(result, status)] = run_request(FakePipelines(pipeline=broken_pipeline), uploads)
    assert result is None
    assert status == "**Lip-sync failed:** decoder exploded. The details are in the server log."
    assert "Traceback" in caplog.text


def test_pipeline_cache_loads_each_release_once(tmp_path):
    files = write_tiny_release(tmp_path / "tiny")
    release = ReleaseChoice("tiny", files["unet_config_path"], files["inference_ckpt_path"])
    pipelines = PipelineCache([release], tmp_path, files["whisper_model_path"], files["vae_model_path"], device="cpu")
    assert pipelines.preload_first() is None
    assert pipelines.get("tiny") is pipelines.get("tiny")
    with pytest.raises(CheckpointError, match="no model named 'LatentSync 1.5 \\(256x256\\)' is installed"):
        pipelines.get("LatentSync 1.5 (256x256)")


def test_page_settings_come_from_the_release_config_or_the_pipeline_defaults(tmp_path):
    files = write_tiny_release(tmp_path / "tiny")  # its config has no ``run`` section
    tiny = PipelineCache([ReleaseChoice("tiny", files["unet_config_path"], files["inference_ckpt_path"])], tmp_path)
    assert tiny.generation_defaults() == LipsyncSettings(num_inference_steps=20, guidance_scale=1.5, seed=1247,
                                                         enable_deepcache=True)
    config = OmegaConf.load(files["unet_config_path"])
    config.run = {"inference_steps": 30, "guidance_scale": 2.0, "seed": 7}
    OmegaConf.save(config, files["unet_config_path"])
    assert tiny.generation_defaults() == LipsyncSettings(num_inference_steps=30, guidance_scale=2.0, seed=7,
                                                         enable_deepcache=True)


def test_page_without_checkpoints_says_how_to_fetch_them_and_cannot_run(tmp_path):
    page = elements(build_demo(PipelineCache([], tmp_path / "checkpoints"), UploadLimits()))
    banner = page["checkpoint-banner"]
    assert banner.visible and "./setup_env.sh" in banner.value and str(tmp_path / "checkpoints") in banner.value
    assert page["run-button"].interactive is False


@pytest.mark.slow
def test_page_with_unloadable_checkpoint_shows_why(tmp_path):
    release = ReleaseChoice("LatentSync 1.6 (512x512)", REPO_ROOT / "configs/unet/stage2_512.yaml",
                            tmp_path / "latentsync_unet.pt")
    pipelines = PipelineCache([release], tmp_path, whisper_model_path=tmp_path / "tiny.pt")
    problem = pipelines.preload_first()
    assert problem is not None and "\n" not in problem
    banner = elements(build_demo(pipelines, UploadLimits(), problem))["checkpoint-banner"]
    assert banner.visible and problem in banner.value and "./setup_env.sh" in banner.value


def test_page_settings_come_from_the_release_config(tmp_path):
    files = write_tiny_release(tmp_path / "tiny")  # its config has no run section: 1.6's settings fill in
    release = ReleaseChoice("tiny", files["unet_config_path"], files["inference_ckpt_path"])
    assert PipelineCache([release], tmp_path).generation_defaults() == check_options(20, 1.5, 1247, True)
    config = OmegaConf.load(files["unet_config_path"])
    config.run = {"inference_steps": 30, "guidance_scale": 2.0}
    OmegaConf.save(config, files["unet_config_path"])
    page = elements(build_demo(PipelineCache([release], tmp_path), UploadLimits()))
    assert (page["steps-slider"].value, page["guidance-slider"].value, page["seed-input"].value) == (30, 2.0, 1247)


def test_page_runs_one_request_at_a_time_and_expires_its_files(tmp_path):
    demo = build_demo(PipelineCache([], tmp_path), UploadLimits(), keep_results_seconds=600)
    assert demo._queue.default_concurrency_limit == 1
    assert demo.delete_cache == (600, 600)


def test_command_line_defaults_to_this_machine_only():
    args = gradio_app.parse_args([])
    assert (args.host, args.share, args.device, args.dtype) == ("127.0.0.1", False, "auto", "auto")


def test_command_line_serves_an_explicit_model(tmp_path):
    args = gradio_app.parse_args(["--unet_config_path", "tiny.yaml", "--inference_ckpt_path", "unet.pt",
                                  "--checkpoints_dir", str(tmp_path)])
    [release] = gradio_app.served_releases(args)
    assert (release.unet_config_path, release.inference_ckpt_path) == (Path("tiny.yaml"), Path("unet.pt"))
    assert gradio_app.served_releases(gradio_app.parse_args(["--checkpoints_dir", str(tmp_path)])) == []
    with pytest.raises(SystemExit):
        gradio_app.parse_args(["--unet_config_path", "tiny.yaml"])


def elements(demo) -> dict:
    """The page's components by ``elem_id``."""
    return {block.elem_id: block for block in demo.blocks.values() if getattr(block, "elem_id", None)}


@pytest.mark.slow
def test_page_defaults_are_the_original_demo_s(tmp_path):
    """Steps 10-50, DeepCache on, seed -1 allowed, and the demo clips present in assets/ as examples."""
    from latentsync.app.examples import demo_examples

    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("demo1_video.mp4", "demo1_audio.wav", "demo3_video.mp4", "demo3_audio.wav", "demo2_video.mp4"):
        (assets / name).write_bytes(b"clip")
    examples = demo_examples(assets)  # demo2 lacks its audio: left out
    assert examples == [[str(assets / "demo1_video.mp4"), str(assets / "demo1_audio.wav")],
                        [str(assets / "demo3_video.mp4"), str(assets / "demo3_audio.wav")]]
    assert demo_examples(tmp_path / "nowhere") == []

    pipelines = PipelineCache([], tmp_path)
    assert pipelines.generation_defaults().enable_deepcache is True
    page = build_demo(pipelines, UploadLimits(), examples=examples)
    sliders = [block for block in page.blocks.values() if getattr(block, "label", None) == "Inference steps"]
    assert [(slider.minimum, slider.maximum) for slider in sliders] == [(10, 50)]
    deepcache = [block for block in page.blocks.values() if getattr(block, "label", None) == "DeepCache"]
    assert [box.value for box in deepcache] == [True]
    dataset = [block for block in page.blocks.values() if type(block).__name__ == "Dataset"]
    assert len(dataset) == 1 and len(dataset[0].samples) == 2
    assert not any(type(block).__name__ == "Dataset" for block in build_demo(pipelines, UploadLimits()).blocks.values())
    assert check_options(10, 1.5, -1, True).seed == -1  # the pipeline draws the seed and reports it


@pytest.mark.parametrize("method, strength, expected", [
    ("esrgan", 0.5, "Face enhancer must be one of gfpgan, codeformer, gpen; got 'esrgan'."),
    ("gfpgan", 1.5, "Enhance strength must be between 0 and 1; got 1.5."),
])
def test_face_enhance_options_outside_the_page_ranges_are_refused(uploads, method, strength, expected):
    pipelines = FakePipelines()
    [(result, status)] = run_request(pipelines, uploads, face_enhance=True, face_enhance_method=method,
                                     face_enhance_strength=strength)
    assert result is None and status == f"**Could not run:** {expected}" and pipelines.requested == []


def test_face_enhance_reaches_the_pipeline_and_the_status_line(uploads, tmp_path):
    from tests.helpers.tiny_enhancers import write_tiny_enhancers

    handed_over = []

    def fake_pipeline(video, audio, video_out_path, settings, **options):
        handed_over.append(settings)
        video_out_path.write_bytes(b"video")
        return LipsyncReport(video_out_path, num_output_frames=50, num_video_frames=50, frames_without_face=0,
                             seconds=2.0, seed=1247)

    pipelines = FakePipelines(pipeline=fake_pipeline, enhancers_dir=write_tiny_enhancers(tmp_path / "enhancers"))
    [(result, status)] = run_request(pipelines, uploads, face_enhance=True, face_enhance_method="codeformer",
                                     face_enhance_strength=0.6)
    [settings] = handed_over  # the pipeline builds the enhancement (``test_inference_cli``)
    assert (settings.face_enhance, settings.face_enhance_strength, settings.face_enhance_method) == \
        (True, 0.6, "codeformer")
    assert status == "**Done** in 2.0 s: 50 frames lip-synced (seed 1247). Face enhanced with CodeFormer (strength 0.6)."


def test_missing_enhancer_is_reported_with_its_fetch_command_before_the_model_loads(uploads, tmp_path):
    pipelines = PipelineCache([], tmp_path / "checkpoints")
    [(result, status)] = run_request(pipelines, uploads, face_enhance=True, face_enhance_method="gfpgan")
    assert result is None and status.startswith("**Could not run:** GFPGAN v1.4 face enhancer ")
    assert status.endswith("fetch it with: python -m scripts.download_checkpoints --enhancers gfpgan "
                           f"--enhancers_dir {tmp_path / 'checkpoints' / 'enhancers'}")


def test_page_offers_face_enhancement(tmp_path):
    page = elements(build_demo(PipelineCache([], tmp_path), UploadLimits()))
    assert page["face-enhance"].value is False and page["face-enhance"].label == "Face Enhance"
    method = page["face-enhance-method"]
    assert method.value == "gfpgan"
    assert [choice[1] for choice in method.choices] == ["gfpgan", "codeformer", "gpen"]
    strength = page["face-enhance-strength"]
    assert (strength.minimum, strength.maximum, strength.value) == (0.0, 1.0, 0.8)


def test_command_line_sets_the_enhancers_folder(tmp_path):
    args = gradio_app.parse_args(["--checkpoints_dir", str(tmp_path), "--enhancers_dir", str(tmp_path / "onnx")])
    assert args.enhancers_dir == tmp_path / "onnx"
    pipelines = PipelineCache([], args.checkpoints_dir, enhancers_dir=args.enhancers_dir)
    assert pipelines.enhancers_dir == tmp_path / "onnx"
    assert PipelineCache([], tmp_path).enhancers_dir == tmp_path / "enhancers"


@pytest.fixture
def started_without_serving(monkeypatch):
    """``gradio_app.main`` up to the launch: the page is built, nothing is served."""
    launched = []
    monkeypatch.setattr(quiet_logs, "launch_gradio", lambda demo, **kwargs: launched.append(demo))
    return launched


def test_terminal_names_the_missing_weights_and_the_fetch_command(tmp_path, capsys, started_without_serving):
    gradio_app.main(["--checkpoints_dir", str(tmp_path / "checkpoints"), "--assets_dir", str(tmp_path)])
    assert started_without_serving  # the page still starts, with its banner
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warning == [f"warning: No LatentSync U-Net checkpoint was found in {tmp_path / 'checkpoints'} (looked for "
                       "latentsync_unet.pt and latentsync-1.5/latentsync_unet.pt). Fetch the weights with "
                       "`./setup_env.sh` (LatentSync 1.6 at 512x512; add `--with-1.5` for the 256x256 release), "
                       "then restart the demo."]


def test_misspelt_key_of_a_custom_config_stops_the_demo_with_one_line(tmp_path, capsys, started_without_serving):
    files = write_tiny_release(tmp_path / "tiny")
    config = OmegaConf.load(files["unet_config_path"])
    config.run = {"inferance_steps": 30}
    OmegaConf.save(config, files["unet_config_path"])
    code = gradio_app.main(["--unet_config_path", str(files["unet_config_path"]), "--inference_ckpt_path",
                            str(files["inference_ckpt_path"]), "--assets_dir", str(tmp_path)])
    assert code == 2 and not started_without_serving
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        f"error: {files['unet_config_path']}: unknown key 'run.inferance_steps'")


@pytest.mark.parametrize("flags, message", [(["--port", "70000"], "argument --port: must be between 1 and 65535"),
                                            (["--max_upload_mb", "0"], "argument --max_upload_mb: must be more than 0"),
                                            (["--keep_results_minutes", "-1"], "must be more than 0, got -1")])
def test_demo_limits_are_range_checked_in_one_line(capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        gradio_app.parse_args(flags)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and len(err.splitlines()) == 1, err


def test_speaker_choice_reaches_the_pipeline_and_point_needs_its_pixel(uploads, tmp_path):
    speakers = []

    def fake_pipeline(video, audio, video_out_path, settings, **options):
        speakers.append(settings.speaker)
        video_out_path.write_bytes(b"video")
        return LipsyncReport(video_out_path, num_output_frames=50, num_video_frames=50, frames_without_face=0,
                             seconds=2.0, seed=1247)

    pipelines = FakePipelines(pipeline=fake_pipeline)
    [(result, _)] = run_request(pipelines, uploads, speaker="point", speaker_x=320.0, speaker_y=180.0)
    [(_, _)] = run_request(pipelines, uploads, speaker="active")
    assert result is not None and speakers == [SpeakerChoice("point", 320, 180), SpeakerChoice("active")]
    [(result, status)] = run_request(pipelines, uploads, speaker="point", speaker_x=320.0)
    assert result is None and status == ("**Could not run:** Give the X and Y of the face to lip-sync: pixels from "
                                         "the video's top-left corner.")
    [(result, status)] = run_request(pipelines, uploads, speaker="loudest")
    assert status.startswith("**Could not run:** Speaker must be one of largest, center, active, point")
    page = elements(build_demo(PipelineCache([], tmp_path), UploadLimits()))
    assert page["speaker"].value == "largest"
    assert [choice[1] for choice in page["speaker"].choices] == ["largest", "center", "active", "point"]
    assert page["speaker-x"].value is None and page["speaker-y"].label == "Y (Point)"


@pytest.mark.slow
def test_sigterm_stops_the_served_demo_quietly(tmp_path):
    """``python gradio_app.py`` serving (no checkpoints: the page says so), then ``kill``: the server closes, the
    command ends as every command does (one line, 143), without Gradio's "Keyboard interruption in main thread"."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "NO_PROXY": "127.0.0.1,localhost"}
    demo = subprocess.Popen([sys.executable, "gradio_app.py", "--port", str(port), "--checkpoints_dir",
                             str(tmp_path / "none"), "--assets_dir", str(tmp_path)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 180
    try:
        while True:
            assert demo.poll() is None and time.monotonic() < deadline, "the demo did not start serving"
            try:
                with opener.open(f"http://127.0.0.1:{port}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 143, output
    assert "Keyboard interruption" not in output and "Traceback" not in output, output
    assert output.splitlines()[-1] == "interrupted (SIGTERM)", output
