"""Backup's read-only view for the other programs: is there a recent verified backup, the recorded runs,
and the names of the folder's lock files. The API and the monitor read backup only through here;
`kura-backup check` asks the same questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from backup.files import LOCK_NAME, READERS_LOCK_NAME
from backup.guard import schema_problem
from backup.manifest import Entry, list_backups
from common.settings import Settings

if TYPE_CHECKING:  # the monitor imports this module too, and never loads SQLAlchemy (see recent_runs)
    from sqlalchemy.orm import Session

    from domain.models import BackupRun

__all__ = ["LOCK_NAME", "READERS_LOCK_NAME", "BackupInfo", "check_staleness", "newest_verified_backup",
           "recent_runs", "staleness_and_newest"]


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: datetime  # aware, UTC
    size_bytes: int
    verified: bool


def _newest_verified_entry(settings: Settings) -> Entry | None:
    for entry in reversed(list_backups(settings.backups_path)):
        try:
            size = entry.data_path.stat().st_size
        except OSError:
            continue
        if entry.manifest.verified and size == entry.manifest.compressed_size:
            return entry
    return None


def _info(entry: Entry) -> BackupInfo:
    m = entry.manifest
    return BackupInfo(path=entry.data_path, created_at=m.created_at, size_bytes=m.compressed_size, verified=True)


def newest_verified_backup(settings: Settings) -> BackupInfo | None:
    """The newest backup whose manifest says verified and whose file has the recorded size."""
    entry = _newest_verified_entry(settings)
    return None if entry is None else _info(entry)


def _holds_no_data(entry: Entry) -> str | None:
    """Why a verified backup is still no good (a database without Kura's schema, taken with --force)."""
    problem = schema_problem(entry.manifest.row_counts, entry.manifest.schema_revision)
    return f"newest verified backup {entry.data_path.name} holds no Kura data: {problem}" if problem else None


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def check_staleness(settings: Settings, *, now: datetime | None = None) -> tuple[bool, str]:
    """(ok, one-line message): stale when there is no verified backup or the newest is too old."""
    return _staleness(settings, _newest_verified_entry(settings), now=now or datetime.now(UTC))


def staleness_and_newest(settings: Settings, *, now: datetime | None = None
                         ) -> tuple[bool, str, BackupInfo | None]:
    """check_staleness and newest_verified_backup from one listing, so each manifest is read once (the
    monitor asks both every minute)."""
    newest = _newest_verified_entry(settings)
    ok, message = _staleness(settings, newest, now=now or datetime.now(UTC))
    return ok, message, None if newest is None else _info(newest)


def _staleness(settings: Settings, newest: Entry | None, *, now: datetime) -> tuple[bool, str]:
    limit = settings.backup_max_age_hours
    if newest is None:
        return False, f"no verified backup in {settings.backups_path}"
    if empty := _holds_no_data(newest):
        return False, empty
    age = now - newest.created_at
    if age > timedelta(hours=limit):
        return False, (
            f"newest verified backup {newest.data_path.name} is {_age(age)} old "
            f"(limit {limit:g} h); is the kura-backup timer running?"
        )
    return True, f"newest verified backup {newest.data_path.name} is {_age(age)} old (limit {limit:g} h)"


def recent_runs(session: Session, *, limit: int = 20) -> list[BackupRun]:
    """The newest runs recorded in backup_runs (backup/runlog.py writes them), newest first."""
    # Imported here, not at the top: kura-monitor imports this module for the backup check, and
    # SQLAlchemy would cost it megabytes of resident memory for life (tests/monitor holds it so).
    from sqlalchemy import select

    from domain.models import BackupRun

    stmt = select(BackupRun).order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(limit)
    return list(session.scalars(stmt))
