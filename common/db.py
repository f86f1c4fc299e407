"""The one place that opens SQLite.

Every connection gets the same pragmas and we read them back, as Litestream does, because a pragma
that silently did not take (journal_mode on a read-only directory, say) loses durability without a
word. Writes are serialised in-process by a lock and across processes by ``BEGIN IMMEDIATE``, so a
writer never discovers half-way through a transaction that it cannot upgrade its lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from common.dberrors import StorageUnavailable, WriteBusy, storage_errors
from common.settings import Settings
from common.sqlite import BUNDLED, sqlite3

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

# SQLAlchemy is imported where an engine is made, not here: kura-monitor opens metrics.db on plain
# sqlite3 connections with apply_pragmas below and would otherwise carry ~17 MB of SQLAlchemy for life.

MIN_SQLITE = (3, 51, 3)  # the release with the WAL-reset fix


class DatabaseError(RuntimeError):
    """The database could not be opened as Kura requires."""


def sqlite_version_check() -> str:
    """Log the SQLite library version; warn when it predates the WAL-reset fix."""
    version = sqlite3.sqlite_version
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        # Said once per start, with what fixes it: the bug needs two processes writing at once.
        logger.warning(
            "SQLite {} is older than 3.51.3, which fixes a rare WAL-reset corruption when two processes "
            "write at once, and Kura's bundled SQLite (the pysqlite3 wheel) is not built for this machine: "
            "upgrade the package your Python's sqlite3 links (Debian: libsqlite3-0) to 3.51.3 or later, "
            "then restart Kura",
            version,
        )
    else:
        logger.info("SQLite {} ({})", version, "bundled" if BUNDLED else "the system's")
    return version


def apply_pragmas(dbapi_conn: sqlite3.Connection, *, synchronous: str, busy_timeout_ms: int) -> None:
    """Set Kura's pragmas on a raw connection and refuse it if any did not take."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {synchronous}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA temp_store = MEMORY")
        expected = {
            "journal_mode": "wal",
            "synchronous": {"NORMAL": 1, "FULL": 2}[synchronous],
            "foreign_keys": 1,
            "busy_timeout": int(busy_timeout_ms),
        }
        for name, want in expected.items():
            got = cur.execute(f"PRAGMA {name}").fetchone()[0]
            if got != want:
                raise DatabaseError(f"PRAGMA {name} is {got!r}, expected {want!r}; refusing to run")
    finally:
        cur.close()


class ObservedConnection:
    """A plain connection whose `execute` tells the hooks (statement, parameters) first."""

    def __init__(self, conn: sqlite3.Connection, hooks: list[Callable[[str, Sequence[Any]], None]]) -> None:
        self.conn, self.hooks = conn, hooks

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        for hook in self.hooks:
            hook(statement, parameters)
        return self.conn.execute(statement, parameters)


@dataclass
class StorageHealth:
    """What the last storage failures say about this database, for readiness and the watchdog.

    A write failure (disk full, I/O, read-only) stands until a write commits again; damage to the
    file (SQLITE_CORRUPT) stands until an integrity check passes, because the next query may well
    miss the damaged page and succeed.
    """

    failure: StorageUnavailable | None = None
    damaged: str | None = None

    def failed(self, err: StorageUnavailable) -> None:
        if err.kind == "corrupt":
            self.damaged = err.message
        elif err.kind != "busy":
            self.failure = err

    def wrote(self) -> None:
        self.failure = None


