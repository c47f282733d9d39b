"""The doors besides the command line (the demo's HTTP API, the Replicate predictor, the ComfyUI nodes) offer
every lip-sync setting under its own name with ``inference.sh``'s defaults, hand every value on to the pipeline,
and keep to the contracts of their hosts (what ``cog build`` can read, ComfyUI's node attributes)."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from latentsync.app.comfyui_nodes import (NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, LatentSyncLipSync,
                                          LatentSyncLoader)
from latentsync.app.demo import build_demo
from latentsync.app.door_settings import DOOR_DEFAULTS, door_settings
from latentsync.app.lipsync_api import API_NAME, lipsync_api
from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.validation import UploadLimits
from latentsync.cli import cog_predictor
from latentsync.cli.cog_predictor import CogLipsync, model_arguments
from latentsync.errors import EnvironmentProblem, InputError
from latentsync.face.enhancement import enhancer_spec
from latentsync.locations import CONFIGS_DIR
from latentsync.pipelines.settings import LipsyncSettings
from tests.helpers.cog_schema import predictor_info, predictor_reference, static_parse_problems
from tests.helpers.doors import RecordingPipeline, cog_parameter_source, other_values
from tests.helpers.paths import REPO_ROOT
from tests.helpers.synthetic_video import write_audio, write_constant_rate_video
from tests.helpers.tiny_enhancers import write_tiny_enhancer

SETTINGS = list(LipsyncSettings.specs())
FILE_SETTINGS = [setting.name for setting in door_settings() if setting.for_files_only]  # not for frames in memory
PREDICTOR, PREDICTOR_CLASS = predictor_reference(REPO_ROOT / "cog.yaml")


def cog_inputs() -> dict:
    return predictor_info(PREDICTOR, PREDICTOR_CLASS).inputs


def test_every_door_takes_every_setting_by_its_name(tmp_path):
    api = lipsync_api(PipelineCache([], tmp_path), UploadLimits())
    assert list(inspect.signature(api).parameters) == ["video", "audio", "model", *SETTINGS]
    assert list(cog_inputs()) == ["video", "audio", *SETTINGS], \
        "predict.py's parameters must be LipsyncSettings' fields, in order (see test_cog_inputs_...)"
    assert FILE_SETTINGS == ["encoding"]  # frames come out of the ComfyUI node; a video-combine node encodes
    assert list(LatentSyncLipSync.INPUT_TYPES()["required"]) == \
        ["pipeline", "images", "audio", "fps", *[name for name in SETTINGS if name not in FILE_SETTINGS]]


def test_cog_inputs_carry_each_setting_s_default_range_choices_and_help():
    """predict.py spells its inputs out (cog reads the file's text); each must say what the settings say."""
    inputs = cog_inputs()
    wrong = []
    for setting in door_settings():
        field = inputs.get(setting.name)
        declared = None if field is None else (field.type.python_type_name(), field.default, field.ge, field.le,
                                               field.choices, field.description)
        expected = (setting.kind.__name__, setting.default, setting.low, setting.high,
                    list(setting.choices) or None, setting.help)
        if declared != expected:
            wrong.append(cog_parameter_source(setting))
    assert not wrong, "predict.py's parameters must read:\n" + "\n".join(wrong)
    assert [(inputs[name].type.python_type_name(), inputs[name].default) for name in ("video", "audio")] == \
        [("Path", None), ("Path", None)]  # required files


def test_cog_build_reads_every_input_of_predict_py(tmp_path):
    """cog build's parser takes plain literals only and drops the rest without a word."""
    assert static_parse_problems(PREDICTOR) == []
    broken = tmp_path / "predict.py"
    broken.write_text('from cog import Input\n\ndef predict(a: int = Input(default=1, description="x" "y"),\n'
                      '            b: str = Input(default="it\\\'s", choices=CHOICES)) -> str:\n    ...\n')
    assert [problem.split(": ")[1] for problem in static_parse_problems(broken)] == \
        ['description="x" "y"', "default=\"it\\'s\"", "choices=CHOICES"]


def test_door_defaults_are_inference_sh_s():
    script = (REPO_ROOT / "inference.sh").read_text()
    flags = dict(re.findall(r"--(inference_steps|guidance_scale) (\S+)", script))
    run = OmegaConf.load(CONFIGS_DIR / "unet" / "stage2_512.yaml").run
    assert (DOOR_DEFAULTS.num_inference_steps, DOOR_DEFAULTS.guidance_scale, DOOR_DEFAULTS.seed) == \
        (int(flags["inference_steps"]), float(flags["guidance_scale"]), run.seed) == \
        (run.inference_steps, run.guidance_scale, run.seed)
    assert DOOR_DEFAULTS.enable_deepcache and "--enable_deepcache" in script
    assert DOOR_DEFAULTS.replace(num_inference_steps=None, guidance_scale=None, seed=None,
                                 enable_deepcache=False) == LipsyncSettings()


@pytest.fixture
def door_inputs(tmp_path):
    """(video, audio, enhancers folder with the non-default restorer) for the doors that take files."""
    values = other_values()
    enhancers = tmp_path / "enhancers"
    write_tiny_enhancer(enhancer_spec(values["face_enhance_method"]).path(enhancers), fidelity_input="weight")
    return (write_constant_rate_video(tmp_path / "clip.mp4", fps=25, seconds=1),
            write_audio(tmp_path / "voice.wav", seconds=1), enhancers)


def test_every_value_reaches_the_pipeline_through_every_door(door_inputs, tmp_path):
    video, audio, enhancers = door_inputs
    values = other_values()
    expected = LipsyncSettings(**values)
    assert all(getattr(expected, name) != getattr(DOOR_DEFAULTS, name) for name in SETTINGS)

    pipeline = RecordingPipeline()
    CogLipsync(pipeline, enhancers).predict(video, audio, **values)
    pipelines = PipelineCache([], tmp_path, enhancers_dir=enhancers)
    pipelines.get = lambda name: pipeline
    api = lipsync_api(pipelines, UploadLimits())
    files = [{"path": str(path), "meta": {"_type": "gradio.FileData"}} for path in (video, audio)]
    [result] = api(*files, "", *values.values())
    frames_values = {name: value for name, value in values.items() if name not in FILE_SETTINGS}
    LatentSyncLipSync().lipsync(pipeline, torch.zeros(2, 8, 8, 3), {"waveform": torch.zeros(1, 2, 800),
                                                                    "sample_rate": 16000}, 25.0, **frames_values)
    assert pipeline.settings == [expected, expected, expected.replace(encoding=DOOR_DEFAULTS.encoding)]
    assert result.path is not None


def test_a_bad_value_is_the_setting_s_own_error_at_every_door(door_inputs, tmp_path):
    video, audio, enhancers = door_inputs
    pipeline = RecordingPipeline()
    message = "Sync mode must be one of bounce, loop, remap, cut_off, silence; got 'stretch'."
    values = {setting.name: setting.default for setting in door_settings()} | {"sync_mode": "stretch"}
    with pytest.raises(InputError, match=re.escape(message)):
        CogLipsync(pipeline, enhancers).predict(video, audio, **values)
    with pytest.raises(InputError, match=re.escape(message)):
        LatentSyncLipSync().lipsync(pipeline, torch.zeros(1, 8, 8, 3), {"waveform": torch.zeros(1, 1, 80),
                                                                        "sample_rate": 16000}, 25.0,
                                    **{name: value for name, value in values.items() if name not in FILE_SETTINGS})
    assert pipeline.settings == []


def test_the_api_and_the_page_share_one_queue_of_one(tmp_path):
    demo = build_demo(PipelineCache([], tmp_path), UploadLimits())
    page_run = next(fn for fn in demo.fns.values() if fn.name == "run_request")
    api = next(fn for fn in demo.fns.values() if fn.api_name == API_NAME)
    assert api.concurrency_id == page_run.concurrency_id and api.concurrency_limit in (1, "default")
    assert demo._queue.default_concurrency_limit == 1 and api.queue


def test_the_api_describes_each_parameter_with_the_page_s_ranges(tmp_path):
    description = inspect.getdoc(lipsync_api(PipelineCache([], tmp_path), UploadLimits()))
    lines = dict(line.strip().split(": ", 1) for line in description.split("Args:")[1].strip().splitlines())
    assert list(lines) == ["video", "audio", "model", *SETTINGS]
    assert lines["num_inference_steps"].endswith("(between 10 and 50)")
    assert lines["silence_min_seconds"].endswith("(more than 0)")
    assert "~15% bigger" in lines["encoding"]  # argparse's %% is not shown


def test_cog_model_options_come_from_the_environment_like_the_command_line_s():
    args = model_arguments({"LATENTSYNC_ARGS": "--unet_config_path 'my configs/tiny.yaml' --device cpu"})
    assert (args.unet_config_path, args.device, args.inference_ckpt_path) == ("my configs/tiny.yaml", "cpu", None)
    with pytest.raises(InputError, match="LATENTSYNC_ARGS: unrecognized arguments: --steps 5"):
        model_arguments({"LATENTSYNC_ARGS": "--steps 5"})


def test_cog_setup_fetches_what_setup_env_does_but_the_demo_clips(monkeypatch, tmp_path):
    planned = []
    monkeypatch.setattr(cog_predictor, "download", lambda files: planned.extend(files) or [])
    cog_predictor.fetch_release_weights(tmp_path / "checkpoints", tmp_path / "restorers")
    targets = [planned_file.target for planned_file in planned]
    assert targets[:2] == [str(tmp_path / "checkpoints" / name) for name in ("latentsync_unet.pt", "whisper/tiny.pt")]
    assert all("sd-vae-ft-mse" in target for target in targets[2:-3])  # the VAE, in the hub's cache
    assert targets[-3:] == [str(enhancer_spec(method).path(tmp_path / "restorers")) for method in
                            ("gfpgan", "codeformer", "gpen")]
    monkeypatch.setattr(cog_predictor, "download", lambda files: [(files[0], "the hub cannot be reached")])
    with pytest.raises(EnvironmentProblem,
                       match="(?s)could not be downloaded into .*latentsync_unet.pt.*the hub cannot be reached"):
        cog_predictor.fetch_release_weights(tmp_path / "checkpoints", tmp_path / "restorers")


# ----------------------------------------------------------------------------------------- ComfyUI's contract


def load_node_pack() -> object:
    """``comfyui/`` as ComfyUI loads a custom node folder: its ``__init__.py`` under the folder's name."""
    spec = importlib.util.spec_from_file_location("latentsync_nodes", REPO_ROOT / "comfyui" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_node_pack_exports_the_mappings():
    pack = load_node_pack()
    assert pack.NODE_CLASS_MAPPINGS is NODE_CLASS_MAPPINGS and pack.NODE_DISPLAY_NAME_MAPPINGS is \
        NODE_DISPLAY_NAME_MAPPINGS
    assert set(NODE_CLASS_MAPPINGS) == set(NODE_DISPLAY_NAME_MAPPINGS) == {"LatentSyncLoader", "LatentSyncLipSync"}


@pytest.mark.parametrize("node", [LatentSyncLoader, LatentSyncLipSync], ids=lambda node: node.__name__)
def test_each_node_keeps_comfyui_s_node_contract(node):
    """Class attributes, ``INPUT_TYPES()`` of (type, options) pairs with a default inside min..max or among the
    choices, a FUNCTION that takes every input."""
    assert isinstance(node.CATEGORY, str) and isinstance(node.DESCRIPTION, str)
    assert isinstance(node.RETURN_TYPES, tuple) and len(node.RETURN_NAMES) == len(node.RETURN_TYPES)
    assert isinstance(inspect.getattr_static(node, "INPUT_TYPES"), classmethod)
    groups = node.INPUT_TYPES()
    assert set(groups) <= {"required", "optional", "hidden"} and "required" in groups
    parameters = inspect.signature(getattr(node(), node.FUNCTION)).parameters
    for group, inputs in groups.items():
        for name, (kind, *options) in inputs.items():
            options = options[0] if options else {}
            if isinstance(kind, list):  # a combo: the choices
                assert options.get("default", kind[0]) in kind, name
            elif kind in ("INT", "FLOAT"):
                assert options["min"] <= options["default"] <= options["max"], name
                assert isinstance(options["default"], int if kind == "INT" else float), name
            elif kind == "BOOLEAN":
                assert isinstance(options["default"], bool), name
            elif kind == "STRING":
                assert isinstance(options["default"], str), name
            else:
                assert kind.isupper(), name  # a data type: IMAGE, AUDIO, LATENTSYNC_PIPELINE
            assert name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values()), name
            assert (parameters[name].default is inspect.Parameter.empty) == (group == "required") \
                if name in parameters else group == "required"


def test_the_lipsync_node_returns_comfyui_s_tensors():
    """IMAGE as float [N, H, W, 3] in 0..1 (frames rounded to their nearest level, both ways), AUDIO as
    {"waveform": [1, 1, T], "sample_rate"} as long as the frames, and the frame rate."""

    class Pipeline(RecordingPipeline):
        def __call__(self, video, audio, video_out_path=None, **options):
            self.received = video, audio, options["fps"]
            report = super().__call__(video, audio, video_out_path, **options)
            report.frames = np.stack([video[0], 255 - video[0]])
            report.audio = np.linspace(-1, 1, 1280, dtype=np.float32)
            return report

    pipeline = Pipeline()
    levels = torch.arange(256, dtype=torch.float32).reshape(1, 16, 16, 1).expand(3, 16, 16, 3) / 255
    images, audio, fps = LatentSyncLipSync().lipsync(
        pipeline, levels + 0.4 / 255, {"waveform": torch.ones(1, 2, 4410), "sample_rate": 44100}, 30.0,
        **{setting.name: setting.default for setting in door_settings() if not setting.for_files_only})
    frames, (waveform, rate), received_fps = pipeline.received
    assert frames.dtype == np.uint8 and frames.shape == (3, 16, 16, 3) and received_fps == 30.0
    np.testing.assert_array_equal(frames[0, ..., 0].ravel(), np.arange(256))
    assert waveform.shape == (2, 4410) and rate == 44100
    assert images.dtype == torch.float32 and tuple(images.shape) == (2, 16, 16, 3)
    assert 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal((images[1] * 255).round().numpy(), 255 - frames[0])
    assert tuple(audio["waveform"].shape) == (1, 1, 1280) and audio["sample_rate"] == 16000 and fps == 25.0


@pytest.mark.parametrize("images, audio, message", [
    (torch.zeros(2, 8, 8, 4), {"waveform": torch.zeros(1, 1, 80), "sample_rate": 16000}, r"\[N, H, W, 3\]; got"),
    (torch.zeros(2, 8, 8, 3), {"waveform": torch.zeros(2, 1, 80), "sample_rate": 16000}, "one ComfyUI AUDIO clip"),
])
def test_the_lipsync_node_names_comfyui_s_types_when_given_others(images, audio, message):
    with pytest.raises(InputError, match=message):
        LatentSyncLipSync().lipsync(RecordingPipeline(), images, audio, 25.0)


def test_progress_goes_to_comfyui_s_bar_and_its_cancel_stops_the_run(monkeypatch):
    """Through ``comfy.utils.ProgressBar(total).update_absolute(value, total)`` and
    ``comfy.model_management.throw_exception_if_processing_interrupted()``, ComfyUI's documented hooks."""
    import sys
    import types

    updates, interrupted = [], []

    class ProgressBar:
        def __init__(self, total):
            self.total = total

        def update_absolute(self, value, total=None):
            updates.append((value, total))

    def throw_exception_if_processing_interrupted():
        if interrupted:
            raise RuntimeError("Processing interrupted")

    comfy = types.ModuleType("comfy")
    comfy.utils = types.SimpleNamespace(ProgressBar=ProgressBar)
    comfy.model_management = types.SimpleNamespace(
        throw_exception_if_processing_interrupted=throw_exception_if_processing_interrupted)
    for name, module in (("comfy", comfy), ("comfy.utils", comfy.utils),
                         ("comfy.model_management", comfy.model_management)):
        monkeypatch.setitem(sys.modules, name, module)

    class Pipeline(RecordingPipeline):
        def __call__(self, *args, progress, **options):
            progress("detecting faces", 0.5)
            interrupted.append(True)
            progress("generating", 0.25)

    with pytest.raises(RuntimeError, match="Processing interrupted"):
        LatentSyncLipSync().lipsync(
            Pipeline(), torch.zeros(1, 8, 8, 3), {"waveform": torch.zeros(1, 1, 80), "sample_rate": 16000}, 25.0,
            **{setting.name: setting.default for setting in door_settings() if not setting.for_files_only})
    assert updates == [(50, 100)]


# ----------------------------------------------------------------------------------------- thin entry points


@pytest.mark.parametrize("path, allowed", [
    (REPO_ROOT / "predict.py", {"cog", "latentsync"}),
    (REPO_ROOT / "comfyui" / "__init__.py", {"latentsync", "importlib", "sys", "pathlib"}),
], ids=["predict.py", "comfyui"])
def test_the_doors_entry_files_are_thin(path: Path, allowed):
    """Their work is in the library; only what their hosts need stays in them."""
    tree = ast.parse(path.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= allowed
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    assert all(len(function.body) <= 4 for function in functions)
