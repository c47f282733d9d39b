"""SIGTERM handled like Ctrl-C, so a killed run cleans up after itself.

Schedulers, ``timeout``, ``docker stop`` and ``kill`` send SIGTERM, whose default action ends Python without
running ``finally`` blocks or ``__exit__``: the video writer's hidden ``.partial`` file would stay behind.
Raising ``KeyboardInterrupt`` instead runs exactly the clean-up Ctrl-C runs. SIGKILL cannot be caught, so a
``kill -9`` still leaves the partial file (hidden, named ``.<output>.partial-XXXX.mp4``) to delete by hand.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; a ``KeyboardInterrupt`` so every handler written for Ctrl-C applies."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated(signum)


def run_interruptible(main: Callable[[], int]) -> int:
    """Run a command-line ``main`` with SIGTERM raising ``Terminated``; return its exit code.

    Interrupted runs print one line and return what a shell reports for the signal: 130 for Ctrl-C,
    143 for SIGTERM.
    """
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return main()
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        print(f"interrupted ({'SIGTERM' if terminated else 'Ctrl-C'}); no output was written", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
