"""Stream RGB frames and a mono waveform into an H.264 + AAC file, atomically.

The result replaces the target only when everything was written: frames go to a hidden
``.<stem>.partial-XXXX<suffix>`` file in the target's folder (same filesystem, so the final
``os.replace`` is atomic), and any failure deletes that file and leaves the target untouched.
Audio is muxed alongside the frames as they arrive, so nothing accumulates in memory.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable
from fractions import Fraction

import av
import numpy as np

from latentsync.io.atomic_file import commit_partial, create_partial_file
from latentsync.io.encodings import STANDARD_ENCODING
from latentsync.io.paths import check_output_path
from latentsync.utils.kept_unless_failed import KeptUnlessFailed

# Sample rates the AAC encoder accepts; anything else is resampled to 48 kHz.
_AAC_SAMPLE_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
# swscale converts RGB to YUV with BT.601 limited-range coefficients; say so in the stream, or players
# guess BT.709 for HD sizes and shift the colours (values are FFmpeg's AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG).
_BT601_COLORSPACE = 6
_LIMITED_RANGE = 1


# Index at the front of the file (outputs are MP4 or MOV): it plays while still downloading.
_MUXER_OPTIONS = {"movflags": "+faststart"}


class VideoWriter(KeptUnlessFailed):
    """Context manager that encodes frames to libx264/yuv420p at a constant rate, with optional AAC audio.

    With ``audio``, the number of frames written must cover the audio to within one frame
    (``floor`` or ``ceil`` of ``len(audio) / sample_rate * fps``), so the file lasts as long as
    the audio; ``expected_num_frames`` says how many that is. Odd widths or heights, which
    yuv420p cannot hold, are padded by one edge-replicated row or column.

    ``inputs`` are the run's input files: the writer refuses to start if ``path`` is one of them.
    """

    def __init__(self, path: str | os.PathLike, audio: np.ndarray | None = None, sample_rate: int = 16000,
                 fps: int | Fraction = 25, crf: int = STANDARD_ENCODING.crf,
                 preset: str = STANDARD_ENCODING.preset,
                 inputs: Iterable[str | os.PathLike] = ()):
        self.path = check_output_path(path, inputs)
        self.fps = Fraction(fps)
        self.crf = crf
        self.preset = preset
        self.frames_written = 0
        self._audio = None if audio is None else _mono_float32(audio)
        self._sample_rate = sample_rate
        self._audio_written = 0
        self._video_stream: av.VideoStream | None = None
        self._audio_stream: av.AudioStream | None = None
        self._frame_shape: tuple[int, ...] | None = None
        self._partial = create_partial_file(self.path)
        try:
            self._container = av.open(str(self._partial), mode="w", container_options=_MUXER_OPTIONS)
        except BaseException:
            self._partial.unlink()
            raise

    @property
    def expected_num_frames(self) -> int | None:
        """Frames that make the video as long as the audio (rounded to nearest); ``None`` without audio."""
        if self._audio is None:
            return None
        return math.floor(self._audio_frames + Fraction(1, 2))

    def write(self, frame: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 RGB frame; every frame must have the first frame's size."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be (H, W, 3) uint8 RGB arrays, got {frame.dtype} {frame.shape}")
        if self._frame_shape is None:
            self._frame_shape = frame.shape
            self._add_streams(width=frame.shape[1], height=frame.shape[0])
        elif frame.shape != self._frame_shape:
            raise ValueError(f"frame {self.frames_written} is {frame.shape}, the first frame was {self._frame_shape}")
        padding = ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0))
        if any(after for _, after in padding):
            frame = np.pad(frame, padding, mode="edge")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self.frames_written
        self._container.mux(self._video_stream.encode(video_frame))
        self.frames_written += 1
        if self._audio is not None:
            self._write_audio_until(math.floor(self.frames_written / self.fps * self._sample_rate))

    def close(self) -> None:
        """Flush the encoders and move the finished file onto the target; on failure, discard it."""
        try:
            self._check_length()
            self._container.mux(self._video_stream.encode(None))
            if self._audio is not None:
                self._write_audio_until(len(self._audio))
                self._container.mux(self._audio_stream.encode(None))
            self._container.close()
            commit_partial(self._partial, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Abandon the output: delete the partial file, leave the target as it was."""
        with contextlib.suppress(av.FFmpegError, OSError):  # already failing; the cleanup must not mask why
            self._container.close()
        self._partial.unlink(missing_ok=True)

    @property
    def _audio_frames(self) -> Fraction:
        return Fraction(len(self._audio), self._sample_rate) * self.fps

    def _check_length(self) -> None:
        if self.frames_written == 0:
            raise ValueError(f"no frames were written to {self.path}")
        if self._audio is not None and abs(self.frames_written - self._audio_frames) >= 1:
            raise ValueError(f"{self.frames_written} frames at {self.fps} fps do not match "
                             f"{len(self._audio) / self._sample_rate:.3f} s of audio "
                             f"(write {math.floor(self._audio_frames)} or {math.ceil(self._audio_frames)} frames)")

    def _add_streams(self, width: int, height: int) -> None:
        """Create the streams lazily: the frame size is known only from the first frame."""
        self._video_stream = self._container.add_stream("libx264", rate=self.fps)
        self._video_stream.width, self._video_stream.height = width + width % 2, height + height % 2
        self._video_stream.pix_fmt = "yuv420p"
        self._video_stream.codec_context.colorspace = _BT601_COLORSPACE
        self._video_stream.codec_context.color_range = _LIMITED_RANGE
        self._video_stream.codec_context.time_base = 1 / self.fps
        self._video_stream.options = {"crf": str(self.crf), "preset": self.preset}
        if self._audio is not None:
            rate = self._sample_rate if self._sample_rate in _AAC_SAMPLE_RATES else 48000
            self._audio_stream = self._container.add_stream("aac", rate=rate)
            self._audio_stream.layout = "mono"

    def _write_audio_until(self, stop: int) -> None:
        """Encode audio samples up to ``stop``, keeping audio interleaved with the frames written so far."""
        stop = min(stop, len(self._audio))
        if stop <= self._audio_written:
            return
        chunk = av.AudioFrame.from_ndarray(self._audio[None, self._audio_written:stop], format="flt", layout="mono")
        chunk.sample_rate = self._sample_rate
        chunk.pts, chunk.time_base = self._audio_written, Fraction(1, self._sample_rate)
        self._container.mux(self._audio_stream.encode(chunk))
        self._audio_written = stop


def _mono_float32(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"audio must be a non-empty 1-D (mono) array, got shape {audio.shape}")
    return np.ascontiguousarray(audio, dtype=np.float32)
