"""Dependency aliases, defined once: SettingsDep, DatabaseDep, SessionDep, WriteSessionDep,
CurrentUser and AdminUser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import Forbidden
from common.accounts import Principal
from common.db import Database
from common.settings import Settings


# Dependencies that do no blocking work are async: FastAPI runs a sync dependency in the thread
# pool, and each hand-off there costs more than the work itself.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    # Opening a session does not connect (the route's first query does, in its worker thread) and
    # ending a read transaction is a COMMIT with no I/O, so neither end needs a thread.
    with request.app.state.db.read_session() as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.write_session() as session:
        yield session


async def get_principal(request: Request) -> Principal:
    return await request.app.state.authenticator(request)


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this endpoint needs an admin token")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_read_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
CurrentUser = Annotated[Principal, Depends(get_principal)]
AdminUser = Annotated[Principal, Depends(get_admin)]
