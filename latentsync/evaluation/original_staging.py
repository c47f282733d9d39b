"""``--protocol original``: what the original's sync-confidence scripts feed SyncNet, staged on disk as they do.

The original scores files, not frames: the video is re-encoded at 25 fps (libx264 at its defaults: the
``-qscale:v 2`` it passes does not apply to libx264), its frames extracted as JPEG at ``-qscale:v 2``, S3FD and
the face tracks run on those JPEGs, the scenes are detected on the re-encoded video downscaled as PySceneDetect
0.6 does, each track's crops are written as MPEG-4 Part 2 (``mp4v``, OpenCV) at 224x224 with its audio segment
re-encoded to AAC, and SyncNet finally reads that crop video back through JPEGs at FFmpeg's default quality.
Each lossy step moves the score a little; this reproduces them with PyAV and OpenCV (no shell) in a temporary
folder that the caller removes. The audio is encoded as 16 kHz mono AAC (the original keeps the source's rate
and channels until it extracts 16 kHz mono WAV), and the 25 fps grid is the project's reader rule.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from latentsync.analysis.syncnet_crops import CROP_SIZE
from latentsync.io.audio_encoder import encode_audio
from latentsync.io.audio_reader import load_audio, to_pcm16
from latentsync.io.encodings import EncoderSettings
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter

FPS = 25
SAMPLE_RATE = 16000
LIBX264_DEFAULTS = EncoderSettings(crf=23, preset="medium")
FRAME_JPEG_QSCALE = 2  # the frames S3FD and the cropper read; the crops' JPEGs use the encoder's rate control


def aac_round_trip(audio: np.ndarray, path: Path) -> np.ndarray:
    """``audio`` (16 kHz mono float) encoded to AAC in ``path`` and decoded again, as a staged file holds it."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for packet in encode_audio(stream, audio):
            container.mux(packet)
    return load_audio(path, SAMPLE_RATE)


def jpeg_encoder_frames(frames: Iterable[av.VideoFrame], qscale: int | None) -> Iterator[bytes]:
    """JPEG files of decoded frames as FFmpeg's ``image2`` output writes them: one MJPEG encoder over the whole
    sequence at 25 fps, a fixed quantiser ``qscale`` or (None) the encoder's default rate control."""
    context = None
    for index, frame in enumerate(frames):
        if context is None:
            context = av.CodecContext.create("mjpeg", "w")
            context.width, context.height, context.pix_fmt = frame.width, frame.height, "yuvj420p"
            context.time_base, context.framerate = Fraction(1, FPS), Fraction(FPS)
            if qscale is not None:
                context.options = {"qmin": str(qscale), "qmax": str(qscale)}
            context.open()
        full_range = frame.reformat(format="yuvj420p", dst_color_range="JPEG")  # FFmpeg's scale to the JPEG range
        full_range.pts, full_range.time_base = index, context.time_base
        yield from (bytes(packet) for packet in context.encode(full_range))
    if context is not None:
        yield from (bytes(packet) for packet in context.encode(None))


def decoded_frames(path: Path) -> Iterator[av.VideoFrame]:
    """Every frame of ``path``'s video stream, as stored."""
    with av.open(str(path)) as container:
        yield from container.decode(video=0)


def read_jpeg_rgb(path: Path) -> np.ndarray:
    """A JPEG file decoded as the original reads it (``cv2.imread``), in RGB."""
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def downscaled_for_scene_detection(frame_rgb: np.ndarray) -> np.ndarray:
    """PySceneDetect 0.6's automatic downscale: by ``width // 256``, bilinear, as its scene manager does."""
    factor = frame_rgb.shape[1] // 256
    if factor <= 1:
        return frame_rgb
    size = (round(frame_rgb.shape[1] / factor), round(frame_rgb.shape[0] / factor))
    return cv2.resize(frame_rgb, size, interpolation=cv2.INTER_LINEAR)


class OriginalStaging:
    """The staged files of one video in ``folder`` (which the caller creates and removes)."""

    def __init__(self, video_path: str | Path, folder: Path):
        self.folder = folder
        self.video = folder / "video.mp4"
        with VideoWriter(self.video, fps=FPS, crf=LIBX264_DEFAULTS.crf, preset=LIBX264_DEFAULTS.preset) as writer:
            for frame in VideoReader(video_path, fps=FPS).frames():
                writer.write(frame)
        frames_dir = folder / "frames"
        frames_dir.mkdir()
        self.frame_files = []
        for index, jpeg in enumerate(jpeg_encoder_frames(decoded_frames(self.video), FRAME_JPEG_QSCALE), start=1):
            self.frame_files.append(frames_dir / f"{index:06d}.jpg")
            self.frame_files[-1].write_bytes(jpeg)
        self.video_path = video_path

    @functools.cached_property
    def audio(self) -> np.ndarray:
        """The 16 kHz int16 audio through the staged AAC; read once a face track was found, as the original's
        error for a video without a face comes first."""
        return to_pcm16(aac_round_trip(load_audio(self.video_path, SAMPLE_RATE), self.folder / "audio.m4a"))

    def frames(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(scene-detection frame, face-detection frame) pairs: the re-encoded video downscaled, and its JPEG."""
        for decoded, path in zip(decoded_frames(self.video), self.frame_files, strict=True):
            yield downscaled_for_scene_detection(decoded.to_ndarray(format="rgb24")), read_jpeg_rgb(path)

    def crop_frames(self, first: int) -> Iterator[np.ndarray]:
        """The JPEG frames from ``first`` on, which the crops are cut from."""
        return (read_jpeg_rgb(path) for path in self.frame_files[first:])

    def track_clip(self, index: int, crops_bgr: list[np.ndarray], audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A track's crops and audio as SyncNet reads them back from the original's crop video."""
        crop_video = self.folder / f"crop_{index:05d}.mp4"
        writer = cv2.VideoWriter(str(crop_video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (CROP_SIZE, CROP_SIZE))
        for crop in crops_bgr:
            writer.write(crop)
        writer.release()
        frames = [cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                  for jpeg in jpeg_encoder_frames(decoded_frames(crop_video), qscale=None)]
        segment = aac_round_trip(audio.astype(np.float32) / 32768, self.folder / f"crop_{index:05d}.m4a")
        return np.stack(frames), to_pcm16(segment)
