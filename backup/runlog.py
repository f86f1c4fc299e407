"""Each run's outcome in the backup_runs table, so the API can report it (through backup/status.py).

Recording is best effort: a run whose database is gone or unmigrated must still back up what it can
and report through logs and mail, so a failure to record is a warning, never the run's failure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db import open_database
from common.sqlite import sqlite3
from domain.models import BackupRun, utcnow
from common.settings import Settings


def _record(settings: Settings, action: Callable[[Session], int]) -> int | None:
    if not settings.db_path.is_file():  # never create an empty database just to log into it
        logger.warning("not recording the run: database {} does not exist", settings.db_path)
        return None
    if settings.db_path.stat().st_size == 0:  # opening it would write a header into the emptied file
        logger.warning("not recording the run: database {} is empty (0 bytes)", settings.db_path)
        return None
    try:
        db = open_database(settings, pool_size=1)
    except Exception as exc:  # noqa: BLE001 - recording must not mask the run's own outcome
        logger.warning("not recording the run: {}", exc)
        return None
    try:
        with db.write_session() as session:
            return action(session)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not record the run in backup_runs: {}", exc)
        return None
    finally:
        db.dispose()


INTERRUPTED_ERROR = "the process ended before the run finished (killed, or the host went down)"


def _mark_interrupted(session: Session) -> None:
    """Earlier runs still `running` are dead: the caller holds the run lock, which a live run keeps
    until it ends and the kernel releases when its process dies."""
    for run in session.scalars(select(BackupRun).where(BackupRun.status == "running")):
        run.status, run.error = "interrupted", INTERRUPTED_ERROR
        logger.warning("backup run {} (started {:%Y-%m-%d %H:%M:%S}) was interrupted; marked so", run.id, run.started_at)


RESTORED_ERROR = "still running when the restored backup was taken; its outcome is not in this database"


def settle_restored(path: Path) -> int:
    """In a restored copy, mark the runs that were running at snapshot time (the backup's own run
    among them) interrupted: no process will ever finish them there. Returns how many."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute("UPDATE backup_runs SET status = 'interrupted', error = ? WHERE status = 'running'",
                            (RESTORED_ERROR,)).rowcount
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a backup taken with --force of a database without Kura's schema
            return 0
        raise
    finally:
        conn.close()


def start_run(settings: Settings, *, started_at: datetime, holds_lock: bool = False) -> int | None:
    """Record a run as running; with ``holds_lock``, first mark earlier `running` runs interrupted."""
    def insert(session: Session) -> int:
        if holds_lock:
            _mark_interrupted(session)
        run = BackupRun(started_at=started_at, status="running", stage="prepare")
        session.add(run)
        session.flush()
        return run.id

    return _record(settings, insert)


def finish_run(settings: Settings, run_id: int | None, *, started_at: datetime, status: str, stage: str | None,
               file: str | None = None, size_bytes: int | None = None, verified: bool = False,
               error: str | None = None) -> int | None:
    def update(session: Session) -> int:
        run = session.get(BackupRun, run_id) if run_id is not None else None
        if run is None:  # the start could not be recorded (e.g. the database was busy): record it all now
            run = BackupRun(started_at=started_at)
            session.add(run)
        run.finished_at, run.status, run.stage = utcnow(), status, stage
        run.file, run.size_bytes, run.verified, run.error = file, size_bytes, verified, error
        session.flush()
        return run.id

    return _record(settings, update)
