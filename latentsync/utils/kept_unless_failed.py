"""``KeptUnlessFailed``: ``with`` support for work whose result must not survive a failure."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_Kept = TypeVar("_Kept", bound="KeptUnlessFailed")


class KeptUnlessFailed:
    """Kept (``close()``) when the ``with`` block ends normally, dropped (``discard()``) when an exception ends it,
    Ctrl-C and SIGTERM included: a half-written video or a queue of unfinished work is never passed on as done.
    Subclasses define both methods."""

    def __enter__(self: _Kept) -> _Kept:
        return self

    def __exit__(self, error_type: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if error_type is None:
            self.close()
        else:
            self.discard()
