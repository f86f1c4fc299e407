"""The one owner check. Every id a caller sends goes through here, so another user's object and a
missing one are indistinguishable: both answer "not found" and nothing is touched."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import NotFound
from domain.models import Bookmark, Collection, Tag

Owned = TypeVar("Owned", Bookmark, Collection, Tag)

NOUNS = {Bookmark: "bookmark", Collection: "collection", Tag: "tag"}


def not_found(model: type, object_id: int) -> NotFound:
    return NotFound(f"no {NOUNS.get(model, 'object')} with id {object_id}", details={"id": object_id})


def fetch_owned(session: Session, model: type[Owned], *, object_id: int, user_id: int) -> Owned:
    """The caller's object with this id, loaded for change; NotFound when missing or someone else's."""
    obj = session.scalar(select(model).where(model.id == object_id, model.user_id == user_id))
    if obj is None:
        raise not_found(model, object_id)
    return obj


def require_owned(session: Session, model: type, *, object_id: int, user_id: int) -> None:
    """Check ownership without loading the row (one primary-key lookup). SQL text: every update and
    delete runs it, and building the statement cost more than running it."""
    sql = f"SELECT 1 FROM {model.__tablename__} WHERE id = ? AND user_id = ?"  # type: ignore[attr-defined]
    if session.connection().exec_driver_sql(sql, (object_id, user_id)).first() is None:
        raise not_found(model, object_id)


def owned_ids(session: Session, model: type, *, ids: Iterable[int], user_id: int) -> set[int]:
    """The subset of ids that exist and belong to the caller."""
    wanted = set(ids)
    if not wanted:
        return set()
    rows = session.scalars(select(model.id).where(model.id.in_(wanted), model.user_id == user_id))
    return set(rows)
