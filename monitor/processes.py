"""Kura's own processes: named so by command line or unit cgroup, and ours by the files they hold.

A name alone is not enough: on a developer's machine other checkouts run their own kura-api. A
process counts only when it has one of this installation's files open (compared by device and
inode through /proc/PID/fd, so chroots and mount namespaces do not fool it), or is this monitor
itself: the database or metrics file, which kura-api keeps open while it runs, or the backup folder's
lock files, which kura-backup holds for a whole run (its database connection is closed while it
compresses). A process whose open files we may not read (another user's) is not counted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from backup.status import LOCK_NAME, READERS_LOCK_NAME
from common.openfiles import file_identities, holds_any
from common.settings import Settings
from monitor.metrics import SeriesKey

PROGRAMS = ("kura-api", "kura-monitor", "kura-backup")
RESCAN_S = 60.0  # how often to look for new Kura processes (kura-backup comes and goes nightly)


def program_of(name: str, cmdline: list[str]) -> str | None:
    for part in (name, *cmdline[:3]):
        base = os.path.basename(part or "")
        if base in PROGRAMS:
            return base
    return None


def program_of_cgroup(cgroup: str) -> str | None:
    """The Kura unit whose cgroup a process is in ("0::/system.slice/kura-api.service"), if any."""
    for line in cgroup.splitlines():
        unit = line.rpartition("/")[2]
        if unit.endswith(".service") and unit.removesuffix(".service") in PROGRAMS:
            return unit.removesuffix(".service")
    return None


def _cgroup_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return ""


class ProcessTracker:
    """This installation's Kura processes, found by name and open files and cached between samples.

    Scanning every process is what makes monitors expensive, so the full scan runs at most once per
    RESCAN_S; between scans only the cached psutil.Process objects are read, and the few processes
    named like Kura's that do not hold our files yet (a kura-api still starting) are looked at again.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        backups = settings.backups_path
        self._files = (settings.db_path, settings.metrics_db_path, backups / LOCK_NAME, backups / READERS_LOCK_NAME)
        self._clock = clock
        self._procs: dict[int, tuple[str, psutil.Process]] = {}
        self._named: dict[int, tuple[str, psutil.Process]] = {}  # named like Kura's, not (yet) ours
        self._last_scan = float("-inf")
        self.scans = 0

    def _scan(self) -> None:
        self.scans += 1
        self._named = {}
        for proc in psutil.process_iter(["name", "cmdline"]):
            if proc.pid in self._procs:
                continue
            # Command line first; the unit's cgroup catches what a unit runs under another name.
            program = program_of(proc.info["name"] or "", proc.info["cmdline"] or []) or program_of_cgroup(
                _cgroup_of(proc.pid))
            if program is not None:
                self._named[proc.pid] = (program, proc)

    def _adopt(self) -> None:
        """Track the named processes that are this monitor or now hold one of our files."""
        if not self._named:
            return
        ours = file_identities(self._files)  # each time: a restore swaps the database file
        for pid, (program, proc) in list(self._named.items()):
            if pid == os.getpid() or holds_any(pid, ours):
                del self._named[pid]
                proc.cpu_percent(None)  # prime: the first call only starts the delta
                self._procs[pid] = (program, proc)

    def pids(self, program: str) -> set[int]:
        return {pid for pid, (name, _) in self._procs.items() if name == program}

    def read(self) -> dict[SeriesKey, float]:
        if self._clock() - self._last_scan >= RESCAN_S:
            self._last_scan = self._clock()
            self._scan()
        self._adopt()
        totals: dict[SeriesKey, float] = {}
        for pid, (program, proc) in list(self._procs.items()):
            try:
                with proc.oneshot():
                    memory = proc.memory_info()
                    figures = {
                        "process_cpu_percent": proc.cpu_percent(None),
                        "process_resident_memory_bytes": memory.rss,
                        # Less the resident pages that are files' (psutil's "shared": a mapped file,
                        # the libraries), which the kernel can drop and read again at any time.
                        "process_private_memory_bytes": memory.rss - memory.shared,
                        "process_open_fds": proc.num_fds(),
                        "process_threads": proc.num_threads(),
                        "process_count": 1,
                    }
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                del self._procs[pid]
                continue
            for name, value in figures.items():
                totals[(name, program)] = totals.get((name, program), 0.0) + value
        return totals
