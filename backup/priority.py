"""The backup's claim on the CPU and the disk: what the API leaves idle, nothing more.

Compression, hashing and the integrity check are seconds of CPU on every core there is; on a small host
the API's writers would queue behind them (measured on 2 cores: create p99 ×4.5-5 while a backup ran at
normal priority). So the threads that do that work put themselves on SCHED_IDLE (they run only when a
core has nothing else to do, and any woken API thread preempts them at once) and in the idle I/O class.

Per thread, not per process: Linux applies these calls to the calling thread only, threads it starts
afterwards (zstd's workers) inherit them, and the caller's own thread keeps its priority. A test or
`kura-backup run` in a shell is therefore never left running at idle priority after the backup's
threads end, and an unprivileged process needs no right it lacks to get back up (it never goes down).
"""

from __future__ import annotations

import os
import threading

import psutil
from loguru import logger


def lower_this_thread() -> bool:
    """Put the calling thread on SCHED_IDLE and the idle I/O class; False when refused.

    Under systemd the unit already runs the whole job this way (CPUSchedulingPolicy=idle,
    IOSchedulingClass=idle) and its system-call filter refuses both calls with EPERM: nothing lost."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        psutil.Process(threading.get_native_id()).ionice(psutil.IOPRIO_CLASS_IDLE)
    except (PermissionError, psutil.AccessDenied) as exc:
        logger.debug("backup threads keep their priority ({}): the service unit sets it", exc)
        return False
    return True
