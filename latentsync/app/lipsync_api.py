"""The demo's HTTP API for programs: ``/lipsync`` takes a video, an audio, the model and every lip-sync setting.

``gradio_client.Client(url).predict(video=handle_file("talk.mp4"), audio=handle_file("speech.wav"), seed=7,
api_name="/lipsync")`` returns the path of the lip-synced video. The parameters are made from the settings
(``door_settings``), so every option of the command line is one here under its own name, with the page's
defaults. The checks are the page's (upload limits; steps, guidance and seed within the page's ranges), a failure
is a ``gr.Error`` with the page's plain-words message, and runs wait in the page's queue: one at a time.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from typing import Any, Literal

import gradio as gr
from gradio.data_classes import FileData

from latentsync.app.door_settings import DoorSetting, door_settings
from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.request import failure, lipsync_uploads
from latentsync.app.validation import (GUIDANCE_SCALE_RANGE, INFERENCE_STEPS_RANGE, SEED_RANGE, UploadLimits,
                                       check_options)
from latentsync.utils.cli_ranges import describe_range

API_NAME = "lipsync"
LIPSYNC_QUEUE = "lipsync"  # the page's runs and the API's share one slot: one lip-sync at a time on the GPU
PAGE_RANGES = {"num_inference_steps": INFERENCE_STEPS_RANGE, "guidance_scale": GUIDANCE_SCALE_RANGE,
               "seed": SEED_RANGE}  # what a shared demo allows, narrower than the settings'


def add_lipsync_api(pipelines: PipelineCache, limits: UploadLimits) -> None:
    """Register ``/lipsync`` on the page being built (call inside its ``gr.Blocks``)."""
    gr.api(lipsync_api(pipelines, limits), api_name=API_NAME, concurrency_id=LIPSYNC_QUEUE)


def lipsync_api(pipelines: PipelineCache, limits: UploadLimits) -> Callable[..., Iterator[FileData]]:
    """The endpoint's function, called with ``(video, audio, model, *settings)`` in its signature's order; the
    signature, type hints (choices as ``Literal``) and docstring, which Gradio shows clients, come from the
    settings."""
    settings = door_settings(pipelines.generation_defaults())
    releases = tuple(pipelines.release_names)
    parameters = [parameter("video", FileData), parameter("audio", FileData),
                  parameter("model", Literal[releases] if releases else str, releases[0] if releases else "")]
    parameters += [parameter(each.name, Literal[each.choices] if each.choices else each.kind, each.default)
                   for each in settings]
    signature = inspect.Signature(parameters, return_annotation=FileData)

    def lipsync(*values: Any) -> Iterator[FileData]:
        bound = signature.bind(*values)
        bound.apply_defaults()
        options = dict(bound.arguments)
        video, audio, model = upload_path(options.pop("video")), upload_path(options.pop("audio")), options.pop("model")
        try:
            # A generator, as the page's handler: Gradio copies the video before the request's folder goes.
            for report, _ in lipsync_uploads(pipelines, limits, video, audio, model, lambda: check_options(**options),
                                             lambda stage, fraction: None):
                yield FileData(path=str(report.output_path))
        except Exception as error:  # the client gets one plain sentence; the server log keeps any traceback
            headline, reason = failure(error, (video, audio))
            raise gr.Error(f"{headline}: {reason}", print_exception=False) from None

    lipsync.__signature__ = signature
    lipsync.__annotations__ = {each.name: each.annotation for each in parameters} | {"return": FileData}
    lipsync.__doc__ = describe_api(settings, releases)
    return lipsync


def parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def upload_path(value: Any) -> str | None:
    """The server-side path of an uploaded file (Gradio passes ``FileData`` as a dict), or the value itself."""
    if isinstance(value, dict):
        return value.get("path")
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def describe_api(settings: list[DoorSetting], releases: tuple[str, ...]) -> str:
    """The docstring Gradio shows: what the endpoint does, then ``Args:`` with each parameter's help and range."""
    lines = ["Lip-sync a video to an audio: the mouth is regenerated to follow the audio; returns the video "
             "(H.264 + AAC mp4, 25 fps, as long as the audio).", "", "Args:",
             "    video: the video of a talking face (any format PyAV reads)",
             "    audio: the speech to follow (any audio file, or a video's soundtrack)",
             f"    model: {' or '.join(releases) or 'the release served'}"]
    for each in settings:
        low, high = PAGE_RANGES.get(each.name, (each.low, each.high))
        above_low = each.above_low and each.name not in PAGE_RANGES
        limits = f" ({describe_range(low, high, above_low)})" if low is not None or high is not None else ""
        lines.append(f"    {each.name}: {each.help}{limits}")
    return "\n".join(lines)
