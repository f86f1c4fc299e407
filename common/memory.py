"""glibc's allocator, told what a long-running Kura process needs: few arenas, freed memory given back.

glibc keeps freed heap memory for reuse and gives each thread that allocates at once its own arena
(up to 8 per core), so a process with a thread pool, a writer thread and the search index's threads
grows well past what it uses after a burst. Both calls are no-ops where the C library lacks them
(musl, macOS).
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
_libc = ctypes.CDLL(None)


def cap_arenas(count: int) -> bool:
    """At most `count` malloc arenas from now on; call before the threads start. True if applied."""
    mallopt = getattr(_libc, "mallopt", None)
    return mallopt is not None and mallopt(M_ARENA_MAX, count) == 1


def give_back_freed_memory() -> None:
    """Return freed heap memory to the system (after an import, a burst of requests)."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
