"""What the tests of the doors (the demo's HTTP API, the cog predictor, the ComfyUI nodes) share: the settings as
command-line flags, a value other than the default for each, a stand-in pipeline that records the settings it is
given, ``predict.py`` loaded as cog loads it and the line of it that offers a setting."""

from __future__ import annotations

import importlib.util
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

from latentsync.app.door_settings import DoorSetting, door_settings
from latentsync.pipelines.lipsync_report import LipsyncReport
from latentsync.pipelines.settings import LipsyncSettings
from tests.helpers.paths import REPO_ROOT


def cli_flags(values: dict[str, Any]) -> list[str]:
    """The inference command's flags for these settings."""
    specs = LipsyncSettings.specs()
    flags = []
    for name, value in values.items():
        flag = specs[name].flag or f"--{name}"
        if specs[name].kind is bool:
            flags += [flag] if value else []
        else:
            flags += [flag, str(value)]
    return flags


def other_value(setting: DoorSetting) -> Any:
    """A valid value other than the door's default, within the demo page's ranges too."""
    if setting.kind is bool:
        return not setting.default
    if setting.choices:
        return next(choice for choice in setting.choices if choice != setting.default)
    if setting.name == "speaker":
        return "point:12,34@0.5"
    if setting.kind is int:
        return setting.default + 1
    if setting.high is None:
        return setting.default + 0.5
    return (setting.default + (setting.default - 10 if setting.low is None else setting.low)) / 2


def other_values() -> dict[str, Any]:
    return {setting.name: other_value(setting) for setting in door_settings()}


class RecordingPipeline:
    """Stands for ``LipsyncPipeline`` where only what a door passes it matters: records each call's settings and
    answers with a report of one black frame."""

    config = SimpleNamespace(video_fps=25)

    def __init__(self):
        self.settings: list[LipsyncSettings] = []

    def __call__(self, video, audio, video_out_path=None, *, settings: LipsyncSettings, **options) -> LipsyncReport:
        self.settings.append(settings)
        return LipsyncReport(video_out_path, num_output_frames=1, num_video_frames=1, frames_without_face=0,
                             seconds=0.0, seed=settings.seed, frames=np.zeros((1, 8, 8, 3), np.uint8),
                             audio=np.zeros(640, np.float32))


def load_predict_py() -> ModuleType:
    """``predict.py`` as a module (cog imports it from the checkout's root)."""
    spec = importlib.util.spec_from_file_location("predict", REPO_ROOT / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cog_parameter_source(setting: DoorSetting) -> str:
    """The line of ``predict.py`` that offers ``setting`` (what a failing check tells to paste)."""
    arguments: dict[str, Any] = {"default": setting.default, "ge": setting.low, "le": setting.high,
                                 "choices": list(setting.choices) or None, "description": setting.help}
    text = ", ".join(f"{key}={literal(value)}" for key, value in arguments.items() if value is not None)
    return f"{setting.name}: {setting.kind.__name__} = Input({text}),"


def literal(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return f"[{', '.join(map(literal, value))}]"
    return repr(value)
