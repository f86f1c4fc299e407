"""Each run's outcome in the backup_runs table, so the API can report it.

Recording is best effort: a run whose database is gone or unmigrated must still back up what it can
and report through logs and mail, so a failure to record is a warning, never the run's failure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db import open_database
from common.models import BackupRun, utcnow
from common.settings import Settings


def _record(settings: Settings, action: Callable[[Session], int]) -> int | None:
    if not settings.db_path.is_file():  # never create an empty database just to log into it
        logger.warning("not recording the run: database {} does not exist", settings.db_path)
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


def start_run(settings: Settings, *, started_at: datetime) -> int | None:
    def insert(session: Session) -> int:
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


def recent_runs(session: Session, *, limit: int = 20) -> list[BackupRun]:
    stmt = select(BackupRun).order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(limit)
    return list(session.scalars(stmt))
