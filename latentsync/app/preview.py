"""What the video panel shows: the upload itself, or a small H.264 preview when browsers cannot play it.

Browsers play H.264, VP8/VP9 and AV1; phone videos (and the original's demo clips) are often HEVC, which
leaves the panel blank, as if the upload were gone, before and after every run. Such an upload is shown as a
preview instead, and ``original`` maps the preview the page sends back to the uploaded file, so every run is
made from the user's own frames at their own size.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import av
import cv2

from latentsync.data_processing.media import FPS, SAMPLE_RATE, fit_audio, load_clip_audio
from latentsync.errors import InputError
from latentsync.io.encodings import FAST_ENCODING
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter

BROWSER_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})
BROWSER_CONTAINERS = frozenset({".mp4", ".webm", ".mov", ".m4v"})
PREVIEW_BOX = 640  # the preview fits in PREVIEW_BOX x PREVIEW_BOX pixels: the panel is smaller still
_PREVIEW_NAME = re.compile(r"\.preview-([0-9a-f]{16})\.mp4$")


def browser_playable(path: str | Path) -> bool:
    """Whether browsers can show ``path``'s picture: a web container holding a web codec."""
    if Path(path).suffix.lower() not in BROWSER_CONTAINERS:
        return False
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video) and container.streams.video[0].codec_context.name in BROWSER_CODECS
    except (av.FFmpegError, OSError):
        return True  # not a readable video: shown as it is, and the run explains what is wrong with it


def write_preview(source: str | Path, target: Path) -> Path:
    """``source`` at 25 fps, scaled to fit ``PREVIEW_BOX``, as H.264 with its audio (when it has some)."""
    reader = VideoReader(source, fps=FPS)
    scale = min(1.0, PREVIEW_BOX / max(reader.width, reader.height))
    size = (max(2, round(reader.width * scale / 2) * 2), max(2, round(reader.height * scale / 2) * 2))
    num_frames = reader.count_frames()
    try:
        audio = fit_audio(load_clip_audio(Path(source)), num_frames)
    except InputError:  # a video without sound
        audio = None
    with VideoWriter(target, audio=audio, sample_rate=SAMPLE_RATE, fps=FPS, crf=23,
                     preset=FAST_ENCODING.preset) as writer:
        for frame in reader.frames():
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    return target


class UploadPreviews:
    """The previews this server made, by token, and the uploads they stand for."""

    def __init__(self) -> None:
        self._uploads: dict[str, Path] = {}

    def shown(self, upload: str | None, folder: Path) -> str | None:
        """What the panel shows for ``upload``: the file itself, or a preview written into ``folder``."""
        if upload is None or browser_playable(upload):
            return upload
        token = secrets.token_hex(8)
        try:
            preview = write_preview(upload, folder / f"{Path(upload).stem}.preview-{token}.mp4")
        except (InputError, av.FFmpegError, ValueError):
            return upload  # shown as it is; the run says what is wrong with it
        self._uploads[token] = Path(upload)
        return str(preview)

    def original(self, shown: str | None) -> str | None:
        """The uploaded file behind what the page sends back (a preview keeps its token in its name)."""
        match = _PREVIEW_NAME.search(Path(shown).name) if shown else None
        if match is None:
            return shown
        if match.group(1) not in self._uploads:
            raise InputError("the video on the page is a preview of an upload this server no longer knows "
                             "(it was restarted); upload the video again")
        return str(self._uploads[match.group(1)])
