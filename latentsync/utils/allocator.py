"""Keep glibc from hoarding freed video frames, so a long run's memory stays flat.

glibc serves large blocks with ``mmap`` and returns them on ``free``, but after the first such free it raises its
threshold to that size, and from then on frame-sized buffers come from the per-thread heaps. With several threads
decoding, tracking, generating and encoding at once, those heaps fragment and keep growing with the video: peak
RSS at 160 s of output was 1965 MiB against 1631 MiB with the threshold pinned (``bench_lipsync_memory.py
--variants long-video``, 540x960). Pinning it at 1 MiB keeps frames (1.5 MiB at 540x960) on ``mmap``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20


@functools.cache
def map_large_buffers() -> bool:
    """Pin glibc's mmap threshold at ``MMAP_THRESHOLD_BYTES`` (once per process); False where there is no glibc."""
    library = ctypes.util.find_library("c")
    if library is None:
        return False
    libc = ctypes.CDLL(library)
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False  # musl, macOS: their allocators have no such threshold to pin
    pinned = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    if not pinned:
        logger.debug("mallopt(M_MMAP_THRESHOLD) was refused; memory may grow with long videos")
    return pinned
