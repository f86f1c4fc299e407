"""Health endpoints for systemd, load balancers and the monitor. No auth: they reveal nothing."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import DatabaseDep
from api.errors import error_response, responses
from common import migrate

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    schema_revision: str


@router.get("/healthz", summary="Process is alive", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", summary="Database reachable and schema at head", response_model=Ready,
            responses=responses(503))
async def readyz(db: DatabaseDep):  # type: ignore[no-untyped-def]
    def check() -> str:
        if not db.ping():
            raise migrate.SchemaNotAtHead("database is not reachable")
        return migrate.ensure_at_head(db)

    try:
        revision = await run_in_threadpool(check)
    except (migrate.SchemaNotAtHead, Exception) as exc:  # noqa: BLE001 - any failure is "not ready"
        return error_response(503, f"not ready: {exc}")
    return Ready(status="ready", schema_revision=revision)
