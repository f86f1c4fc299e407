"""The API's request rate and latency: kura-api's real writer publishes its figures in a file, the
monitor reads them into rates and percentiles, stores them, and rolls them up like every series."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.live import LiveApi, call
from api.request_metrics import RequestMetrics
from api.request_stats import Publisher, stats_path
from domain import migrate
from common.db import open_database
from common.settings import load_settings
from monitor import query
from monitor.api_requests import ApiRequests, Published, histogram_quantile
from monitor.metrics import Reading
from monitor.sources import PsutilSource
from monitor.store import MetricsStore


class Clock:
    """Unix seconds that move only when told: the writer's start and write times."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def serve(metrics: RequestMetrics, *latencies: tuple[int, float], status: int = 200) -> None:
    """Count requests as api/edge.py does: ``(how many, seconds each)``."""
    for count, seconds in latencies:
        for _ in range(count):
            metrics.observe(method="GET", route="/api/v1/bookmarks", status=status, seconds=seconds)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "api-requests.json"


def test_the_rate_and_percentiles_come_from_the_growth_between_two_writes(path: Path) -> None:
    metrics, clock = RequestMetrics(), Clock()
    writer, reader = Publisher(metrics, path, clock=clock), ApiRequests(path)
    serve(metrics, (5, 3.0))  # before the first reading: in neither the rate nor the percentiles
    writer.publish()
    assert reader.update(reader.probe()) == {}  # one reading is no interval yet
    serve(metrics, (60, 0.003), (38, 0.015), (2, 0.15))
    clock.now += 10
    writer.publish()
    figures = reader.update(reader.probe())
    assert figures[("api_requests_per_second", "")] == pytest.approx(10.0)
    # p50: rank 50 of the 60 in the first bucket (0-5 ms) → 5 × 50/60; p99: rank 99 is half way
    # through the 100-200 ms bucket, which holds the last 2 of 100.
    assert figures[("api_request_latency_ms", "p50")] == pytest.approx(5 * 50 / 60)
    assert figures[("api_request_latency_ms", "p99")] == pytest.approx(150.0)


def test_an_interval_without_requests_is_a_zero_rate_and_no_latency(path: Path) -> None:
    metrics, clock = RequestMetrics(), Clock()
    writer, reader = Publisher(metrics, path, clock=clock), ApiRequests(path)
    serve(metrics, (10, 0.01))
    writer.publish()
    reader.update(reader.probe())
    clock.now += 10
    writer.publish()
    assert reader.update(reader.probe()) == {("api_requests_per_second", ""): 0.0}


def test_a_restarted_api_gives_no_figures_for_that_step_then_rates_again(path: Path) -> None:
    clock = Clock()
    first = RequestMetrics()
    serve(first, (500, 0.01))
    reader = ApiRequests(path)
    Publisher(first, path, clock=clock).publish()
    reader.update(reader.probe())
    clock.now += 10
    second = RequestMetrics()  # a new kura-api: counters from zero, a later start time
    restarted = Publisher(second, path, clock=clock)
    serve(second, (3, 0.01))
    restarted.publish()
    assert reader.update(reader.probe()) == {}  # the count went down: no rate, never a negative one
    serve(second, (20, 0.01))
    clock.now += 5
    restarted.publish()
    assert reader.update(reader.probe())[("api_requests_per_second", "")] == pytest.approx(4.0)


def test_a_restart_that_already_counted_more_is_still_a_restart(path: Path) -> None:
    clock, reader = Clock(), ApiRequests(path)
    Publisher(RequestMetrics(), path, clock=clock).publish()
    reader.update(reader.probe())
    busy = RequestMetrics()
    serve(busy, (1000, 0.01))
    clock.now += 10
    Publisher(busy, path, clock=clock).publish()  # its start time differs: the 1000 are not this interval's
    assert reader.update(reader.probe()) == {}


def test_a_file_not_rewritten_since_the_last_sample_waits_for_the_next_write(path: Path) -> None:
    metrics, clock = RequestMetrics(), Clock()
    writer, reader = Publisher(metrics, path, clock=clock), ApiRequests(path)
    writer.publish()
    reader.update(reader.probe())
    serve(metrics, (30, 0.01))
    assert reader.update(reader.probe()) == {}  # the monitor sampled twice between two writes
    clock.now += 20
    writer.publish()
    assert reader.update(reader.probe())[("api_requests_per_second", "")] == pytest.approx(1.5)


