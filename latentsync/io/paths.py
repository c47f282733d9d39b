"""Up-front checks of the user's input and output paths.

A lip-sync run spends minutes on the GPU before it writes anything, so every path problem
(typo, wrong file type, unwritable folder, an output that would overwrite an input) is caught
here first and reported as one ``InputError`` line that names the file, the problem and the fix.
Paths are only ever handed to PyAV and ``os`` as strings, never to a shell, so spaces, quotes,
``;``, ``$()`` and non-ASCII names need no escaping.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import av

from latentsync.errors import InputError

# MP4/MOV edit lists hide the AAC encoder delay, so the file lasts exactly as long as the audio;
# Matroska has no such field for AAC and would come out ~64 ms longer, so it is not offered.
OUTPUT_SUFFIXES = (".mp4", ".mov")
# Images matplotlib writes (plots, charts, histograms); the format follows the suffix.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp", ".svgz")

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
    stream = f"{'an' if kind == 'audio' else 'a'} {kind} stream"
    with _open_media(path, hint) as container:
        if not getattr(container.streams, kind):
            raise InputError(f"{_quoted(path)} has no {kind} stream; {hint}")
        try:
            found = has_content(container.decode(**{kind: 0}))
        except av.FFmpegError as error:
            raise InputError(f"{_quoted(path)} has {stream} that cannot be decoded ({_reason(error)}); {fix}") from None
    if not found:
        raise InputError(f"{_quoted(path)} has {stream} but no {content}; {hint}")
    return path


def check_output_path(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Return ``path`` if a video (``.mp4``/``.mov``) can be written there without touching any of ``inputs``
    (see ``check_output_file``)."""
    return check_output_file(path, inputs, suffixes=OUTPUT_SUFFIXES)


def check_output_file(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), role: str = "output",
                      suffixes: Sequence[str] = ()) -> Path:
    """Return ``path`` if a file (named ``role`` in messages; ending in one of ``suffixes`` when given) can be
    written there without touching any of ``inputs``: what every command checks before its work.

    An existing output file is allowed (it is replaced); the folder must already exist, since creating folders
    silently hides typos, and must accept a new file, which is tried (``os.access`` says yes to root, and on
    read-only or special filesystems such as ``/proc``).
    """
    path = Path(path)
    if path.is_dir():
        example = path / ("out" + (suffixes[0] if suffixes else ".txt"))
        raise InputError(f"{role} {_quoted(path)} is a folder; give a file name inside it, e.g. {_quoted(example)}")
    for source in inputs:
        if _same_file(path, Path(source)):
            raise InputError(f"{role} {_quoted(path)} is the input {_quoted(source)}; writing it would destroy the "
                             "input: choose a different output path")
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{role} {_quoted(path)} must end in {', '.join(suffixes)}; "
                         f"rename it, e.g. to {_quoted(path.with_suffix(suffixes[0]))}")
    folder = path.absolute().parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"{role} folder {_quoted(folder)} {problem}; create it first or choose another output path")
    _require_new_files(folder, f"{role} folder {_quoted(folder)}")
    return path


def check_output_folder(path: str | os.PathLike, role: str = "output folder") -> Path:
    """Return ``path`` if files can be written in it: a folder that accepts a new file (tried), or a new folder
    whose nearest existing parent does (it is not created here)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{role} {_quoted(path)} is a file, not a folder; choose a folder (new or existing)")
    existing = next(folder for folder in (path.absolute(), *path.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise InputError(f"{role} {_quoted(path)} cannot be written: {_quoted(existing)} is a file, not a folder; "
                         "choose another folder")
    _require_new_files(existing, f"{role} {_quoted(path)}")
    return path


def _require_new_files(folder: Path, subject: str) -> None:
    """Create and remove a file in ``folder``; ``subject`` names what cannot be written when that fails."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-check-")
    except OSError as error:
        raise InputError(f"{subject} cannot be written: creating a file in {_quoted(folder)} failed "
                         f"({error.strerror or error}); choose a folder you can write to") from None
    os.close(handle)
    os.unlink(probe)


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