@dataclass
class Database:
    """An engine plus the single-writer discipline. Build one per process with :func:`open_database`."""

    engine: Engine
    path: Path
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    ping_timeout_s: float = 5.0
    write_wait_s: float = 5.0
    # Set by a long-running program once it has checked the schema: each write transaction then
    # refuses a database whose revision changed (or whose file was swapped) under it.
    expected_revision: str | None = None
    health: StorageHealth = field(default_factory=StorageHealth)
    # Observers of the statements run on plain connections, outside SQLAlchemy's events (the API's
    # loop reads): query counters in tests and the bench see those as they see the engine's.
    statement_hooks: list[Callable[[str, Sequence[Any]], None]] = field(default_factory=list)
    slow_sql_ms: float = 50.0

    def observed(self, conn: sqlite3.Connection) -> sqlite3.Connection | ObservedConnection:
        """`conn`, or while there are statement hooks, `conn` reporting each execute to them."""
        return ObservedConnection(conn, self.statement_hooks) if self.statement_hooks else conn

    def __post_init__(self) -> None:
        from sqlalchemy.orm import sessionmaker

        self._read = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        writer = self.engine.execution_options(kura_write=True)
        self._write = sessionmaker(writer, expire_on_commit=False, autoflush=False)
        self.identity = file_identity(self.path)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with storage_errors(self.health.failed), self._read() as session, session.begin():
            yield session

    @contextmanager
    def plain_read(self, what: str) -> Iterator[sqlite3.Connection | ObservedConnection]:
        """A pooled connection for plain-SQL reads off the event loop: no session and no BEGIN, so
        each statement reads its own snapshot (right for a page read by one statement). A session and
        its transaction cost more CPU than a filtered page's SQL. `what` names the read in the
        slow-SQL warning, since these statements pass outside SQLAlchemy's events."""
        started = time.perf_counter()
        with storage_errors(self.health.failed):
            raw = self.engine.raw_connection()
            try:
                yield self.observed(raw.driver_connection)
            finally:
                raw.close()
                note_sql_time(time.perf_counter() - started, f"plain read {what}", slow_ms=self.slow_sql_ms)

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """One writer at a time: commit on success, roll back on any error. The COMMIT has returned
        when the block is left normally; a failed COMMIT raises StorageUnavailable."""
        if not self.write_lock.acquire(timeout=self.write_wait_s):
            raise WriteBusy(f"another write held the database for over {self.write_wait_s:g} s; retry shortly")
        try:
            with storage_errors(self.health.failed), self._write() as session, session.begin():
                self._guard(session.connection())  # BEGIN IMMEDIATE runs here, so the guard sees the latest
                yield session
            self.health.wrote()
        finally:
            self.write_lock.release()

    def replaced(self) -> bool:
        """Is the file at our path no longer the one this process opened (deleted, restored, swapped)?
        Pooled connections would go on writing to the old one, which nobody will ever read."""
        return file_identity(self.path) != self.identity

    def _guard(self, conn: Connection) -> None:
        self.guard(conn.connection.driver_connection)  # type: ignore[arg-type]

    def guard(self, raw: sqlite3.Connection) -> None:
        """Refuse a write transaction (just begun on `raw`) on a swapped file or a changed schema.
        Run on the driver's connection: a guard of the transaction, like BEGIN, not a statement of
        the caller's (query-count tests count only those)."""
        if self.replaced():
            raise StorageUnavailable(
                f"the database file {self.path} was removed or replaced while this program ran; "
                "nothing was saved: restart it", kind="replaced", retry_after=None)
        if self.expected_revision is not None:
            rows = [r[0] for r in raw.execute("SELECT version_num FROM alembic_version")]
            if rows != [self.expected_revision]:
                raise StorageUnavailable(
                    f"the database schema changed to {','.join(rows) or 'nothing'} under this program "
                    f"(it serves {self.expected_revision}); nothing was saved: restart it", kind="schema",
                    retry_after=None)

    def ping(self) -> bool:
        """Can a new client open this file and read its schema? Pooled connections would answer
        from their page cache even after the file was deleted, replaced or corrupted, so ask a
        fresh one (mode=rw: never create an empty database in place of a missing one)."""
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=self.ping_timeout_s)
            try:
                return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] >= 0
            finally:
                conn.close()
        except sqlite3.Error:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a file, or None when it is gone: tells a replaced database from the one opened."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _install_listeners(engine: Engine, *, synchronous: str, busy_timeout_ms: int, slow_sql_ms: float) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Take transaction control away from the sqlite3 module so BEGIN is ours to choose.
        dbapi_conn.isolation_level = None
        apply_pragmas(dbapi_conn, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("kura_write") else "BEGIN"
        conn.exec_driver_sql(mode)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, _statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        conn.info.setdefault("kura_t0", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        note_sql_time(time.perf_counter() - conn.info["kura_t0"].pop(), statement[:300], slow_ms=slow_sql_ms)


def note_sql_time(elapsed: float, what: str, *, slow_ms: float) -> None:
    """Time spent in SQLite, into the request's Server-Timing; a warning when slow."""
    from common import timing  # local: timing imports nothing from here, but keep db import-light

    timing.add_db_time(elapsed)
    # Only a request's statements: an import's or a backup's bulk work is not a slow query.
    if elapsed * 1000 >= slow_ms and timing.in_request():
        logger.warning("slow SQL ({:.1f} ms, route {}): {}", elapsed * 1000, timing.current_route(), what)


def make_engine(
    path: Path,
    *,
    synchronous: str = "NORMAL",
    busy_timeout_ms: int = 5000,
    slow_sql_ms: float = 50.0,
    pool_size: int = 8,
    max_overflow: int | None = None,
    create: bool = False,
) -> Engine:
    """An engine whose every connection opens the existing file only (SQLite `mode=rw`).

    A pool opens connections long after start-up; had one of them created a missing file, a
    deleted database would silently be replaced by an empty one and written to. With `create`,
    the file (and its directory) is made once here, before the pool exists.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import QueuePool

    path = Path(path).resolve()
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            sqlite3.connect(path).close()
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(f"cannot create database {path}: {exc}") from exc
    uri = f"{path.as_uri()}?mode=rw"
    engine = create_engine(
        "sqlite+pysqlite://",
        module=sqlite3,  # the bundled library's: SQLAlchemy wraps only its module's exceptions
        creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=busy_timeout_ms / 1000),
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=pool_size * 2 if max_overflow is None else max_overflow,
        # The connection given back last is handed out next: a few stay in use with warm page caches,
        # instead of every pooled connection taking its turn and filling a 2 MB cache of its own.
        pool_use_lifo=True,
        pool_pre_ping=False,
    )
    _install_listeners(engine, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms, slow_sql_ms=slow_sql_ms)
    return engine


def open_database(settings: Settings, *, path: Path | None = None, pool_size: int = 8,
                  max_overflow: int | None = None, create: bool = False) -> Database:
    """Open Kura's database (or another SQLite file, e.g. metrics.db) with the pragmas checked.

    Only `create=True` makes a missing file: `kura db upgrade` for the bookmark database, the
    monitor for its own metrics. Everything else refuses a missing database with a clear line.
    """
    from sqlalchemy import text

    target = Path(path or settings.db_path)
    if not create and not target.exists():
        raise DatabaseError(f"database {target} does not exist: create it with `kura db upgrade`, "
                            "or restore a backup with `kura-backup restore`")
    engine = make_engine(
        target,
        synchronous=settings.sqlite_synchronous,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        slow_sql_ms=settings.slow_sql_ms,
        pool_size=pool_size,
        max_overflow=max_overflow,
        create=create,
    )
    try:
        with engine.connect() as conn:  # opens one connection, so the pragma check runs now
            conn.execute(text("SELECT 1"))
    except DatabaseError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc  # the driver's words, without SQLAlchemy's help link
        raise DatabaseError(f"cannot open database {target}: {reason}") from exc
    return Database(engine=engine, path=target, ping_timeout_s=settings.sqlite_busy_timeout_ms / 1000,
                    write_wait_s=settings.write_wait_s, slow_sql_ms=settings.slow_sql_ms)
