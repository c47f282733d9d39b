"""Short, downscaled copies of the real demo clip (../shared/media) for end-to-end runs with tiny models."""

from __future__ import annotations

import itertools
import wave
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from latentsync.io.audio_reader import load_audio
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.loading import load_lipsync_pipeline
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import write_tiny_release


def demo_frames(num_frames: int, step: int) -> list[np.ndarray]:
    """The first ``num_frames`` RGB frames of demo1_video.mp4 (1080x1920), keeping every ``step``-th pixel."""
    with av.open(str(shared_path("media", "demo1_video.mp4"))) as container:
        return [np.ascontiguousarray(frame.to_ndarray(format="rgb24")[::step, ::step])
                for frame in itertools.islice(container.decode(video=0), num_frames)]


def write_h264(path: Path, frames: Sequence[np.ndarray], crf: int = 10) -> Path:
    """25 fps H.264 of RGB ``frames``, nearly lossless so a test's input and its frames differ by a few levels."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": str(crf), "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode(None))
    return path


def write_hevc_demo_clip(path: Path, num_frames: int, size: tuple[int, int]) -> Path:
    """The first ``num_frames`` of demo1_video.mp4 scaled to ``size`` (w, h), as HEVC with its AAC speech: a phone
    video the way the original's demo clips are, which browsers cannot play, small enough for a quick run."""
    frames = [cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in demo_frames(num_frames, step=1)]
    speech = load_audio(shared_path("media", "demo1_audio.wav"), 16000)[:num_frames * 640]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx265", rate=25, options={"crf": "20", "preset": "ultrafast",
                                                                  "x265-params": "log-level=error"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        samples = av.AudioFrame.from_ndarray(speech[np.newaxis].astype(np.float32), format="fltp", layout="mono")
        samples.sample_rate = 16000
        container.mux(audio.encode(samples))
        container.mux(audio.encode(None))
    return path


def write_demo_speech(path: Path, num_frames: int) -> Path:
    """The first ``num_frames`` video frames' worth (640 samples each) of demo2_audio.wav, as a 16 kHz mono WAV."""
    return write_wav(path, load_audio(shared_path("media", "demo2_audio.wav"), 16000)[:num_frames * 640])


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = 16000) -> Path:
    """``samples`` in [-1, 1] as a 16-bit mono WAV."""
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def tiny_lipsync_inputs(work: Path, frames: Sequence[np.ndarray],
                        num_output_frames: int) -> Iterator[tuple[LipsyncPipeline, Path, Path, Path]]:
    """(tiny-model pipeline, clip of ``frames``, speech for ``num_output_frames``, ``work``) for a module fixture
    (``yield from``); the pipeline's detector is closed afterwards."""
    video = write_h264(work / "clip.mp4", frames)
    audio = write_demo_speech(work / "speech.wav", num_output_frames)
    pipeline = load_lipsync_pipeline(**write_tiny_release(work / "models"), device="cpu", dtype="float32",
                                     face_backend="mediapipe")
    try:
        yield pipeline, video, audio, work
    finally:
        pipeline.close()


def decode_rgb(path: Path) -> list[np.ndarray]:
    """Every frame of ``path``'s first video stream as stored (no 25 fps grid or rotation, unlike VideoReader)."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def demo_speech(seconds: float) -> np.ndarray:
    """``seconds`` of 16 kHz demo speech: demo2, demo2, demo1, demo2, demo1 back to back (78.7 s; the joins at
    19.8, 39.7, 49.3 and 69.1 s are away from Whisper's 30 s boundaries), cut to length."""
    demo1, demo2 = (load_audio(shared_path("media", name), 16000) for name in ("demo1_audio.wav", "demo2_audio.wav"))
    speech = np.concatenate([demo2, demo2, demo1, demo2, demo1])
    if len(speech) < seconds * 16000:
        raise ValueError(f"the demo speech lasts {len(speech) / 16000:.1f} s, less than {seconds} s")
    return speech[:round(seconds * 16000)]
