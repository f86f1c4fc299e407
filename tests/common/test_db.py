"""The SQLite opener: pragmas read back, refused when they do not take, BEGIN IMMEDIATE for writes,
writers serialised, and a ping that notices a broken file."""

from __future__ import annotations

import contextvars
import platform
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from common import db as dbmod
from common import timing
from common.db import Database, DatabaseError, apply_pragmas, open_database, sqlite_version_check
from common.settings import Settings, load_settings
from common.sqlite import BUNDLED, sqlite3


@pytest.fixture
def logged() -> Iterator[list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    sink = logger.add(lambda m: lines.append((m.record["level"].name, str(m.record["message"]))), level="DEBUG")
    yield lines
    logger.remove(sink)


def pragmas(database: Database) -> dict[str, object]:
    with database.engine.connect() as conn:
        return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}


def test_every_connection_gets_the_pragmas(db: Database) -> None:
    assert pragmas(db) == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 5000}


def test_the_pool_hands_out_the_connection_given_back_last(db: Database) -> None:
    first, second = db.engine.raw_connection(), db.engine.raw_connection()
    raws = first.driver_connection, second.driver_connection
    first.close()
    second.close()  # given back last: handed out next, so its page cache stays the warm one
    again = db.engine.raw_connection()
    try:
        assert again.driver_connection is raws[1]
    finally:
        again.close()


def test_full_synchronous_and_busy_timeout_come_from_settings(tmp_path: Path) -> None:
    database = open_database(load_settings(data_dir=tmp_path, sqlite_synchronous="FULL", sqlite_busy_timeout_ms=750),
                             create=True)
    try:
        assert pragmas(database) == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 750}
    finally:
        database.dispose()


def test_a_pragma_that_does_not_take_is_refused() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)  # an in-memory database cannot use WAL
    try:
        with pytest.raises(DatabaseError, match="PRAGMA journal_mode is 'memory', expected 'wal'; refusing"):
            apply_pragmas(conn, synchronous="NORMAL", busy_timeout_ms=5000)
    finally:
        conn.close()


def test_opening_a_file_that_is_not_a_database_fails_with_its_path(tmp_path: Path, settings: Settings) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(DatabaseError, match=f"cannot open database {junk}"):
        open_database(settings, path=junk)


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        with db.write_session() as session:
            session.execute(text("INSERT INTO api_tokens (user_id, label, token_hash, created_at) "
                                 "VALUES (999, 'x', 'h', 0)"))


def test_write_sessions_begin_immediate_and_read_sessions_do_not(db: Database) -> None:
    seen: list[str] = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with db.read_session() as session:
            session.execute(text("SELECT count(*) FROM users"))
        with db.write_session() as session:
            session.execute(text("SELECT count(*) FROM users"))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]


def test_a_write_session_holds_the_write_lock_from_its_first_statement(db: Database) -> None:
    other = sqlite3.connect(db.path, timeout=0, isolation_level=None)
    try:
        with db.write_session() as session:
            session.execute(text("SELECT 1"))  # reads nothing, yet the file is already reserved
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released on commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_failed_write_session_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        with db.write_session() as session:
            session.execute(text("INSERT INTO users (name, is_admin, created_at) VALUES ('ghost', 0, 0)"))
            raise RuntimeError("boom")
    with db.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_two_writers_on_one_file_are_serialised(tmp_path: Path) -> None:
    """Two Database objects stand in for two processes; read-modify-write never loses an update."""
    settings = load_settings(data_dir=tmp_path)
    first, second = open_database(settings, create=True), open_database(settings)
    with first.write_session() as session:
        session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))

    def bump(database: Database) -> None:
        for _ in range(15):
            with database.write_session() as session:
                n = session.execute(text("SELECT n FROM counter")).scalar_one()
                time.sleep(0.001)  # widen the window a deferred BEGIN would lose an update in
                session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=bump, args=(d,)) for d in (first, second, first, second)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with first.read_session() as session:
            assert session.execute(text("SELECT n FROM counter")).scalar_one() == 60
    finally:
        first.dispose()
        second.dispose()


def test_ping_answers_for_a_good_file_and_not_for_a_missing_or_broken_one(db: Database) -> None:
    assert db.ping()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    good = db.path.read_bytes()
    db.path.write_bytes(b"garbage" * 1000)
    assert not db.ping()
    db.path.unlink()
    assert not db.ping()
    assert not db.path.exists(), "a ping must never create an empty database"
    db.path.write_bytes(good)
    assert db.ping()


def test_an_old_sqlite_is_one_warning_line_that_says_which_package_and_version_fix_it(
    logged: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sqlite_version_check() == sqlite3.sqlite_version
    monkeypatch.setattr(dbmod.sqlite3, "sqlite_version_info", (3, 40, 1))
    sqlite_version_check()
    monkeypatch.setattr(dbmod.sqlite3, "sqlite_version_info", (3, 51, 3))
    sqlite_version_check()
    level, warning = logged[-2]
    assert level == "WARNING" and "older than 3.51.3" in warning and "\n" not in warning
    assert "libsqlite3-0" in warning and "to 3.51.3 or later" in warning and "restart Kura" in warning
    source = "bundled" if BUNDLED else "the system's"
    assert logged[-1] == ("INFO", f"SQLite {sqlite3.sqlite_version} ({source})")


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the pysqlite3 wheel is built for x86_64 only")
def test_kura_runs_its_bundled_sqlite_which_has_the_wal_reset_fix() -> None:
    assert BUNDLED and sqlite3.__name__ == "pysqlite3.dbapi2"
    assert sqlite3.sqlite_version_info >= dbmod.MIN_SQLITE
    with sqlite3.connect(":memory:") as conn:  # the library really loaded, not just the module's claim
        assert conn.execute("SELECT sqlite_version()").fetchone()[0] == sqlite3.sqlite_version


def test_the_engine_speaks_the_bundled_module_so_its_errors_are_sqlalchemys(db: Database) -> None:
    with db.engine.connect() as conn:
        assert type(conn.connection.driver_connection) is sqlite3.Connection
    with pytest.raises(IntegrityError), db.write_session() as session:  # a driver error SQLAlchemy knows
        session.execute(text("INSERT INTO users (id, name) VALUES (1, 'a'), (1, 'b')"))


def test_slow_sql_is_logged_at_warning_in_a_request_only(tmp_path: Path, logged: list[tuple[str, str]]) -> None:
    database = open_database(load_settings(data_dir=tmp_path, slow_sql_ms=0.000001), create=True)

    def select(number: int, route: str | None) -> None:
        if route is not None:
            timing.start(route)  # what the API's middleware does for each request
        with database.read_session() as session:
            session.execute(text(f"SELECT {number}"))

    try:
        contextvars.copy_context().run(select, 42, "GET /api/v1/bookmarks")
        contextvars.copy_context().run(select, 43, None)  # a CLI's or a backup's statement
    finally:
        database.dispose()
    slow = [msg for level, msg in logged if level == "WARNING" and "slow SQL" in msg and "SELECT 4" in msg]
    assert len(slow) == 1 and "route GET /api/v1/bookmarks" in slow[0] and "SELECT 42" in slow[0]
