"""The API's request figures in a file for kura-monitor: ``DATA_DIR/api-requests.json``.

The request counter and latency histogram (api/request_metrics.py) live in this process, and /metrics
wants an admin token; the monitor charts request rate and latency without one. So every EVERY_S
seconds, and once more at shutdown, the cumulative totals go into a small JSON file in the data
directory (the units' StateDirectory, private to the service user both run as). Nothing happens per
request: the counters are read here, every few seconds.

The monitor turns two readings into a rate and latency percentiles (monitor/api_requests.py); the
process's pid and start time tell it when the counters started again from zero.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
from loguru import logger

from common.files import write_atomic
from common.settings import Settings

if TYPE_CHECKING:  # kura-monitor imports this module for the file's name and format: not prometheus_client
    from api.request_metrics import RequestMetrics, Totals

FILE_NAME = "api-requests.json"
FORMAT = 1
EVERY_S = 10.0


def stats_path(settings: Settings) -> Path:
    return settings.data_dir / FILE_NAME


def bound_text(le: float) -> str:
    """A bucket's upper bound as Prometheus writes it ("0.005", "+Inf"): JSON has no infinity."""
    return "+Inf" if le == math.inf else repr(le)


def encode(totals: Totals, *, pid: int, started_at: float, written_at: float) -> bytes:
    return json.dumps({
        "format": FORMAT,
        "pid": pid,
        "started_at": started_at,  # Unix seconds; with the pid, which run of kura-api counted these
        "written_at": written_at,
        "requests": totals.requests,
        "by_status_class": dict(sorted(totals.by_class.items())),
        "latency_seconds": {"buckets": {bound_text(le): count for le, count in totals.buckets},
                            "sum": totals.seconds_sum},
    }, indent=1).encode() + b"\n"


class Publisher:
    """Writes the file. A failed write is one WARNING until a write succeeds again, never an error."""

    def __init__(self, metrics: RequestMetrics, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.metrics, self.path, self.clock = metrics, path, clock
        self.pid, self.started_at = os.getpid(), clock()
        self._failing = False
        # Serialises reading and writing: the final write at shutdown waits for one still on a worker
        # thread, so older figures never replace newer ones.
        self._lock = threading.Lock()

    def snapshot(self) -> bytes:
        return encode(self.metrics.totals(), pid=self.pid, started_at=self.started_at, written_at=self.clock())

    def publish(self) -> bool:
        """Read the figures and write them; False (and at most one WARNING in a row) when that failed."""
        with self._lock:
            try:
                write_atomic(self.path, self.snapshot())  # temp file, fsync, os.replace, fsync the directory
            except OSError as exc:
                if not self._failing:
                    logger.warning("cannot write {}: {}; kura-monitor gets no request rate or latency until "
                                   "it can", self.path, exc.strerror or exc)
                self._failing = True
                return False
            if self._failing:
                logger.info("{} is written again", self.path)
            self._failing = False
            return True


async def publish_request_stats(publisher: Publisher, *, every_s: float = EVERY_S) -> None:
    """Write the figures now and every ``every_s`` seconds until cancelled, then once more."""
    try:
        while True:
            # On a worker thread, reading and fsync alike: the values are prometheus_client's locked
            # ones, so the event loop serving requests does none of this work.
            await anyio.to_thread.run_sync(publisher.publish)
            await asyncio.sleep(every_s)
    finally:
        publisher.publish()  # at shutdown: the last figures, a brief wait on the loop, once


def start_publishing(metrics: RequestMetrics, settings: Settings) -> asyncio.Task[None]:
    return asyncio.create_task(publish_request_stats(Publisher(metrics, stats_path(settings))),
                               name="kura-request-stats")


async def stop_publishing(task: asyncio.Task[None]) -> None:
    """Cancel the writer and wait for its final write, so the file holds the process's last figures."""
    task.cancel()
    await asyncio.wait([task])
