"""The daemon's own metrics.db connection (plain sqlite3, no SQLAlchemy): same pragmas, same data, same
refusals as common.db; and the running daemon, Sentry on, never loads SQLAlchemy or the web stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from common.db import DatabaseError, open_database
from common.dberrors import StorageUnavailable
from common.sqlite import sqlite3
from monitor.alerts import AlertLog
from monitor.metrics import reading_from
from monitor.metricsdb import open_metrics_db
from monitor.rules import AlertEvent, AlertState
from monitor.store import MetricsStore
from tests.support import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "prometheus_client")


@pytest.fixture
def metrics_db(settings):  # type: ignore[no-untyped-def]
    db = open_metrics_db(settings, path=settings.metrics_db_path)
    yield db
    db.close()


def test_the_daemons_connection_has_the_pragmas_every_kura_connection_has(metrics_db):
    with metrics_db.read() as conn:
        pragmas = {name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


def test_samples_and_alerts_written_by_the_daemon_read_back_through_common_db(settings, metrics_db):
    now = datetime.now(UTC)
    store = MetricsStore(metrics_db)
    store.insert(at=now, reading=reading_from({"cpu_percent": 12.5, ("filesystem_avail_percent", "/"): 40}))
    state = AlertState(rule="memory_low", severity="warning", fired_at=now, last_sent_at=now, message="low")
    AlertLog(metrics_db, settings).record(
        [AlertEvent("alert", "memory_low", "memory_low", "warning", "low", 2.0, now)], {"memory_low": state})
    db = open_database(settings, path=settings.metrics_db_path)
    try:
        with db.read_session() as session:
            values = session.execute(text("SELECT s.name, s.label, x.value FROM series s JOIN samples x "
                                          "ON x.series = s.id ORDER BY s.name")).all()
            active = session.execute(text("SELECT key, message FROM active_alerts")).all()
    finally:
        db.dispose()
    assert values == [("cpu_percent", "", 12.5), ("filesystem_avail_percent", "/", 40.0)]
    assert active == [("memory_low", "low")]
    assert AlertLog(metrics_db, settings).load_active()["memory_low"].message == "low"


def test_a_failed_write_is_rolled_back_whole(metrics_db):
    store = MetricsStore(metrics_db)
    with pytest.raises(ZeroDivisionError), metrics_db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('half', 1)")
        raise ZeroDivisionError
    with metrics_db.read() as conn:
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'half'").fetchone()[0] == 0
    store.insert(at=datetime.now(UTC), reading=reading_from({"load1": 0.5}))  # the connection is still usable


def test_a_commit_that_fails_leaves_no_transaction_open(metrics_db):
    # A deferred foreign key is checked at COMMIT, and SQLite keeps the transaction open when it fails.
    with metrics_db.write() as conn:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError), metrics_db.write() as conn:
        conn.execute("INSERT INTO child VALUES (1)")
    with metrics_db.write() as conn:  # BEGIN again: would fail inside a transaction left open
        conn.execute("INSERT INTO parent VALUES (1)")
    with metrics_db.read() as conn:
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0


def test_a_metrics_file_replaced_under_the_daemon_is_not_written_to(settings, metrics_db):
    store = MetricsStore(metrics_db)
    settings.metrics_db_path.rename(settings.metrics_db_path.with_name("moved.db"))
    with pytest.raises(StorageUnavailable) as caught:
        store.insert(at=datetime.now(UTC), reading=reading_from({"load1": 0.5}))
    assert caught.value.kind == "replaced" and "restart" in caught.value.message


def test_a_directory_in_place_of_metrics_db_is_one_clear_error(settings, tmp_path):
    with pytest.raises(DatabaseError, match="cannot open database"):
        open_metrics_db(settings, path=tmp_path)


def test_the_running_daemon_never_loads_sqlalchemy_or_the_web_stack(tmp_path, notify_socket, sentry):
    """Each of these costs the monitor megabytes of resident memory for life (bench target 50 MB); Sentry's
    integrations would import them, so it runs with Sentry on, and an error after the run still arrives."""
    code = ("import sys; from loguru import logger; from monitor import daemon; rc = daemon.main([]); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))); "
            "logger.error('monitor-sentry-check'); sys.exit(rc)")
    env = {**os.environ, "KURA_DATA_DIR": str(tmp_path / "data"), "KURA_MONITOR_INTERVAL": "0.1",
           "KURA_MONITOR_API_URL": f"http://127.0.0.1:{free_port()}", "PYTHONPATH": ROOT,
           "KURA_SENTRY_DSN": sentry.dsn}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        notify_socket.wait_for(lambda m: m.startswith("READY=1"), timeout_s=60)
        notify_socket.wait_for(lambda m: m.startswith("STATUS="))  # a second sample: steady state
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip().splitlines()[-1] == "[]"
    assert any(b"monitor-sentry-check" in body for body in sentry.bodies)  # sent at exit by the SDK
