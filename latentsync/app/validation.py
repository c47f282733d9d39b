"""Checks of a web request's uploads, run before any model work starts.

A lip-sync run holds the only GPU slot for minutes, so a wrong file type, an over-long clip or an
oversized upload is refused up front with one plain sentence, and the sentence names the file the
person uploaded, not the server-side path Gradio stored it under.
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from latentsync.app.upload_limits import BYTES_PER_MB, UploadLimits
from latentsync.errors import InputError
from latentsync.face.speaker_choice import SPEAKER_MODES, SpeakerChoice
from latentsync.io.paths import check_audio_input
from latentsync.io.video_reader import VideoReader
from latentsync.pipelines.settings import LipsyncSettings

INFERENCE_STEPS_RANGE = (10, 50)  # the original demo's slider
GUIDANCE_SCALE_RANGE = (1.0, 3.0)
SEED_RANGE = (-1, 2**32 - 1)  # -1: a random seed, as in the original


TIMING_SETTINGS = ("sync_mode", "audio_context", "silence")  # said in the success line when not the defaults


def changed_timing(settings: LipsyncSettings) -> list[str]:
    """``name value`` of the sync mode, audio context and silence settings that differ from the defaults."""
    changed = settings.changed()
    return [f"{name.replace('_', ' ')} {changed[name]}" for name in TIMING_SETTINGS if name in changed]


def check_uploads(video_path: str | os.PathLike | None, audio_path: str | os.PathLike | None,
                  limits: UploadLimits) -> tuple[Path, Path]:
    """Return both paths if they are a decodable video and an audio track within ``limits``.

    Raises ``InputError`` whose message uses the uploaded files' names only.
    """
    if video_path is None:
        raise InputError("Upload a video of a talking face first.")
    if audio_path is None:
        raise InputError("Upload or record the audio the lips should follow.")
    video_path, audio_path = Path(video_path), Path(audio_path)
    try:
        for path in (video_path, audio_path):
            _check_size(path, limits)
        video_seconds = VideoReader(video_path).duration
        _check_duration(video_path, "video", video_seconds, limits.max_video_seconds)
        audio_seconds = _audio_duration(check_audio_input(audio_path))
        _check_duration(audio_path, "audio", audio_seconds, limits.max_audio_seconds)
    except InputError as error:
        raise InputError(with_file_names(str(error), (video_path, audio_path))) from None
    return video_path, audio_path


def check_options(num_inference_steps: float, guidance_scale: float, seed: float | None,
                  enable_deepcache: bool, **settings: object) -> LipsyncSettings:
    """The run's settings, steps, guidance and seed inside the ranges the page offers (API clients can send
    anything); ``settings`` are the other ``LipsyncSettings`` fields the page sets."""
    for label, value, (low, high) in (("Inference steps", num_inference_steps, INFERENCE_STEPS_RANGE),
                                      ("Guidance scale", guidance_scale, GUIDANCE_SCALE_RANGE),
                                      ("Seed", seed, SEED_RANGE)):
        if value is None or not low <= value <= high:
            raise InputError(f"{label} must be between {low} and {high}; got {'nothing' if value is None else value}.")
    return LipsyncSettings(num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, seed=seed,
                           enable_deepcache=bool(enable_deepcache), **settings)


def check_speaker(mode: str, x: float | None = None, y: float | None = None) -> SpeakerChoice:
    """The page's speaker choice; ``point`` needs the X and Y (pixels) of the face to lip-sync."""
    if mode not in SPEAKER_MODES:
        raise InputError(f"Speaker must be one of {', '.join(SPEAKER_MODES)}; got {mode!r}.")
    if mode != "point":
        return SpeakerChoice(mode)
    if x is None or y is None or x < 0 or y < 0:
        raise InputError("Give the X and Y of the face to lip-sync: pixels from the video's top-left corner.")
    return SpeakerChoice("point", float(x), float(y))


def with_file_names(message: str, paths: tuple[Path, ...]) -> str:
    """Replace each full path in ``message``, quoted or bare, by the name of the file the person uploaded."""
    for path in paths:
        message = message.replace(repr(os.fspath(path)), repr(path.name)).replace(os.fspath(path), path.name)
    return message


def _check_size(path: Path, limits: UploadLimits) -> None:
    size = path.stat().st_size if path.is_file() else 0
    if size > limits.max_upload_bytes:
        raise InputError(f"{path.name!r} is {size / BYTES_PER_MB:.0f} MB; this demo accepts files up to "
                         f"{limits.max_upload_mb:g} MB. Upload a shorter or more compressed file.")


def _check_duration(path: Path, role: str, seconds: float, limit: float) -> None:
    if seconds > limit:
        raise InputError(f"The {role} {path.name!r} lasts {seconds:.1f} s; this demo accepts {role} up to "
                         f"{limit:g} s. Trim it and upload it again.")


def _audio_duration(path: Path) -> float:
    """Seconds of the first audio stream, from the header or, when it has none, from the last packet."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        if stream.duration is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / av.time_base
        end = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        return end
