"""Silence library messages that tell the user nothing they can act on; real warnings still show.

Silenced, each matched by its own text (anything else from the same libraries still appears):
- protobuf's deprecation warning, raised by mediapipe's own code (``SymbolDatabase.GetPrototype``);
- diffusers' warning that a cast model has modules "that should be kept in float32: []" (an empty list);
- the C++ start-up lines of mediapipe / TensorFlow Lite / absl (XNNPACK delegate, ``absl::InitializeLog``,
  feedback manager), which bypass Python and are filtered by ``filtered_native_stderr``;
- Gradio's hint to "set share=True" (the demo has ``--share``): ``launch_gradio`` prints the address itself;
- PySceneDetect's "Detecting scenes..." line, one per clip of the data pipeline;
- FFmpeg's own log below errors: libx264 and aac print a dozen lines of statistics when an encoder closes (at
  FFmpeg's info level). PyAV keeps FFmpeg's log off, but PySceneDetect's PyAV backend turns it on for the rest
  of the process unless told not to, so every later encoder printed them; FFmpeg's errors still show.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

_PYTHON_WARNINGS = [(UserWarning, r"SymbolDatabase\.GetPrototype\(\) is deprecated")]
# logger name -> text of the records it emits that are dropped
_LOGGER_NOISE = {"diffusers.models.modeling_utils": "should be kept in float32: []",
                 "pyscenedetect": "Detecting scenes..."}
_NOISE_STARTS = ("INFO: Created TensorFlow Lite", "Created TensorFlow Lite", "WARNING: All log messages before absl",
                 "W0000 ", "I0000 ")
NATIVE_NOISE = re.compile(
    r"(INFO: )?Created TensorFlow Lite XNNPACK delegate"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:.]+ +\d+ (inference_feedback_manager|gl_context|face_landmarker_graph)\.cc:\d+\]"
)


class _DropRecordsContaining(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def quiet_library_logs() -> None:
    """Install the filters above; called once by each entry point (CLI, web demo, evaluation) and worker process."""
    import av.logging

    av.logging.set_libav_level(av.logging.ERROR)  # whichever callback prints FFmpeg's log, it prints errors only
    for category, message in _PYTHON_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, text in _LOGGER_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRecordsContaining) and f.text == text for f in logger.filters):
            logger.addFilter(_DropRecordsContaining(text))


class _NativeStderrFilter:
    """Descriptor 2 routed through a pipe while any user holds it; a thread passes on all but ``NATIVE_NOISE``.

    Text is passed on as it arrives (progress bars redraw with carriage returns and stay live); only a
    trailing piece that could still become a noise line waits for the rest. Users are counted rather than
    nested, so detectors in different threads may start and stop in any order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = -1
        self._thread: threading.Thread | None = None

    def enter(self) -> None:
        with self._lock:
            if self._users == 0:
                sys.stderr.flush()
                self._saved = os.dup(2)
                read_end, write_end = os.pipe()
                os.dup2(write_end, 2)
                os.close(write_end)
                self._thread = threading.Thread(target=_pass_on, args=(read_end, self._saved), daemon=True,
                                                name="native-stderr-filter")
                self._thread.start()
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users:
                return
            self._hand_back()
            # A child process started meanwhile holds the write end as its stderr; the thread then keeps
            # passing its output on, and keeps the saved descriptor, instead of blocking us.
            if not self._thread.is_alive():
                os.close(self._saved)

    def drain_at_exit(self) -> None:
        """At interpreter exit, with users left (a detector kept open for the next run): hand descriptor 2 back and
        let the thread pass on what is in the pipe, such as a command's last line, before daemon threads stop."""
        with self._lock:
            if self._users == 0:
                return
            self._users = 0
            self._hand_back()

    def _hand_back(self) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)  # replaces our write end of the pipe: the thread drains it and stops
        self._thread.join(timeout=2)


def _pass_on(read_end: int, target: int) -> None:
    """Copy the pipe to ``target`` piece by piece (a piece ends at a newline or carriage return), without noise.

    A noise line may start mid-piece, after a progress bar that ends without a newline; only the text from where
    noise could begin waits for the rest of its line."""
    pending = ""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pieces = re.split(r"(?<=[\r\n])", pending + chunk.decode(errors="replace"))
            pending = pieces.pop()
            held = _possible_noise_start(pending)
            pieces.append(pending[:held])
            pending = pending[held:]
            _write_all(target, "".join(map(_without_noise, pieces)))
    _write_all(target, _without_noise(pending))


def _possible_noise_start(text: str) -> int:
    """Where, in ``text`` not yet ended by a newline, a noise line may have begun (``len(text)``: nowhere)."""
    for index in range(len(text)):
        tail = text[index:]
        if any(start.startswith(tail) or tail.startswith(start) for start in _NOISE_STARTS):
            return index
    return len(text)


# TensorFlow Lite writes "INFO: " and its message in two writes; a progress bar redrawn in between splits them.
_SPLIT_NOISE_PREFIX = "INFO: \r"


def _without_noise(piece: str) -> str:
    """``piece`` up to the noise line it ends with, if any (the noise runs to the piece's end, its newline)."""
    if piece.endswith(_SPLIT_NOISE_PREFIX):
        return piece.removesuffix(_SPLIT_NOISE_PREFIX) + "\r"
    noise = NATIVE_NOISE.search(piece)
    return piece if noise is None else piece[: noise.start()]


def _write_all(target: int, text: str) -> None:
    data = text.encode()
    while data:
        data = data[os.write(target, data):]


_native_stderr_filter = _NativeStderrFilter()
atexit.register(_native_stderr_filter.drain_at_exit)


@contextlib.contextmanager
def filtered_native_stderr() -> Iterator[None]:
    """While the block runs, drop ``NATIVE_NOISE`` lines from file descriptor 2 and pass everything else on.

    C++ libraries write straight to the descriptor, past ``sys.stderr`` and ``logging``.
    """
    _native_stderr_filter.enter()
    try:
        yield
    finally:
        _native_stderr_filter.leave()


def launch_gradio(demo: Any, **launch_options: Any) -> None:
    """``demo.launch(**launch_options)`` without Gradio's start-up hints; prints the address(es) and serves until
    interrupted.

    Gradio's own ``block_thread`` answers Ctrl-C and SIGTERM alike with "Keyboard interruption in main thread...
    closing server." and returns as if the demo had finished; here the server closes without a word and the
    interrupt goes on, so the command ends as every other does (``latentsync.cli.runner``: 130 / 143).
    """
    demo.launch(quiet=True, prevent_thread_lock=True, **launch_options)
    print(f"serving on {demo.local_url}" + (f" and {demo.share_url}" if demo.share_url else ""), flush=True)
    try:
        while demo.is_running:
            time.sleep(0.1)
    finally:
        demo.close(verbose=False)  # a share link's tunnel is ended by Gradio at exit
