"""metrics.db: samples, 5-minute rollups and batched pruning over a simulated week (injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from common.db import open_database
from monitor import store as store_module
from monitor.metrics import reading_from
from monitor.store import MetricsStore, ensure_schema, schema_version

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday at midnight: bucket-aligned


@pytest.fixture
def metrics(settings):  # type: ignore[no-untyped-def]
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    yield MetricsStore(db)
    db.dispose()


def count(store, table):  # type: ignore[no-untyped-def]
    with store.db.read_session() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_schema_is_versioned_and_created_once(metrics):
    assert schema_version(metrics.db) == store_module.SCHEMA_VERSION
    ensure_schema(metrics.db)  # idempotent
    assert schema_version(metrics.db) == store_module.SCHEMA_VERSION


def test_a_newer_schema_is_refused(metrics):
    with metrics.db.write_session() as session:
        session.execute(text("PRAGMA user_version = 99"))
    with pytest.raises(RuntimeError, match="schema version 99"):
        ensure_schema(metrics.db)


def test_samples_are_stored_per_series(metrics):
    metrics.insert(at=T0, reading=reading_from({"cpu_percent": 5, ("filesystem_avail_percent", "/"): 40}))
    metrics.insert(at=T0 + timedelta(seconds=10), reading=reading_from({"cpu_percent": 7}))
    with metrics.db.read_session() as session:
        rows = session.execute(text(
            "SELECT s.name, s.label, x.ts, x.value FROM samples x JOIN series s ON s.id = x.series "
            "ORDER BY x.ts, s.name")).all()
    t0 = int(T0.timestamp() * 1000)
    assert [tuple(r) for r in rows] == [("cpu_percent", "", t0, 5.0), ("filesystem_avail_percent", "/", t0, 40.0),
                                        ("cpu_percent", "", t0 + 10_000, 7.0)]


def test_rollup_keeps_min_avg_max_of_complete_buckets_only(metrics):
    for i, value in enumerate([10, 20, 60, 30]):  # 0, 2, 4, 6 minutes: two in each 5-minute bucket... and one
        metrics.insert(at=T0 + timedelta(minutes=2 * i), reading=reading_from({"cpu_percent": value}))
    assert metrics.rollup(now=T0 + timedelta(minutes=7)) == 1  # the bucket 5-10 min is not complete yet
    with metrics.db.read_session() as session:
        row = session.execute(text("SELECT bucket, n, min, avg, max FROM rollups")).one()
    assert tuple(row) == (int(T0.timestamp() * 1000), 3, 10.0, 30.0, 60.0)
    assert metrics.rollup(now=T0 + timedelta(minutes=9)) == 0  # nothing new to fold
    assert metrics.rollup(now=T0 + timedelta(minutes=10)) == 1
    assert count(metrics, "rollups") == 2


def test_a_simulated_week_is_rolled_up_and_pruned_in_batches(metrics, monkeypatch):
    monkeypatch.setattr(store_module, "PRUNE_BATCH", 50)  # small batches so the week needs many of them
    days, per_day = 8, 24 * 6  # one sample every 10 minutes, rolled up after each as the daemon does
    now = T0
    for i in range(days * per_day):
        now = T0 + timedelta(minutes=10 * i)
        metrics.insert(at=now, reading=reading_from({"cpu_percent": i % 100, ("filesystem_avail_percent", "/"): 50}))
        metrics.rollup(now=now)
    assert count(metrics, "samples") == 2 * days * per_day
    assert count(metrics, "rollups") == 2 * (days * per_day - 1)  # the newest bucket is still open
    # Raw samples kept 2 days, rollups 7: each pass stops at its budget of full batches; passes finish it.
    passes = []
    while deleted := metrics.prune(now=now, raw_days=2, rollup_days=7, max_batches=5):
        passes.append(deleted)
    assert len(passes) > 1 and passes[0] == 5 * 50
    with metrics.db.read_session() as session:
        oldest_raw = session.execute(text("SELECT min(ts) FROM samples")).scalar_one()
        oldest_rollup = session.execute(text("SELECT min(bucket) FROM rollups")).scalar_one()
    assert oldest_raw == int((now - timedelta(days=2)).timestamp() * 1000)
    assert oldest_rollup == int((now - timedelta(days=7)).timestamp() * 1000)
    assert count(metrics, "samples") == 2 * (2 * per_day + 1)
    assert count(metrics, "rollups") == 2 * (7 * per_day)
    assert sum(passes) == 2 * days * per_day - 2 * (2 * per_day + 1) + 2 * (days * per_day - 1) - 2 * 7 * per_day


def test_rolled_up_averages_match_the_raw_samples(metrics):
    values = [3, 9, 27, 81, 243]
    for i, value in enumerate(values):
        metrics.insert(at=T0 + timedelta(minutes=i), reading=reading_from({"load1": value}))
    metrics.rollup(now=T0 + timedelta(minutes=5))
    with metrics.db.read_session() as session:
        assert session.execute(text("SELECT avg FROM rollups")).scalar_one() == pytest.approx(sum(values) / 5)
