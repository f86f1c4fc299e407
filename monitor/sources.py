"""Where samples come from: one small interface and its real source, psutil (tests script their own).

The psutil source never blocks the loop: CPU percentages are deltas between calls
(``interval=None``), byte rates are deltas of counters, and anything that touches a file system or
the network runs on its own daemon thread with a time limit (a hung NFS mount costs one stuck
thread and a missing value, not a stalled monitor).
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psutil
from loguru import logger

from api.request_stats import stats_path
from backup.status import staleness_and_newest
from common.settings import Settings
from monitor.api_requests import ApiRequests
from monitor.metrics import Reading, SeriesKey
from monitor.processes import ProcessTracker

BACKUP_CHECK_S = 60.0  # the backup check reads manifests; once a minute is plenty for a 26 h limit


class Source(Protocol):
    def read(self) -> Reading: ...


class TimeBox:
    """Run probes on daemon threads and stop waiting after ``timeout_s``.

    A probe still stuck from an earlier sample is not started again, so a hung file system holds one
    thread, not one per sample; daemon threads never delay the process's exit.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._stuck: dict[str, threading.Thread] = {}

    def run(self, probes: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        threads: dict[str, threading.Thread] = {}
        for name, probe in probes.items():
            stuck = self._stuck.get(name)
            if stuck is not None and stuck.is_alive():
                continue
            self._stuck.pop(name, None)
            thread = threading.Thread(target=_capture, args=(probe, name, results), daemon=True,
                                      name=f"kura-probe-{name}")
            thread.start()
            threads[name] = thread
        deadline = time.monotonic() + self.timeout_s
        for name, thread in threads.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self._stuck[name] = thread
                logger.warning("probe {} did not answer within {:g} s; its values are missing", name,
                               self.timeout_s)
        return {name: results[name] for name in threads if name in results and name not in self._stuck}


def _capture(probe: Callable[[], Any], name: str, results: dict[str, Any]) -> None:
    try:
        results[name] = probe()
    except Exception as exc:  # noqa: BLE001 - a failed probe is a missing value, logged once per sample
        logger.warning("probe {} failed: {}", name, exc)


def mountpoint(path: Path) -> str:
    """The mount point holding ``path`` (or its nearest existing parent)."""
    current = path.resolve()
    while not current.exists():
        current = current.parent
    while not os.path.ismount(current):
        current = current.parent
    return str(current)


def filesystem_probe(paths: Iterable[Path]) -> dict[SeriesKey, float]:
    values: dict[SeriesKey, float] = {}
    for path in paths:
        mount = mountpoint(path)
        usage = psutil.disk_usage(mount)
        values[("filesystem_size_bytes", mount)] = usage.total
        values[("filesystem_avail_bytes", mount)] = usage.free
        values[("filesystem_avail_percent", mount)] = 100.0 * usage.free / usage.total if usage.total else 0.0
    return values


def database_probe(db_path: Path) -> dict[SeriesKey, float]:
    values: dict[SeriesKey, float] = {}
    for file in (db_path, db_path.with_name(db_path.name + "-wal")):
        try:
            values[("database_file_bytes", file.name)] = file.stat().st_size
        except FileNotFoundError:
            continue
    return values


def readyz_probe(url: str, timeout_s: float) -> dict[SeriesKey, float]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/readyz", timeout=timeout_s) as response:
            up = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        up = False
    return {("api_up", ""): 1.0 if up else 0.0}


def backup_probe(settings: Settings) -> tuple[dict[SeriesKey, float], str]:
    ok, message, newest = staleness_and_newest(settings, now=datetime.now(UTC))  # one read per manifest
    values: dict[SeriesKey, float] = {("backup_fresh", ""): 1.0 if ok else 0.0}
    if newest is not None:
        values[("backup_last_success_timestamp_seconds", "")] = newest.created_at.timestamp()
    return values, message


class PsutilSource:
    """The real source: host, file systems, Kura's processes, the API's /readyz and request figures, and
    the backups."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._timebox = TimeBox(settings.monitor_probe_timeout_s)
        self._processes = ProcessTracker(settings, clock=clock)
        self._counters: tuple[float, Any, Any] | None = None
        self._backup: tuple[float, dict[SeriesKey, float], str] | None = None
        self._api_requests = ApiRequests(stats_path(settings))
        self._cpu_primed = False

    def read(self) -> Reading:
        values = self._cpu()
        for name, load in zip(("load1", "load5", "load15"), psutil.getloadavg(), strict=True):
            values[(name, "")] = load
        values.update(self._memory())
        values.update(self._rates())
        values.update(self._processes.read())
        notes: dict[str, str] = {}
        values.update(self._slow_probes(notes))
        return Reading(values=values, notes=notes)

    def _cpu(self) -> dict[SeriesKey, float]:
        """CPU use since the previous read; nothing on the first, whose figure psutil makes up (0.0, or
        the few milliseconds since priming), so a restart never reads as an idle CPU."""
        total, cores = psutil.cpu_percent(None), psutil.cpu_percent(None, percpu=True)
        if not self._cpu_primed:
            self._cpu_primed = True
            return {}
        values: dict[SeriesKey, float] = {("cpu_percent", ""): total}
        for core, pct in enumerate(cores):
            values[("cpu_core_percent", str(core))] = pct
        return values

    def _memory(self) -> dict[SeriesKey, float]:
        mem, swap = psutil.virtual_memory(), psutil.swap_memory()
        return {
            ("memory_total_bytes", ""): mem.total,
            ("memory_available_bytes", ""): mem.available,
            ("memory_available_percent", ""): 100.0 * mem.available / mem.total,
            ("swap_total_bytes", ""): swap.total,
            ("swap_used_bytes", ""): swap.used,
        }

    def _rates(self) -> dict[SeriesKey, float]:
        now, disk, net = self._clock(), psutil.disk_io_counters(), psutil.net_io_counters()
        previous, self._counters = self._counters, (now, disk, net)
        if previous is None or now <= previous[0]:
            return {}
        elapsed, values = now - previous[0], {}
        pairs = (("disk_read_bytes_per_second", 1, "read_bytes"), ("disk_write_bytes_per_second", 1, "write_bytes"),
                 ("network_receive_bytes_per_second", 2, "bytes_recv"),
                 ("network_transmit_bytes_per_second", 2, "bytes_sent"))
        for name, index, field in pairs:
            before, after = previous[index], (disk, net)[index - 1]
            if before is not None and after is not None:
                # Counters can wrap or reset (a disk hot-removed); a negative rate is noise, not data.
                values[(name, "")] = max(0.0, (getattr(after, field) - getattr(before, field)) / elapsed)
        return values

    def _slow_probes(self, notes: dict[str, str]) -> dict[SeriesKey, float]:
        settings = self.settings
        probes: dict[str, Callable[[], Any]] = {
            "filesystems": lambda: filesystem_probe({settings.data_dir, settings.backups_path}),
            "database": lambda: database_probe(settings.db_path),
            "readyz": lambda: readyz_probe(settings.monitor_api_url, settings.monitor_probe_timeout_s),
            "api_requests": self._api_requests.probe,
        }
        if self._backup is None or self._clock() - self._backup[0] >= BACKUP_CHECK_S:
            probes["backup"] = lambda: backup_probe(settings)
        results = self._timebox.run(probes)
        if "backup" in results:
            self._backup = (self._clock(), *results.pop("backup"))
        values: dict[SeriesKey, float] = self._api_requests.update(results.pop("api_requests", None))
        for part in results.values():
            values.update(part)
        if self._backup is not None:
            values.update(self._backup[1])
            notes["backup"] = self._backup[2]
        return values

