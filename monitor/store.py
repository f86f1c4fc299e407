"""metrics.db: raw samples, 5-minute rollups, pruning, alert history, active alerts and the mail queue.

Its own SQLite file, so metrics churn never contends with bookmark writes or lands in the bookmark
backups. The statements run on plain sqlite3 connections (monitor/metricsdb.py): the daemon's own, or
a common.db Database's for the API and tests. The schema is tiny and versioned with
PRAGMA user_version instead of Alembic. Times are integer Unix milliseconds.

Samples are stored one row per (series, time) in a WITHOUT ROWID table keyed by series first: a
week of 10-second samples of ~40 series is a few million rows of ~20 bytes, every range query and
every prune is an index seek per series, and no second index doubles the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from common.db import Database
from common.sqlite import sqlite3
from monitor.metrics import Reading, SeriesKey
from monitor.metricsdb import MetricsDB, SessionDoors, doors

SCHEMA_VERSION = 1
BUCKET_MS = 300_000  # 5-minute rollups
DAY_MS = 86_400_000
PRUNE_BATCH = 5_000  # rows per delete transaction: short writes, no long lock on the file

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT NOT NULL, label TEXT NOT NULL,"
    " UNIQUE (name, label))",
    "CREATE TABLE IF NOT EXISTS samples (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,"
    " PRIMARY KEY (series, ts)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS rollups (series INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
    " min REAL NOT NULL, avg REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (series, bucket)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,"
    " rule TEXT NOT NULL, key TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL, value REAL)",
    "CREATE INDEX IF NOT EXISTS alerts_at ON alerts (at)",
    "CREATE TABLE IF NOT EXISTS active_alerts (key TEXT PRIMARY KEY, rule TEXT NOT NULL,"
    " severity TEXT NOT NULL, fired_at INTEGER NOT NULL, last_sent_at INTEGER NOT NULL, message TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL,"
    " subject TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    " sent_at INTEGER)",
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL",
)


def to_ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


MetricsFile = Database | MetricsDB | SessionDoors


def schema_version(db: MetricsFile) -> int:
    with doors(db).read() as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def ensure_schema(db: MetricsFile) -> None:
    """Create the schema if missing; refuse a metrics.db written by a newer Kura."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"{db.path} has schema version {version}; this Kura knows up to {SCHEMA_VERSION}")
    if version == SCHEMA_VERSION:
        return
    with doors(db).write() as conn:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class MetricsStore:
    """The monitor's writer. One per process; series ids are cached after first use."""

    def __init__(self, db: MetricsFile) -> None:
        self.db = db  # as given: a test holding a common.db Database reads it back with its sessions
        self._doors = doors(db)
        ensure_schema(db)
        self._series: dict[SeriesKey, int] = {}

    def _series_ids(self, conn: sqlite3.Connection, keys: Iterable[SeriesKey]) -> dict[SeriesKey, int]:
        for name, label in keys:
            if (name, label) not in self._series:
                params = {"n": name, "l": label}
                conn.execute("INSERT OR IGNORE INTO series (name, label) VALUES (:n, :l)", params)
                self._series[(name, label)] = conn.execute(
                    "SELECT id FROM series WHERE name = :n AND label = :l", params).fetchone()[0]
        return self._series

    def insert(self, *, at: datetime, reading: Reading) -> None:
        ts = to_ms(at)
        with self._doors.write() as conn:
            ids = self._series_ids(conn, reading.values)
            rows = [{"s": ids[key], "t": ts, "v": value} for key, value in reading.values.items()]
            conn.executemany("INSERT OR REPLACE INTO samples (series, ts, value) VALUES (:s, :t, :v)", rows)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sample_ts', :t)", {"t": ts})

    def _meta(self, conn: sqlite3.Connection, key: str, default: int) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = :k", {"k": key}).fetchone()
        return default if row is None or row[0] is None else int(row[0])

    def rollup(self, *, now: datetime) -> int:
        """Fold every complete 5-minute bucket not yet rolled up into min/avg/max rows."""
        until = to_ms(now) // BUCKET_MS * BUCKET_MS
        with self._doors.write() as conn:
            start = self._meta(conn, "rolled_until", 0)
            if start >= until:
                return 0
            result = conn.execute(
                "INSERT OR REPLACE INTO rollups (series, bucket, n, min, avg, max) "
                "SELECT x.series, x.ts / :b * :b, count(*), min(x.value), avg(x.value), max(x.value) "
                "FROM series s CROSS JOIN samples x ON x.series = s.id AND x.ts >= :start AND x.ts < :until "
                "GROUP BY x.series, x.ts / :b",
                {"b": BUCKET_MS, "start": start, "until": until})
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rolled_until', :u)", {"u": until})
            return max(0, result.rowcount)

    def prune(self, *, now: datetime, raw_days: float, rollup_days: float, max_batches: int = 20) -> int:
        """Delete expired rows a batch at a time; returns how many went. Run it again to finish."""
        now_ms, deleted = to_ms(now), 0
        raw_cut, rollup_cut = now_ms - int(raw_days * DAY_MS), now_ms - int(rollup_days * DAY_MS)
        with self._doors.write() as conn:
            conn.execute("DELETE FROM alerts WHERE at < :c", {"c": rollup_cut})
            conn.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :c", {"c": raw_cut})
            series = [sid for (sid,) in conn.execute("SELECT id FROM series")]
        for table, column, cutoff in (("samples", "ts", raw_cut), ("rollups", "bucket", rollup_cut)):
            for sid in series:
                while True:  # only full batches spend the budget: a series with little to delete is cheap
                    gone = self._delete_batch(table, column, sid, cutoff)
                    deleted += gone
                    if gone < PRUNE_BATCH:
                        break
                    max_batches -= 1
                    if max_batches <= 0:
                        return deleted
        return deleted

    def _delete_batch(self, table: str, column: str, series: int, cutoff: int) -> int:
        with self._doors.write() as conn:
            last = conn.execute(
                f"SELECT {column} FROM {table} WHERE series = :s AND {column} < :c "
                f"ORDER BY {column} LIMIT 1 OFFSET {PRUNE_BATCH - 1}", {"s": series, "c": cutoff}).fetchone()
            upper = cutoff if last is None else last[0] + 1
            result = conn.execute(f"DELETE FROM {table} WHERE series = :s AND {column} < :u",
                                  {"s": series, "u": upper})
            return max(0, result.rowcount)
