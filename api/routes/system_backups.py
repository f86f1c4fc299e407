"""GET /api/v1/system/backups: recent kura-backup runs and the newest verified backup (admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import AdminUser, SessionDep, SettingsDep
from api.errors import responses
from backup import runlog
from backup.status import check_staleness, newest_verified_backup

router = APIRouter(prefix="/system", tags=["system"])


class BackupRunOut(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    stage: str | None
    file: str | None
    size_bytes: int | None
    verified: bool
    error: str | None


class NewestBackup(BaseModel):
    file: str
    created_at: datetime
    size_bytes: int
    verified: bool


class BackupsOut(BaseModel):
    fresh: bool
    message: str
    newest_verified: NewestBackup | None
    runs: list[BackupRunOut]


@router.get("/backups", summary="Recent backup runs and the newest verified backup", response_model=BackupsOut,
            responses=responses(401, 403, 422, 429))
def list_backups(_admin: AdminUser, session: SessionDep, settings: SettingsDep,
                 limit: int = Query(20, ge=1, le=200)) -> BackupsOut:
    runs = runlog.recent_runs(session, limit=limit)
    newest = newest_verified_backup(settings)
    fresh, message = check_staleness(settings)
    return BackupsOut(
        fresh=fresh,
        message=message,
        newest_verified=NewestBackup(file=newest.path.name, created_at=newest.created_at,
                                     size_bytes=newest.size_bytes, verified=newest.verified) if newest else None,
        runs=[BackupRunOut.model_validate(r, from_attributes=True) for r in runs],
    )
