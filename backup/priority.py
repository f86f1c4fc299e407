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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


# Cores the host's other processes must keep busy before the job narrows to one piece at a time, and
# how long they must stay below it before it widens again. A lone request is milliseconds of CPU; a
# loaded API is most of a core.
BUSY_CORES = 0.3
QUIET_S = 2.0
SAMPLE_S = 0.25


def host_cpu_seconds() -> float | None:
    """CPU time every core has spent on work since boot (/proc/stat); None when /proc does not show it."""
    try:
        t = psutil.cpu_times()
    except OSError:
        return None
    return t.user + t.nice + t.system + t.irq + t.softirq


class CpuShare:
    """How many of the job's heavy pieces (check parts, packing) run at once: ``most`` while the host is
    otherwise idle, one while other processes keep the CPU busy.

    SCHED_IDLE alone did not keep the API whole on a 2-core host: beside a loaded API one idle-class
    busy thread cost its create p99 nothing measurable, two doubled it. So a sampler thread takes the
    host's CPU time minus the job's own every SAMPLE_S; a piece waits for a free share before it
    starts, and a running piece is never stopped (the narrowing takes effect as pieces end)."""

    def __init__(self, most: int, *, read: Callable[[], float | None] = host_cpu_seconds) -> None:
        self.most, self.allowed, self.running = most, most, 0
        self._read = read
        self._quiet_since: float | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="cpushare", daemon=True)

    def __enter__(self) -> CpuShare:
        self._sampler.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._sampler.join()

    def observe(self, others: float, now: float) -> None:
        """Other processes used ``others`` cores over the last sample."""
        with self._cond:
            if others >= BUSY_CORES:
                self._quiet_since, allowed = None, 1
            else:
                self._quiet_since = now if self._quiet_since is None else self._quiet_since
                allowed = self.most if now - self._quiet_since >= QUIET_S else self.allowed
            if allowed != self.allowed:
                logger.debug("backup pieces at once: {} (other processes use {:.2f} cores)", allowed, others)
                self.allowed = allowed
                self._cond.notify_all()

    @contextmanager
    def piece(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self.running < self.allowed)
            self.running += 1
        try:
            yield
        finally:
            with self._cond:
                self.running -= 1
                self._cond.notify_all()

    def _sample(self) -> None:
        host, own, at = self._read(), time.process_time(), time.monotonic()
        if host is None:
            logger.debug("/proc/stat is not readable: the backup's pieces run {} at once", self.most)
            return
        while not self._stop.wait(SAMPLE_S):
            now_host, now_own, now = self._read(), time.process_time(), time.monotonic()
            if now_host is None:  # /proc/stat gone mid-run: keep the last decision
                continue
            self.observe(max(0.0, (now_host - host) - (now_own - own)) / (now - at), now)
            host, own, at = now_host, now_own, now
