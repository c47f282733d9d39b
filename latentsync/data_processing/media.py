"""Clip-level media operations of the stages, all in-process with PyAV and written atomically.

Every output goes to a hidden temporary file in the destination folder and is renamed onto its final name
only when complete, so an interrupted stage never leaves a half-written clip under a real name.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from latentsync.io.atomic_file import PARTIAL_MARKER, replaced_atomically
from latentsync.io.audio_encoder import encode_audio
from latentsync.io.audio_reader import load_audio
from latentsync.io.encodings import STANDARD_ENCODING, EncoderSettings
from latentsync.io.video_writer import VideoWriter

FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
# The x264 settings of the stages that re-encode, per ``--encoding``: ``standard`` keeps CRF 18; ``original`` is what
# the original's commands give: ``ffmpeg -r 25`` at libx264's defaults (CRF 23), scenedetect's ``split-video`` at its
# defaults (CRF 22, ``veryfast``).
STAGE_ENCODINGS = {
    "standard": {"resample": STANDARD_ENCODING, "shots": STANDARD_ENCODING},
    "original": {"resample": EncoderSettings(crf=23, preset="medium"),
                 "shots": EncoderSettings(crf=22, preset="veryfast")},
}


def header_duration(path: str | os.PathLike) -> float:
    """Seconds of ``path`` from its container header (0 when unreadable); for ledgers and hour counts."""
    try:
        with av.open(str(path)) as container:
            return (container.duration or 0) / av.time_base
    except (av.FFmpegError, OSError):
        return 0.0


def source_frame_rate(path: str | os.PathLike) -> Fraction | None:
    """Nominal frame rate of the first video stream, as ffprobe's ``avg_frame_rate`` gives it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.average_rate or stream.guessed_rate


def fit_audio(audio: np.ndarray, num_frames: int) -> np.ndarray:
    """Trim or zero-pad 16 kHz audio to exactly ``num_frames`` video frames at 25 fps."""
    length = num_frames * SAMPLES_PER_FRAME
    if len(audio) >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros(length - len(audio), dtype=audio.dtype)])


def shift_audio(audio: np.ndarray, offset_frames: int) -> np.ndarray:
    """Delay (positive) or advance (negative) audio by whole frames, keeping its length; gaps are silent."""
    shift = offset_frames * SAMPLES_PER_FRAME
    shifted = np.zeros_like(audio)
    if shift >= 0:
        shifted[shift:] = audio[: len(audio) - shift]
    else:
        shifted[: len(audio) + shift] = audio[-shift:]
    return shifted


def write_clip(path: Path, frames: Iterable[np.ndarray], audio: np.ndarray, num_frames: int,
               encoder: EncoderSettings = STANDARD_ENCODING) -> None:
    """Encode ``num_frames`` RGB frames (H.264, CRF 18 unless ``encoder`` says otherwise) with their audio (AAC),
    fitted to the frame count."""
    with VideoWriter(path, audio=fit_audio(audio, num_frames), sample_rate=SAMPLE_RATE, fps=FPS, crf=encoder.crf,
                     preset=encoder.preset) as writer:
        for frame in frames:
            writer.write(frame)


def copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a temporary file in the target's folder."""
    with replaced_atomically(target) as partial:
        shutil.copyfile(source, partial)


def remux_with_audio(source: Path, target: Path, audio: np.ndarray) -> None:
    """``target`` = ``source``'s video stream copied bit for bit + ``audio`` (16 kHz mono float) as AAC.

    The video is not re-encoded (ffmpeg's ``-c:v copy``); audio longer than the video is cut at its end.
    """
    with av.open(str(source)) as input_container:
        video_in = input_container.streams.video[0]
        end = (input_container.duration or 0) / av.time_base
        if end:
            audio = audio[: math.ceil(end * SAMPLE_RATE)]
        with replaced_atomically(target) as partial, av.open(str(partial), "w", format="mp4") as output:
            video_out = output.add_stream_from_template(video_in)
            audio_out = output.add_stream("aac", rate=SAMPLE_RATE)
            audio_out.layout = "mono"
            for packet in input_container.demux(video_in):
                if packet.dts is None:  # the demuxer's empty flush packet
                    continue
                packet.stream = video_out
                output.mux(packet)
            for packet in encode_audio(audio_out, audio):
                output.mux(packet)


def remove_partials(folder: Path) -> int:
    """Delete temporary files left in ``folder`` (recursively) by a run that was killed; returns how many."""
    if not folder.is_dir():
        return 0
    stale = [path for path in folder.rglob(f".*{PARTIAL_MARKER}*") if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def load_clip_audio(path: Path) -> np.ndarray:
    """The clip's audio as 16 kHz mono float32 (the project's ffmpeg-equivalent decoding)."""
    return load_audio(path, SAMPLE_RATE)
