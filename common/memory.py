"""glibc's allocator and Python's collector, told what a long-running Kura process needs: few arenas,
freed memory given back, the start-up's objects never scanned again.

glibc keeps freed heap memory for reuse and gives each thread that allocates at once its own arena
(up to 8 per core), so a process with a thread pool, a writer thread and the search index's threads
grows well past what it uses after a burst. The allocator calls are no-ops where the C library lacks
them (musl, macOS).
"""

from __future__ import annotations

import ctypes
import gc

M_ARENA_MAX = -8  # mallopt's parameter numbers in glibc's malloc.h
M_MMAP_THRESHOLD = -3
_libc = ctypes.CDLL(None)


def cap_arenas(count: int) -> bool:
    """At most `count` malloc arenas from now on; call before the threads start. True if applied."""
    mallopt = getattr(_libc, "mallopt", None)
    return mallopt is not None and mallopt(M_ARENA_MAX, count) == 1


def fix_mmap_threshold(nbytes: int) -> bool:
    """Blocks of `nbytes` or more get mappings of their own, unmapped as soon as they are freed. By
    default glibc raises this threshold to the largest block freed so far (up to 32 MB): the search
    index's 1 MB arena pages, made and freed at every index commit, then come from the heap, where
    freed memory stays. Setting it switches that off. True if applied."""
    mallopt = getattr(_libc, "mallopt", None)
    return mallopt is not None and mallopt(M_MMAP_THRESHOLD, nbytes) == 1


def give_back_freed_memory() -> None:
    """Return freed heap memory to the system (after an import, a burst of requests)."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def hold_collection() -> None:
    """No cyclic garbage collection while a program starts: importing FastAPI, pydantic and SQLAlchemy
    and building the app makes ~180,000 objects that live as long as the process, and the collector
    would walk the growing heap again and again on the way (a sixth of kura-api's start)."""
    gc.disable()


def settle_startup_objects() -> None:
    """Move everything made so far out of the collector's sight for good (`gc.freeze`) and switch
    collection back on: later full collections then scan only what requests make, not the app. The
    few hundred cycles start-up left behind stay (a `gc.collect` first would cost more than they
    weigh)."""
    gc.freeze()
    gc.enable()
