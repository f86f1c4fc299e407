"""kura-monitor: sample, store, alert; tell systemd we are alive only while samples keep landing.

Sampling runs on its own thread; the main thread only sends WATCHDOG=1, and only when the last
sample was stored in time. A wedged sampler (a hung probe that escaped its time box, a stuck
database) therefore stops the pings and systemd restarts the unit, which is the point of a watchdog.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from loguru import logger

from common.cmdline import program_parser
from common.db import DatabaseError, sqlite_version_check
from common.dberrors import StorageUnavailable
from common.memory import cap_arenas
from common.notify import Notifier, watchdog_interval
from common.settings import Settings
from common.sqlite import sqlite3
from common.startup import boot
from monitor.alerts import AlertLog, Deliverer
from monitor.metrics import Reading
from monitor.metricsdb import open_metrics_db
from monitor.rules import AlertEngine, build_rules
from monitor.sources import PsutilSource, Source
from monitor.store import BUCKET_MS, MetricsStore, to_ms

PROGRAM = "kura-monitor"
# One malloc arena: the sampler, the mail thread and four fresh probe threads a sample all allocate a
# little while holding the GIL, so more arenas only keep more freed memory (300 samples at 0.2 s: RSS
# +0.3 MB with glibc's default, flat with one).
MALLOC_ARENAS = 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


def summary(reading: Reading, active_alerts: int) -> str:
    """The one-line STATUS= that `systemctl status kura-monitor` shows."""
    parts = []
    if (cpu := reading.get("cpu_percent")) is not None:
        parts.append(f"cpu {cpu:.0f}%")
    if (mem := reading.get("memory_available_percent")) is not None:
        parts.append(f"mem avail {mem:.0f}%")
    if disks := reading.family("filesystem_avail_percent"):
        parts.append(f"disk free {min(disks.values()):.0f}%")
    parts.append(f"{active_alerts} active alert{'' if active_alerts == 1 else 's'}")
    return ", ".join(parts)


class Monitor:
    def __init__(self, settings: Settings, *, source: Source, store: MetricsStore, notifier: Notifier,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.settings, self.source, self.store, self.notifier, self.clock = settings, source, store, notifier, clock
        rules = build_rules(settings)
        self.alert_log = AlertLog(store.db, settings)
        self.engine = AlertEngine(rules, remind_s=settings.alert_remind_s)
        self.engine.states.update(self.alert_log.load_active())
        self.deliverer = Deliverer(self.alert_log, interval_s=settings.monitor_interval)
        # In time = one interval late at most, plus the longest a time-boxed probe may take.
        self.max_sample_age_s = 2 * settings.monitor_interval + settings.monitor_probe_timeout_s
        self.last_stored: float | None = None
        self.samples = 0
        self._bucket: int | None = None

    def tick(self) -> None:
        reading = self.source.read()
        at = self.clock()
        events = self.engine.evaluate(at, reading)
        try:
            self.store.insert(at=at, reading=reading)
        finally:
            # Even when the sample cannot be stored (a full disk), its alerts still go out.
            if self.alert_log.record(events, self.engine.states):
                self.deliverer.kick()
        stored_at = time.monotonic()
        self.samples += 1
        self._housekeeping(at)
        status = summary(reading, len(self.engine.active))
        if self.samples == 1:
            self.notifier.ready(status)
            logger.info("first sample stored; {}", status)
        else:
            self.notifier.status(status)
        self.last_stored = stored_at  # only now: READY=1 must precede the first WATCHDOG=1

    def _housekeeping(self, at: datetime) -> None:
        bucket = to_ms(at) // BUCKET_MS
        if bucket == self._bucket:
            return
        self._bucket = bucket
        self.store.rollup(now=at)
        s = self.settings
        self.store.prune(now=at, raw_days=s.monitor_raw_retention_days, rollup_days=s.monitor_rollup_retention_days)

    def healthy(self) -> bool:
        return self.last_stored is not None and time.monotonic() - self.last_stored <= self.max_sample_age_s

    def sample_loop(self, stop: threading.Event) -> None:
        interval = self.settings.monitor_interval
        next_at = time.monotonic()
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - log and keep sampling; the watchdog notices if it persists
                logger.exception("sample failed")
            next_at = max(next_at + interval, time.monotonic())  # fixed rate, but never a burst to catch up
            stop.wait(next_at - time.monotonic())

    def run(self, stop: threading.Event) -> None:
        """Sample on a thread, ping the watchdog here until ``stop`` is set, then stop within a second."""
        sampler = threading.Thread(target=self.sample_loop, args=(stop,), name="kura-sampler", daemon=True)
        sampler.start()
        self.deliverer.start()
        ping_every = watchdog_interval()
        try:
            while not stop.wait(ping_every or 1.0):
                if ping_every and self.healthy():
                    self.notifier.watchdog()
                elif ping_every and self.last_stored is not None:
                    logger.warning("no sample stored for {:.1f} s; withholding the watchdog ping",
                                   time.monotonic() - self.last_stored)
        finally:
            self.notifier.stopping()
            logger.info("stopping")
            self.deliverer.stop(0.3)
            sampler.join(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    program_parser(PROGRAM, "Sample resource use every KURA_MONITOR_INTERVAL seconds into the metrics "
                   "database and mail alerts; runs in the foreground until SIGTERM or Ctrl-C.").parse_args(argv)
    settings = boot(PROGRAM)
    if settings is None:
        return 2
    cap_arenas(MALLOC_ARENAS)  # before any thread starts
    sqlite_version_check()
    try:
        db = open_metrics_db(settings, path=settings.metrics_db_path)
    except DatabaseError as exc:
        logger.error("{}", exc)
        return 1
    try:
        store = MetricsStore(db)
    except (StorageUnavailable, sqlite3.Error, RuntimeError) as exc:
        db.close()
        logger.error("{}", exc)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    notifier = Notifier()
    monitor = Monitor(settings, source=PsutilSource(settings), store=store, notifier=notifier)
    logger.info("sampling every {:g} s into {}", settings.monitor_interval, settings.metrics_db_path)
    monitor.run(stop)
    db.close()
    if notifier._n is not None:  # sdnotify never closes its socket
        notifier._n.socket.close()
    return 0
