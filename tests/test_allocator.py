"""``map_large_buffers`` keeps frame-sized blocks on mmap after glibc would have moved them to its heaps."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
import textwrap

import pytest

from latentsync.utils.allocator import map_large_buffers
from tests.helpers.paths import REPO_ROOT

PROBE = textwrap.dedent("""
    import ctypes, ctypes.util, sys
    from latentsync.utils.allocator import map_large_buffers

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = MallInfo2
    frame = 960 * 540 * 3  # 1.5 MiB
    libc.free(libc.malloc(frame))  # glibc now raises its mmap threshold to this size
    if sys.argv[1] == "pinned":
        map_large_buffers()
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(frame)
    print(libc.mallinfo2().hblkhd - before >= frame)
    libc.free(block)
""")


def _mapped(mode: str) -> bool:
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT)
    return result.stdout.strip() == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="glibc's mallopt threshold only exists on Linux with glibc")
def test_frames_stay_on_mmap_once_pinned():
    if not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2"):
        pytest.skip("glibc older than 2.33 (no mallinfo2 to observe the allocator)")
    assert map_large_buffers() is True
    assert _mapped("default") is False  # glibc alone serves the second frame from its heap
    assert _mapped("pinned") is True
