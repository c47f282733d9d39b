"""How every command ends: its result, one ``error:`` line with exit 2, or 130 / 143 when interrupted.

Bad input, missing weights and machine problems (``latentsync.errors``) are the user's to fix, so they print one line
that names the file and the fix, never a traceback. SIGTERM (``kill``, ``timeout``, schedulers, ``docker stop``)
would end Python without running ``finally`` blocks or ``__exit__``, leaving partial files; it is turned into
``KeyboardInterrupt`` so exactly the clean-up of Ctrl-C runs. SIGKILL cannot be caught.

Under torchrun only rank 0 prints the error line (every rank usually meets the same problem); each rank also
leaves it in torchrun's error file, from which the training launcher tells it when rank 0 did not fail this way.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from latentsync.errors import USER_ERRORS
from latentsync.utils.quiet_logs import quiet_library_logs

SHORT_LOG_FORMAT = "%(levelname)s %(message)s"
TIMED_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # long runs: training, the demo server


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; a ``KeyboardInterrupt`` so every handler written for Ctrl-C applies."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated(signum)


def report_error(line: str) -> None:
    """Print ``line`` on stderr (rank 0 only under torchrun) and leave it in torchrun's error file."""
    if int(os.environ.get("RANK", 0)) == 0:
        print(line, file=sys.stderr)
    if error_file := os.environ.get("TORCHELASTIC_ERROR_FILE"):
        Path(error_file).write_text(json.dumps({"message": line, "timestamp": int(time.time())}))


def run_command(command: Callable[[], object], log_format: str = SHORT_LOG_FORMAT,
                interrupted_note: str = "") -> int:
    """Run a command's body with logging set up and library noise filtered; return its exit code.

    ``command`` returns its exit code as an ``int``; anything else it returns (nothing, a score) means 0.
    ``interrupted_note`` follows "interrupted (Ctrl-C)" on
    stderr, e.g. what an interrupted run leaves behind.
    """
    logging.basicConfig(level=logging.INFO, format=log_format)
    quiet_library_logs()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        code = command()
        return code if isinstance(code, int) and not isinstance(code, bool) else 0
    except USER_ERRORS as error:
        report_error(f"error: {error}")
        return 2
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        print(f"interrupted ({'SIGTERM' if terminated else 'Ctrl-C'}){interrupted_note}", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
