"""kura-api publishes its request figures for the monitor: while it serves, at shutdown, and without
failing when the data directory cannot take the file."""

from __future__ import annotations

import asyncio
import json
import math
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.request_metrics import RequestMetrics
from api.request_stats import Publisher, publish_request_stats, stats_path
from common.settings import Settings


def published(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_bytes())


def test_the_last_figures_are_on_disk_when_the_api_stops(app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        for _ in range(7):
            assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/tokens").status_code == 401
    figures = published(stats_path(settings))
    assert figures["requests"] == 8 and figures["by_status_class"] == {"2xx": 7, "4xx": 1}
    buckets = figures["latency_seconds"]["buckets"]
    assert buckets["+Inf"] == 8 and list(buckets)[-1] == "+Inf" and figures["latency_seconds"]["sum"] > 0
    assert figures["pid"] == os.getpid() and figures["written_at"] >= figures["started_at"]
    assert [p.name for p in settings.data_dir.iterdir() if p.name.startswith(".tmp-")] == []


def test_the_figures_are_rewritten_while_the_api_serves(tmp_path: Path) -> None:
    metrics, path = RequestMetrics(), tmp_path / "api-requests.json"

    async def file_shows(count: int) -> None:
        for _ in range(2000):  # up to ~20 s on a busy machine; a few rounds usually
            if path.exists() and published(path)["requests"] == count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the file never showed {count} requests")

    async def serve() -> None:
        task = asyncio.create_task(publish_request_stats(Publisher(metrics, path), every_s=0.01))
        try:
            for count in (3, 7):
                while metrics.totals().requests < count:
                    metrics.observe(method="GET", route="/x", status=200, seconds=0.001)
                await file_shows(count)
            assert not task.done(), "the writer stopped"
        finally:
            task.cancel()
            await asyncio.wait([task])

    asyncio.run(serve())


def test_a_data_dir_it_cannot_write_is_one_warning_and_no_error(tmp_path: Path, warnings_logged: list[str]) -> None:
    path = tmp_path / "missing" / "api-requests.json"
    publisher = Publisher(RequestMetrics(), path)
    assert not publisher.publish() and not publisher.publish()
    assert len(warnings_logged) == 1 and "cannot write" in warnings_logged[0]
    path.parent.mkdir()
    assert publisher.publish() and path.exists()
    path.unlink()
    path.mkdir()  # a directory in the file's place: even root cannot replace it
    assert not publisher.publish()
    assert len(warnings_logged) == 2  # a new failure after a success warns again
    assert [p.name for p in path.parent.iterdir()] == ["api-requests.json"]  # no temp file left behind


def test_totals_sum_every_route_method_and_status_as_prometheus_collects_them() -> None:
    metrics = RequestMetrics()
    metrics.observe(method="GET", route="/a", status=200, seconds=0.004)
    metrics.observe(method="POST", route="/b", status=201, seconds=0.3)
    metrics.observe(method="GET", route="/a", status=404, seconds=20.0)
    for index in range(40):
        metrics.observe(method="GET", route=f"/r{index % 7}", status=(200, 304, 500)[index % 3], seconds=index / 20)
    totals = metrics.totals()
    assert totals.requests == 43 and totals.by_class == {"2xx": 16, "3xx": 13, "4xx": 1, "5xx": 13}
    counts = dict(totals.buckets)
    assert (counts[0.005], counts[0.3], counts[math.inf]) == (2, 9, 43)
    # totals() reads prometheus_client's values directly; the library's own collect() agrees.
    collected: dict[float, float] = {}
    seconds = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                collected[float(sample.labels["le"])] = collected.get(float(sample.labels["le"]), 0) + sample.value
            elif sample.name.endswith("_sum"):
                seconds += sample.value
    assert counts == collected and totals.seconds_sum == pytest.approx(seconds)
