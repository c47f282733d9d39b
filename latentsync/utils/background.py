"""Bounded background workers: overlap decoding and encoding with the model work of the main thread.

Two shapes of the same thing, a daemon thread joined to the caller by a bounded queue:

* ``Prefetcher`` runs an iterable ahead of its consumer (frames decoded and faces found while the
  U-Net runs);
* ``BackgroundConsumer`` hands each item to a function behind its producer (frames encoded while the
  next window is generated).

The queue bound keeps memory flat whatever the length of the stream. An exception in the thread is
raised again in the caller (at the next item, or at ``close``), and ``close`` always stops and joins the
thread, also after an early exit, so no thread outlives its worker. Threads suit this work: torch,
libav and the landmark models release the GIL while they compute.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

from latentsync.utils.kept_unless_failed import KeptUnlessFailed

T = TypeVar("T")

# How often a blocked put/get looks at the stop flag (seconds): the latency of ``close`` on a stuck queue.
_POLL_SECONDS = 0.05


class _Done:
    """End-of-stream marker."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Worker:
    """A thread, a bounded queue and a stop flag; subclasses say what the thread does."""

    def __init__(self, target: Callable[[], None], max_items: int, name: str) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        self._queue: queue.Queue = queue.Queue(maxsize=max_items)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless stopped first; False when the worker stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _join(self) -> None:
        """Stop the thread: set the flag, unblock it by emptying the queue, wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            self._thread.join(timeout=_POLL_SECONDS)


class Prefetcher(_Worker, Iterator[T]):
    """Iterate ``source`` in a background thread, at most ``max_items`` items ahead of the consumer.

    Use as an iterator inside ``with`` (or call ``close``): leaving early stops the thread and closes
    ``source`` in it (a generator's ``finally`` runs, e.g. a video container is closed).
    """

    def __init__(self, source: Iterable[T], max_items: int = 2, name: str = "prefetch") -> None:
        self._source = source
        self._finished = False
        super().__init__(self._produce, max_items, name)

    def _produce(self) -> None:
        iterator = iter(self._source)
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_Done())
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Failure(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Prefetcher[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        while True:
            try:
                item = self._queue.get(timeout=_POLL_SECONDS)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True  # closed meanwhile
                    raise StopIteration from None
        if isinstance(item, _Done):
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        """Stop producing and join the thread (idempotent)."""
        self._finished = True
        self._join()

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, error_type: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class BackgroundConsumer(_Worker, KeptUnlessFailed, Generic[T]):
    """Call ``consume(item)`` on each ``put`` item in a background thread, in order, ``max_items`` queued at most.

    ``put`` blocks while the queue is full (the producer cannot run away) and raises the thread's error
    (the original exception, not a wrapper) once ``consume`` has failed. ``close`` waits for every queued
    item and raises that error too; ``discard`` drops what is queued. Both join the thread.
    """

    def __init__(self, consume: Callable[[T], None], max_items: int = 2, name: str = "consume") -> None:
        self._consume = consume
        self._error: BaseException | None = None
        self._closed = False
        super().__init__(self._drain, max_items, name)

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if isinstance(item, _Done):
                return
            try:
                self._consume(item)
            except BaseException as error:  # noqa: BLE001 - raised in the producer
                self._error = error
                self._stop.set()
                return

    def put(self, item: T) -> None:
        if self._closed:
            raise ValueError("put on a closed BackgroundConsumer")
        if not self._put(item) or self._error is not None:
            self._raise_error()

    def close(self) -> None:
        """Consume everything queued, join the thread; raise the error of a failed ``consume``."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._put(_Done())
            while self._thread.is_alive():
                self._thread.join(timeout=_POLL_SECONDS)
        self._join()
        if self._error is not None:
            self._raise_error()

    def discard(self) -> None:
        """Drop the queued items and join the thread (idempotent; never raises the thread's error)."""
        self._closed = True
        self._join()

    def _raise_error(self) -> None:
        self.discard()
        raise self._error  # the original exception: callers handle an InputError from the thread as their own

