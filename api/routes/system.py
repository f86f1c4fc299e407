"""Health endpoints for systemd, load balancers and the monitor. No auth: they reveal nothing."""

from __future__ import annotations

from fastapi import APIRouter
from loguru import logger
from pydantic import BaseModel

from api.deps import TxDep
from api.errors import error_response, responses
from api.health import NotReady, readiness

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    schema_revision: str


@router.get("/healthz", summary="Process is alive", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", summary="Can serve reads and writes now (schema at head, a write commits)",
            response_model=Ready, responses=responses(503))
async def readyz(tx: TxDep):  # type: ignore[no-untyped-def]
    try:
        revision = await readiness(tx)
    except NotReady as exc:
        return error_response(503, f"not ready: {exc}")
    except Exception as exc:  # noqa: BLE001 - any failure of the check is "not ready", never a 500
        logger.opt(exception=exc).error("readiness check failed")
        return error_response(503, f"not ready: {type(exc).__name__}: {exc}")
    return Ready(status="ready", schema_revision=revision)
