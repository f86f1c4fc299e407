"""The API's own request counts and latency histogram, for GET /metrics (api/edge.py observes them).

Routes are labelled by their template ("/api/v1/bookmarks/{bookmark_id}"), never the raw
path, so a scan of random URLs cannot blow up the number of series; unmatched paths share one label.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


UNMATCHED = "<unmatched>"
# Seconds; dense below the 200 ms / 500 ms P95 / P99 targets, where the interesting changes happen.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Totals:
    """Every label set summed: the figures api/request_stats.py publishes for kura-monitor."""

    by_class: dict[str, int]  # "2xx": 120, "4xx": 3
    buckets: tuple[tuple[float, int], ...]  # cumulative counts by upper bound (seconds), +Inf last
    seconds_sum: float

    @property
    def requests(self) -> int:
        return sum(self.by_class.values())


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["method", "route", "status"]
        self.requests = Counter("kura_http_requests", "HTTP requests answered by the API", labels,
                                registry=self.registry)
        self.latency = Histogram("kura_http_request_duration_seconds", "Time to answer an HTTP request", labels,
                                 buckets=BUCKETS, registry=self.registry)
        # Bounded like the label sets themselves: routes are templates, statuses a short list.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, status)
        children = self._children.get(labels)
        if children is None:  # prometheus_client's labels() lookup costs more than the counting
            as_text = (method, route, str(status))
            children = self._children[labels] = (self.requests.labels(*as_text), self.latency.labels(*as_text))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def totals(self) -> Totals:
        """The counters summed over routes and methods (api/request_stats.py reads them every few seconds).

        Read from the children's values directly: prometheus_client's collect() builds a labelled
        sample per bucket per label set, about 100 times the work, all of it on the event loop.
        tests/api/test_request_stats.py checks these sums against collect()'s."""
        by_class: dict[str, int] = {}
        per_bucket = [0.0] * (len(BUCKETS) + 1)  # the histogram keeps a count per bucket, +Inf last
        seconds = 0.0
        for (_, _, status), (counter, histogram) in list(self._children.items()):
            status_class = f"{status // 100}xx"
            by_class[status_class] = by_class.get(status_class, 0) + int(counter._value.get())
            for index, bucket in enumerate(histogram._buckets):
                per_bucket[index] += bucket.get()
            seconds += histogram._sum.get()
        cumulative = itertools.accumulate(int(count) for count in per_bucket)
        return Totals(by_class=by_class, buckets=tuple(zip((*BUCKETS, math.inf), cumulative, strict=True)),
                      seconds_sum=seconds)
