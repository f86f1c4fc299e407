"""Dependency aliases, defined once: SettingsDep, DatabaseDep, SessionDep, WriteSessionDep,
CurrentUser and AdminUser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import Forbidden
from common.accounts import Principal
from common.db import Database
from common.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_read_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.read_session() as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.write_session() as session:
        yield session


def get_principal(request: Request) -> Principal:
    return request.app.state.authenticator(request)


def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this endpoint needs an admin token")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_read_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
CurrentUser = Annotated[Principal, Depends(get_principal)]
AdminUser = Annotated[Principal, Depends(get_admin)]
