"""The monitor's read-only view for the API: metrics.db's graph series, latest sample and alert history,
and the catalogue of metric names. The API reads the monitor only through here.

The API never creates or migrates metrics.db: when the monitor has not written one yet, every
question here has an empty answer rather than an error.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from common.db import Database, file_identity, open_database
from common.errors import BadRequest
from common.settings import Settings
from monitor.metrics import METRICS
from monitor.store import BUCKET_MS, SCHEMA_VERSION, schema_version, to_ms

__all__ = ["METRICS", "MetricsReader", "alert_history", "latest", "plan", "series"]

RAW_MAX_RANGE = timedelta(hours=6)  # longer ranges read the 5-minute rollups
TARGET_POINTS = 720  # per series when the caller gives no step: enough for any graph's width
MAX_POINTS = 10_000


class MetricsReader:
    """metrics.db for reading, opened on first use and kept open: one per API process, not one per
    request or scrape (an open is an engine, a connection and the pragma checks).

    ``db()`` is None while the file is absent or its schema is not (yet) this Kura's, and asks again on
    the next call, as a fresh open did. A file deleted or replaced under us (a new inode) is let go and
    the new one opened; the inode cannot be reused meanwhile, as the pool keeps the old file open.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._db: Database | None = None
        self._identity: tuple[int, int] | None = None

    def db(self) -> Database | None:
        path = self.settings.metrics_db_path
        with self._lock:
            identity = file_identity(path)
            if identity is None:
                self._close()
                return None
            if self._db is None or self._identity != identity:
                self._close()
                # One kept connection; a burst of reads opens extra ones (-1: no cap) rather than
                # waiting for the pool, as the per-request opens never waited.
                self._db = open_database(self.settings, path=path, pool_size=1, max_overflow=-1)
                self._identity = identity
            db = self._db
        return db if schema_version(db) == SCHEMA_VERSION else None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._db is not None:
            self._db.dispose()
        self._db, self._identity = None, None


@dataclass(frozen=True)
class Plan:
    table: str  # "samples" or "rollups"
    step_ms: int | None  # None: raw rows as stored


def plan(*, since: datetime, until: datetime, step_s: float | None, now: datetime, settings: Settings) -> Plan:
    span_ms = to_ms(until) - to_ms(since)
    raw_kept_from = now - timedelta(days=settings.monitor_raw_retention_days)
    if until - since <= RAW_MAX_RANGE and since >= raw_kept_from:
        step_ms = None if step_s is None else max(1, int(step_s * 1000))
        if step_ms is None and span_ms / (settings.monitor_interval * 1000) > TARGET_POINTS:
            step_ms = math.ceil(span_ms / TARGET_POINTS)
        result = Plan("samples", step_ms)
    else:
        wanted = step_s * 1000 if step_s is not None else span_ms / TARGET_POINTS
        result = Plan("rollups", max(1, math.ceil(wanted / BUCKET_MS)) * BUCKET_MS)
    if result.step_ms is not None and span_ms / result.step_ms > MAX_POINTS:
        raise BadRequest(f"step is too small for this range: at most {MAX_POINTS} points per series",
                         details={"min_step": math.ceil(span_ms / MAX_POINTS) / 1000})
    return result


def _series_sql(p: Plan) -> str:
    if p.table == "samples" and p.step_ms is None:
        return ("SELECT s.label, x.ts AS at, x.value AS avg, x.value AS min, x.value AS max FROM series s "
                "CROSS JOIN samples x ON x.series = s.id AND x.ts >= :since AND x.ts < :until "
                "WHERE s.name = :name ORDER BY s.label, at")
    if p.table == "samples":
        return ("SELECT s.label, x.ts / :step * :step AS at, avg(x.value) AS avg, min(x.value) AS min, "
                "max(x.value) AS max FROM series s "
                "CROSS JOIN samples x ON x.series = s.id AND x.ts >= :since AND x.ts < :until "
                "WHERE s.name = :name GROUP BY s.label, at ORDER BY s.label, at")
    return ("SELECT s.label, r.bucket / :step * :step AS at, sum(r.avg * r.n) / sum(r.n) AS avg, min(r.min) AS min, "
            "max(r.max) AS max FROM series s "
            "CROSS JOIN rollups r ON r.series = s.id AND r.bucket >= :since AND r.bucket < :until "
            "WHERE s.name = :name GROUP BY s.label, at ORDER BY s.label, at")


def series(db: Database | None, *, metric: str, since: datetime, until: datetime, step_s: float | None,
           settings: Settings, now: datetime | None = None) -> dict:  # type: ignore[type-arg]
    """One metric's series between ``since`` and ``until`` as ``[t, avg, min, max]`` points."""
    if metric not in METRICS:
        raise BadRequest(f"unknown metric {metric!r}", details={"known": sorted(METRICS)})
    if since >= until:
        raise BadRequest("since must be before until")
    p = plan(since=since, until=until, step_s=step_s, now=now or datetime.now(UTC), settings=settings)
    out: dict[str, dict] = {}  # type: ignore[type-arg]
    if db is not None:
        with db.read_session() as session:
            rows = session.execute(text(_series_sql(p)), {"name": metric, "since": to_ms(since),
                                                          "until": to_ms(until), "step": p.step_ms}).all()
        label_name = METRICS[metric].label
        for row in rows:
            entry = out.setdefault(row.label, {"labels": {label_name: row.label} if label_name else {}, "points": []})
            entry["points"].append([row.at / 1000, row.avg, row.min, row.max])
    return {
        "metric": metric, "help": METRICS[metric].help,
        "since": since, "until": until,
        "step": None if p.step_ms is None else p.step_ms / 1000,
        "resolution": "raw" if p.table == "samples" else "rollup",
        "columns": ["t", "avg", "min", "max"],
        "series": list(out.values()),
    }


def latest(db: Database | None) -> tuple[float | None, list[tuple[str, str, float]]]:
    """The newest sample's time (Unix seconds) and its values; series absent from it are gone."""
    if db is None:
        return None, []
    with db.read_session() as session:
        ts = session.execute(text("SELECT value FROM meta WHERE key = 'last_sample_ts'")).scalar()
        if ts is None:
            return None, []
        rows = session.execute(text(
            "SELECT s.name, s.label, x.value FROM series s CROSS JOIN samples x ON x.series = s.id AND x.ts = :t "
            "ORDER BY s.name, s.label"), {"t": ts}).all()
    return ts / 1000, [(r.name, r.label, r.value) for r in rows]


def alert_history(db: Database | None, *, since: datetime | None, limit: int) -> dict:  # type: ignore[type-arg]
    if db is None:
        return {"active": [], "history": []}
    with db.read_session() as session:
        active = session.execute(text(
            "SELECT key, rule, severity, fired_at, last_sent_at, message FROM active_alerts ORDER BY fired_at")).all()
        history = session.execute(text(
            "SELECT id, at, kind, rule, key, severity, message, value FROM alerts WHERE at >= :since "
            "ORDER BY at DESC, id DESC LIMIT :limit"), {"since": to_ms(since) if since else 0, "limit": limit}).all()
    when = lambda ms: datetime.fromtimestamp(ms / 1000, tz=UTC)  # noqa: E731
    return {
        "active": [{"key": r.key, "rule": r.rule, "severity": r.severity, "fired_at": when(r.fired_at),
                    "last_sent_at": when(r.last_sent_at), "message": r.message} for r in active],
        "history": [{"id": r.id, "at": when(r.at), "kind": r.kind, "rule": r.rule, "key": r.key,
                     "severity": r.severity, "message": r.message, "value": r.value} for r in history],
    }
