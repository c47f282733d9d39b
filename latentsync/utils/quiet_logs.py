"""Silence library messages that tell the user nothing they can act on; real warnings still show.

Silenced, each matched by its own text (anything else from the same libraries still appears):
- protobuf's deprecation warning, raised by mediapipe's own code (``SymbolDatabase.GetPrototype``);
- diffusers' notice that it turns on ``low_cpu_mem_usage`` for modules kept in fp32 (a loading detail);
- the C++ start-up lines of mediapipe / TensorFlow Lite / absl (XNNPACK delegate, ``absl::InitializeLog``,
  feedback manager), which bypass Python and are filtered by ``filtered_native_stderr``;
- Gradio's hint to "set share=True" (the demo has ``--share``): ``launch_gradio`` prints the address itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from typing import IO, Any

_PYTHON_WARNINGS = [(UserWarning, r"SymbolDatabase\.GetPrototype\(\) is deprecated")]
# logger name -> text of the records it emits that are dropped
_LOGGER_NOISE = {"diffusers.models.modeling_utils": "_keep_in_fp32_modules"}
NATIVE_NOISE = re.compile(
    r"INFO: Created TensorFlow Lite XNNPACK delegate"
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
    """Install the filters above; called once by each entry point (CLI, web demo, evaluation)."""
    for category, message in _PYTHON_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, text in _LOGGER_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRecordsContaining) and f.text == text for f in logger.filters):
            logger.addFilter(_DropRecordsContaining(text))


class _NativeStderrFilter:
    """Shared capture of file descriptor 2: starts with the first user, replays when the last one leaves.

    Counting users (rather than nesting) keeps descriptor 2 right when detectors in different threads
    start and finish in any order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = -1
        self._capture: IO[bytes] | None = None

    def enter(self) -> None:
        with self._lock:
            if self._users == 0:
                sys.stderr.flush()
                self._saved = os.dup(2)
                self._capture = tempfile.TemporaryFile()
                os.dup2(self._capture.fileno(), 2)
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users:
                return
            sys.stderr.flush()
            os.dup2(self._saved, 2)
            os.close(self._saved)
            with self._capture as capture:
                capture.seek(0)
                text = capture.read().decode(errors="replace")
            sys.stderr.write("".join(line for line in text.splitlines(keepends=True) if not NATIVE_NOISE.match(line)))
            sys.stderr.flush()


_native_stderr_filter = _NativeStderrFilter()


@contextlib.contextmanager
def filtered_native_stderr() -> Iterator[None]:
    """Capture file descriptor 2 during the block, then replay every line that is not ``NATIVE_NOISE``.

    C++ libraries write straight to the descriptor, past ``sys.stderr`` and ``logging``; wrap only
    start-up work (what is written meanwhile is shown when the block ends).
    """
    _native_stderr_filter.enter()
    try:
        yield
    finally:
        _native_stderr_filter.leave()


def launch_gradio(demo: Any, **launch_options: Any) -> None:
    """``demo.launch(**launch_options)`` without Gradio's start-up hints; prints the address(es) and serves."""
    demo.launch(quiet=True, prevent_thread_lock=True, **launch_options)
    print(f"serving on {demo.local_url}" + (f" and {demo.share_url}" if demo.share_url else ""), flush=True)
    demo.block_thread()
