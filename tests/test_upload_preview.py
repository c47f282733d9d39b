"""Uploads browsers cannot play are shown as a small H.264 preview; runs map the preview back to the upload."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from latentsync.app.preview import UploadPreviews, browser_playable
from latentsync.errors import InputError
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter

FRAMES = 10


def _frames(height: int, width: int) -> list[np.ndarray]:
    return [np.random.default_rng(index).integers(0, 256, (height, width, 3), dtype=np.uint8) for index in range(FRAMES)]


def _hevc(path: Path, height: int = 450, width: int = 800) -> Path:
    """A phone-like HEVC mp4 with AAC audio."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx265", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "x265-params": "log-level=none"}
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for frame in _frames(height // 8, width // 8):  # smooth pictures: cheap to encode
            frame = np.repeat(np.repeat(frame, 8, axis=0), 8, axis=1)
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        samples = av.AudioFrame.from_ndarray(np.zeros((1, FRAMES * 640), np.float32), format="flt", layout="mono")
        samples.sample_rate, samples.pts, samples.time_base = 16000, 0, Fraction(1, 16000)
        container.mux(audio.encode(samples))
        container.mux(audio.encode(None))
    return path


def test_playable_upload_is_shown_as_it_is(tmp_path):
    path = tmp_path / "talk.mp4"
    with VideoWriter(path) as writer:
        for frame in _frames(64, 64):
            writer.write(frame)
    previews = UploadPreviews()
    assert browser_playable(path)
    assert previews.shown(str(path), tmp_path) == str(path) and previews.original(str(path)) == str(path)
    assert previews.shown(None, tmp_path) is None and previews.original(None) is None


@pytest.mark.slow
def test_hevc_upload_gets_a_small_h264_preview_that_maps_back(tmp_path):
    upload = _hevc(tmp_path / "phone.mp4")
    assert not browser_playable(upload)
    previews = UploadPreviews()
    shown = Path(previews.shown(str(upload), tmp_path / ""))
    assert shown.name.startswith("phone.preview-") and browser_playable(shown)
    reader = VideoReader(shown)
    assert (reader.width, reader.height, reader.count_frames()) == (640, 360, FRAMES)
    with av.open(str(shown)) as container:
        assert container.streams.audio  # the preview plays the upload's sound too
    copied = tmp_path / "gradio-cache" / shown.name  # Gradio serves a copy of the preview, under the same name
    copied.parent.mkdir()
    copied.write_bytes(shown.read_bytes())
    assert previews.original(str(copied)) == str(upload)
    with pytest.raises(InputError, match="upload the video again"):
        UploadPreviews().original(str(copied))  # a restarted server does not know the preview
