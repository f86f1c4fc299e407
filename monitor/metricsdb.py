"""metrics.db on one plain sqlite3 connection: the monitor's database without SQLAlchemy.

The daemon runs a few small transactions per interval from two threads (the sampler and the mail
deliverer), so one connection behind a lock serves it. It gets what common.db gives every Kura
connection: the same checked pragmas (common.db.apply_pragmas), ``mode=rw`` after the file is made
once, BEGIN IMMEDIATE for writes, storage failures as StorageUnavailable, and a refusal to write to a
file that was deleted or replaced under it. SQLAlchemy would add ~17 MB to the daemon's resident
memory for the same statements (bench: kura-monitor RSS, target 50 MB).

Code that already holds a common.db Database on metrics.db (the API's reads, tests) reaches the same
store through :class:`SessionDoors`: the raw connection of a SQLAlchemy session, so the monitor's SQL
is written once, against sqlite3.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from common.db import Database, DatabaseError, apply_pragmas, file_identity
from common.dberrors import StorageUnavailable, WriteBusy, storage_errors
from common.settings import Settings
from common.sqlite import sqlite3


class Doors(Protocol):
    """A transaction on a raw sqlite3 connection: committed when the block ends, rolled back on error."""

    path: Path

    def read(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def write(self) -> AbstractContextManager[sqlite3.Connection]: ...


class MetricsDB:
    """The daemon's own connection to metrics.db. Open it with :func:`open_metrics_db`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, write_wait_s: float) -> None:
        self.conn, self.path, self.write_wait_s = conn, path, write_wait_s
        self._lock = threading.Lock()
        self._identity = file_identity(path)

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        if not self._lock.acquire(timeout=self.write_wait_s):
            raise WriteBusy(f"another transaction held {self.path} for over {self.write_wait_s:g} s")
        try:
            with storage_errors():
                self.conn.execute(begin)
                try:
                    yield self.conn
                    self.conn.commit()
                finally:
                    # After an error, or a COMMIT that failed and left the transaction open (SQLITE_BUSY),
                    # roll back: a transaction left open would make every later BEGIN fail.
                    if self.conn.in_transaction:
                        self.conn.rollback()
        finally:
            self._lock.release()

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        # The connection would go on writing to a deleted or swapped file that nobody reads again.
        if file_identity(self.path) != self._identity:
            raise StorageUnavailable(f"{self.path} was removed or replaced while the monitor ran; restart it",
                                     kind="replaced", retry_after=None)
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    def close(self) -> None:
        self.conn.close()


def open_metrics_db(settings: Settings, *, path: Path) -> MetricsDB:
    """metrics.db, created with its directory if missing, pragmas checked; DatabaseError if unusable."""
    path = Path(path).resolve()
    busy_ms = settings.sqlite_busy_timeout_ms
    conn = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()
        # isolation_level=None: BEGIN is ours to choose, as on every common.db connection.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, check_same_thread=False,
                               timeout=busy_ms / 1000, isolation_level=None)
        apply_pragmas(conn, synchronous=settings.sqlite_synchronous, busy_timeout_ms=busy_ms)
    except (OSError, sqlite3.Error, DatabaseError) as exc:
        if conn is not None:
            conn.close()
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    return MetricsDB(conn, path, write_wait_s=settings.write_wait_s)


class SessionDoors:
    """A common.db Database seen through read()/write(): the driver connection inside its session."""

    def __init__(self, db: Database) -> None:
        self.db, self.path = db, db.path

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self.db.read_session() as session:
            yield session.connection().connection.driver_connection  # type: ignore[misc]

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.db.write_session() as session:
            yield session.connection().connection.driver_connection  # type: ignore[misc]


def doors(db: Database | MetricsDB | SessionDoors) -> Doors:
    return SessionDoors(db) if isinstance(db, Database) else db
