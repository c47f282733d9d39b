"""Up-front checks of the user's input and output paths.

A lip-sync run spends minutes on the GPU before it writes anything, so every path problem
(typo, wrong file type, unwritable folder, an output that would overwrite an input) is caught
here first and reported as one ``InputError`` line that names the file, the problem and the fix.
Paths are only ever handed to PyAV and ``os`` as strings, never to a shell, so spaces, quotes,
``;``, ``$()`` and non-ASCII names need no escaping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import av

from latentsync.errors import InputError

# MP4/MOV edit lists hide the AAC encoder delay, so the file lasts exactly as long as the audio;
# Matroska has no such field for AAC and would come out ~64 ms longer, so it is not offered.
OUTPUT_SUFFIXES = (".mp4", ".mov")

_VIDEO_HINT = "pass a video file (mp4, mov, mkv, webm, avi, ...) with a picture track"
_AUDIO_HINT = "pass an audio file (wav, mp3, m4a, flac, ...) or a video that has an audio track"


def check_video_input(path: str | os.PathLike) -> Path:
    """Return ``path`` if PyAV can decode at least one frame of its first video stream."""
    return _check_decodable(path, "video", _VIDEO_HINT, "re-encode it, e.g. to H.264 mp4", "frames",
                            lambda frames: next(frames, None) is not None)


def check_audio_input(path: str | os.PathLike) -> Path:
    """Return ``path`` if its first audio stream yields at least one sample (decoding stops there)."""
    return _check_decodable(path, "audio", _AUDIO_HINT, "convert it, e.g. to 16 kHz wav", "samples",
                            lambda frames: any(frame.samples for frame in frames))


def _check_decodable(path: str | os.PathLike, kind: str, hint: str, fix: str, content: str,
                     has_content: Callable[[Iterator[av.frame.Frame]], bool]) -> Path:
    """Require a ``kind`` ("video"/"audio") stream in ``path`` and decode until ``has_content`` finds some."""
    path = _existing_file(path, kind)
    with _open_media(path, hint) as container:
        if not getattr(container.streams, kind):
            raise InputError(f"{_quoted(path)} has no {kind} stream; {hint}")
        try:
            found = has_content(container.decode(**{kind: 0}))
        except av.FFmpegError as error:
            raise InputError(f"{_quoted(path)} has a {kind} stream that cannot be decoded ({_reason(error)}); "
                             f"{fix}") from None
    if not found:
        raise InputError(f"{_quoted(path)} has a {kind} stream but no {content}; {hint}")
    return path


def check_output_path(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Return ``path`` if a video can be written there without touching any of ``inputs``.

    An existing output file is allowed (it is replaced atomically at the end of a run);
    the folder must already exist, since creating folders silently hides typos.
    """
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"output {_quoted(path)} must end in {', '.join(OUTPUT_SUFFIXES)}; "
                         f"rename it, e.g. to {_quoted(path.with_suffix('.mp4'))}")
    if path.is_dir():
        raise InputError(f"output {_quoted(path)} is a folder; "
                         f"give a file name inside it, e.g. {_quoted(path / 'out.mp4')}")
    folder = path.absolute().parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"output folder {_quoted(folder)} {problem}; create it first or choose another output path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"output folder {_quoted(folder)} is not writable; "
                         f"choose an output path in a folder you can write to")
    for source in inputs:
        if _same_file(path, Path(source)):
            raise InputError(f"output {_quoted(path)} is the input {_quoted(source)}; choose a different output path")
    return path


def _existing_file(path: str | os.PathLike, role: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{role} file {_quoted(path)} does not exist; check the path")
    if not path.is_file():
        raise InputError(f"{role} path {_quoted(path)} is not a file; pass the path of a {role} file")
    if path.stat().st_size == 0:
        raise InputError(f"{role} file {_quoted(path)} is empty (0 bytes); "
                         f"it was probably not fully copied or downloaded")
    return path


def _open_media(path: Path, hint: str) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as error:
        raise InputError(f"{_quoted(path)} is not a media file PyAV can read ({_reason(error)}); {hint}") from None


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file, through symlinks, ``..`` and hard links."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _quoted(path: str | os.PathLike) -> str:
    """The path as a quoted literal, so a name with spaces or a newline still gives a one-line message."""
    return repr(os.fspath(path))


def _reason(error: av.FFmpegError) -> str:
    return " ".join(str(error.strerror or error).split())
