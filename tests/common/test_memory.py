"""glibc's allocator told what a long-running Kura process needs (common/memory.py). Each case runs in
a child process: an allocator setting lasts as long as the process that made it."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

CHILD = """
import ctypes, sys
from common import memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    assert memory.fix_mmap_threshold(1 << 20)
freed = bytearray(8 << 20)  # mapped apart either way; freeing it moves glibc's default threshold to 8 MB
del freed
block = bytearray(2 << 20)
print("mapped" if libc.mallinfo2().hblkhd >= len(block) else "heap")
"""


def where_a_2mb_block_goes(mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc 2.33 or later only")
def test_a_fixed_mmap_threshold_keeps_big_blocks_apart_after_a_bigger_one_was_freed() -> None:
    assert where_a_2mb_block_goes("default") == "heap"  # the behaviour the setting exists to stop
    assert where_a_2mb_block_goes("fixed") == "mapped"
