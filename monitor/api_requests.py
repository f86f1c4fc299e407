"""The API's request rate and latency, from the figures kura-api publishes in its data directory.

kura-api rewrites ``api-requests.json`` every few seconds with its cumulative request count and
latency histogram (api/request_stats.py). Between two readings of the same run of kura-api, the
count's growth over the time between the writes is the request rate, and the histogram's growth is
the latency of the requests answered in that interval, read as Prometheus' histogram_quantile reads
a bucketed histogram (linear within the bucket). A different pid or start time, or a count that went
down, is a restarted API: that step has no figures, never a negative rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from api.request_stats import FORMAT
from monitor.metrics import SeriesKey

PERCENTILES = (("p50", 0.5), ("p99", 0.99))
Buckets = tuple[tuple[float, int], ...]  # (upper bound in seconds, cumulative count), +Inf last


@dataclass(frozen=True)
class Published:
    pid: int
    started_at: float
    written_at: float
    requests: int
    buckets: Buckets

    def same_run(self, other: Published) -> bool:
        return (self.pid, self.started_at) == (other.pid, other.started_at)


def parse(data: object) -> Published:
    """The file's content, checked; ValueError (or KeyError/TypeError) says what is wrong with it."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a format {FORMAT} request figures file")
    raw = data["latency_seconds"]["buckets"]
    buckets = tuple(sorted((float(le), int(count)) for le, count in raw.items()))
    if not buckets or buckets[-1][0] != math.inf:
        raise ValueError("the latency histogram has no +Inf bucket")
    if any(later[1] < earlier[1] for earlier, later in zip(buckets, buckets[1:])):
        raise ValueError("the latency histogram's counts are not cumulative")
    return Published(pid=int(data["pid"]), started_at=float(data["started_at"]),
                     written_at=float(data["written_at"]), requests=int(data["requests"]), buckets=buckets)


def read_published(path: Path) -> Published | str:
    """The figures, or one line saying why there are none (for the time-boxed probe: never raises)."""
    try:
        return parse(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return f"{path} does not exist (is kura-api running with this data directory?)"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"cannot use {path}: {exc}"


def histogram_quantile(q: float, buckets: Sequence[tuple[float, int]]) -> float | None:
    """The q-quantile of cumulative ``buckets`` as Prometheus computes it: linear interpolation
    within the bucket holding the rank (from 0 for the first); in the +Inf bucket, the highest finite
    bound. None without observations."""
    total = buckets[-1][1] if buckets else 0
    if total <= 0 or len(buckets) < 2:
        return None
    rank = q * total
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    end, count = buckets[index]
    if index == 0:
        return end if end <= 0 else end * rank / count
    start, below = buckets[index - 1]
    return start + (end - start) * (rank - below) / (count - below)


def interval_figures(before: Published, after: Published) -> dict[SeriesKey, float]:
    """Rate and percentiles between two readings of one run of kura-api (``after`` is newer)."""
    elapsed = after.written_at - before.written_at
    values: dict[SeriesKey, float] = {("api_requests_per_second", ""): (after.requests - before.requests) / elapsed}
    grown = [(le, count - old) for (le, count), (_, old) in zip(after.buckets, before.buckets, strict=True)]
    for label, q in PERCENTILES:
        seconds = histogram_quantile(q, grown)
        if seconds is not None:
            values[("api_request_latency_ms", label)] = seconds * 1000
    return values


class ApiRequests:
    """Keeps the previous reading and turns each new one into the interval's figures."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._previous: Published | None = None
        self._problem: str | None = None

    def probe(self) -> Published | str:
        return read_published(self.path)

    def update(self, got: Published | str | None) -> dict[SeriesKey, float]:
        """Figures for ``got`` (the probe's answer; None when it timed out): {} when there are none."""
        if isinstance(got, str):
            if self._problem is None:  # once until the file is readable again, not every sample
                logger.warning("no API request rate or latency: {}", got)
            self._problem = got
            return {}
        if got is None:
            return {}
        if self._problem is not None:
            logger.info("API request figures readable again from {}", self.path)
            self._problem = None
        before = self._previous
        if before is not None and got.same_run(before) and got.written_at == before.written_at:
            return {}  # not rewritten since the last sample: wait for the next write
        self._previous = got
        if before is None or not got.same_run(before) or got.requests < before.requests:
            return {}  # the first reading, or a restarted API: its counters began again at zero
        if got.written_at < before.written_at or len(got.buckets) != len(before.buckets):
            return {}  # the API's clock went back, or a file that was edited by hand
        return interval_figures(before, got)