def test_a_missing_or_unreadable_file_is_no_sample_and_one_warning_until_it_is_back(
        path: Path, warnings_logged: list[str]) -> None:
    reader = ApiRequests(path)
    assert reader.update(reader.probe()) == {}
    assert reader.update(reader.probe()) == {}
    path.write_text('{"format": 1, "pid": "half a wr')
    assert reader.update(reader.probe()) == {}
    assert len(warnings_logged) == 1 and "does not exist" in warnings_logged[0]
    Publisher(RequestMetrics(), path).publish()
    assert reader.update(reader.probe()) == {}  # readable again: the first reading of an interval
    path.write_text("[]")
    assert reader.update(reader.probe()) == {}
    assert len(warnings_logged) == 2 and "not a format 1" in warnings_logged[1]


def test_prometheus_quantile_rules_at_the_edges() -> None:
    inf = float("inf")
    assert histogram_quantile(0.5, [(0.1, 0), (inf, 0)]) is None
    assert histogram_quantile(0.99, [(0.1, 1), (1.0, 1), (inf, 100)]) == 1.0  # in +Inf: the highest bound
    assert histogram_quantile(0.5, [(0.1, 4), (inf, 4)]) == pytest.approx(0.05)  # the first bucket starts at 0
    assert histogram_quantile(0.5, [(0.1, 2), (0.3, 6), (inf, 6)]) == pytest.approx(0.15)


def test_the_monitor_samples_stores_and_rolls_up_the_api_figures(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", monitor_api_url="http://127.0.0.1:9")
    settings.data_dir.mkdir(parents=True)
    metrics, clock = RequestMetrics(), Clock()
    writer, source = Publisher(metrics, stats_path(settings), clock=clock), PsutilSource(settings)
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    store, now = MetricsStore(db), datetime.now(UTC)
    bucket_start = datetime.fromtimestamp((now.timestamp() - 1800) // 300 * 300, tz=UTC)
    try:
        for step in range(3):
            serve(metrics, (20, 0.004), (10, 0.04))
            writer.publish()
            clock.now += 10
            reading = source.read()
            store.insert(at=bucket_start + timedelta(seconds=10 * step), reading=api_part(reading))
        assert reading.get("api_requests_per_second") == pytest.approx(3.0)
        store.rollup(now=now)
        week = {name: query.series(db, metric=name, since=now - timedelta(days=7), until=now, step_s=None,
                                   settings=settings)
                for name in ("api_requests_per_second", "api_request_latency_ms")}
    finally:
        db.dispose()
    assert week["api_requests_per_second"]["resolution"] == "rollup"
    [rate] = week["api_requests_per_second"]["series"]
    assert [round(p[1], 6) for p in rate["points"]] == [3.0]  # both intervals in one 5-minute bucket
    latency = {s["labels"]["percentile"]: s["points"] for s in week["api_request_latency_ms"]["series"]}
    assert sorted(latency) == ["p50", "p99"]
    # 20 at 4 ms (the 0-5 ms bucket), 10 at 40 ms (25-50 ms) each interval, interpolated in the bucket
    assert latency["p50"][0][1] == pytest.approx(5 * 15 / 20)
    assert latency["p99"][0][1] == pytest.approx(25 + 25 * 9.7 / 10)
    assert os.stat(stats_path(settings)).st_mode & 0o777 == 0o600  # the data dir's files stay private


def api_part(reading: Reading) -> Reading:
    return Reading(values={k: v for k, v in reading.values.items() if k[0].startswith("api_request")})


@pytest.mark.slow  # two starts of kura-api, a few seconds each
def test_a_real_kura_api_leaves_its_figures_at_shutdown_and_a_restart_is_seen(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    db = open_database(settings, create=True)
    migrate.upgrade(db)
    db.dispose()
    api = LiveApi(settings.data_dir, tmp_path / "kura-api.log", measured=False)
    reader = ApiRequests(stats_path(settings))
    runs: list[Published] = []
    for _ in range(2):
        api.start()
        for _ in range(5):
            assert call(api.port, "GET", "/healthz").status == 200
        assert api.stop() == 0
        got = reader.probe()
        assert isinstance(got, Published), got
        assert reader.update(got) == {}  # the first run's only reading; then a new run: no step
        runs.append(got)
    first, second = runs
    assert first.pid != second.pid and second.started_at > first.started_at
    assert first.requests >= 5 and first.buckets[-1][1] == first.requests  # its /readyz polls count too
