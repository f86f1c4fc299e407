"""Dependency aliases, defined once: SettingsDep, DatabaseDep, TxDep, MetricsDep, CurrentUser and AdminUser.

Routes reach the database only through `TxDep` (`await tx.read(...)`, `await tx.write(...)`): a
write's transaction begins and commits inside the route's own call, before the answer exists, so no
yield dependency's teardown order can ever send a 201 for a write that has not committed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from api.auth import Forbidden
from api.transactions import Transactions
from domain.accounts import Principal
from common.db import Database
from common.settings import Settings
from monitor.query import MetricsReader


# Dependencies that do no blocking work are async: FastAPI runs a sync dependency in the thread
# pool, and each hand-off there costs more than the work itself.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_tx(request: Request) -> Transactions:
    return request.app.state.tx


async def get_metrics_reader(request: Request) -> MetricsReader:
    return request.app.state.metrics_reader


# Declares the scheme in the OpenAPI document (the Authorize button of /docs, and what API testers
# check); api/auth.py reads the header itself, also accepting `Token <token>`.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token: `kura token create NAME --label L`, or POST /api/v1/tokens")


async def get_principal(request: Request, _: Annotated[object, Security(BEARER)] = None) -> Principal:
    return await request.app.state.authenticator(request)


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this endpoint needs an admin token")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
TxDep = Annotated[Transactions, Depends(get_tx)]
MetricsDep = Annotated[MetricsReader, Depends(get_metrics_reader)]
CurrentUser = Annotated[Principal, Depends(get_principal)]
AdminUser = Annotated[Principal, Depends(get_admin)]
