"""GET /api/v1/system/backups: recent kura-backup runs and the newest verified backup (admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import AdminUser, SettingsDep, TxDep
from api.errors import responses
from backup.status import recent_runs, staleness_and_newest

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
async def list_backups(_admin: AdminUser, tx: TxDep, settings: SettingsDep,
                       limit: int = Query(20, ge=1, le=200)) -> BackupsOut:
    runs = await tx.read(recent_runs, limit=limit)
    # The manifests are files: read them (each once) on a worker thread, not on the event loop.
    fresh, message, newest = await run_in_threadpool(staleness_and_newest, settings)
    return BackupsOut(
        fresh=fresh,
        message=message,
        newest_verified=NewestBackup(file=newest.path.name, created_at=newest.created_at,
                                     size_bytes=newest.size_bytes, verified=newest.verified) if newest else None,
        runs=[BackupRunOut.model_validate(r, from_attributes=True) for r in runs],
    )
