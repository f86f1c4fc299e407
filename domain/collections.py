"""Collections: a per-user tree (a collection may sit under a parent, as browser folders do)."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain import fields
from common.errors import BadRequest
from domain.models import Bookmark, Collection, utcnow
from domain.ownership import fetch_owned, require_owned


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()  # "leave the parent as it is", distinct from None ("move to the top level")


def clean_name(name: str) -> str:
    """The shared rule (domain/fields.py), as the importer applies it: 1 to NAME_MAX characters, one line."""
    return fields.clean_name(name, what="collection name")


def _summaries(session: Session, *, user_id: int, collection_id: int | None = None) -> list[dict[str, Any]]:
    count = (
        select(func.count()).where(Bookmark.collection_id == Collection.id).correlate(Collection).scalar_subquery()
    )
    query = select(Collection.id, Collection.name, Collection.parent_id, Collection.created_at, count).where(
        Collection.user_id == user_id
    )
    if collection_id is not None:
        query = query.where(Collection.id == collection_id)
    rows = session.execute(query.order_by(Collection.name, Collection.id))
    return [{"id": i, "name": n, "parent_id": p, "created": c, "count": k} for i, n, p, c, k in rows]


def list_collections(session: Session, *, user_id: int) -> list[dict[str, Any]]:
    """Every collection of the caller with its parent id and direct bookmark count, by name."""
    return _summaries(session, user_id=user_id)


def get_collection(session: Session, *, user_id: int, collection_id: int) -> dict[str, Any]:
    require_owned(session, Collection, object_id=collection_id, user_id=user_id)
    return _summaries(session, user_id=user_id, collection_id=collection_id)[0]


def create_collection(session: Session, *, user_id: int, name: str, parent_id: int | None = None) -> dict[str, Any]:
    if parent_id is not None:
        require_owned(session, Collection, object_id=parent_id, user_id=user_id)
    collection = Collection(user_id=user_id, name=clean_name(name), parent_id=parent_id)
    session.add(collection)
    session.flush()
    return _summaries(session, user_id=user_id, collection_id=collection.id)[0]


def _check_no_cycle(session: Session, *, user_id: int, collection_id: int, parent_id: int) -> None:
    rows = session.execute(select(Collection.id, Collection.parent_id).where(Collection.user_id == user_id))
    parents: dict[int, int | None] = {row[0]: row[1] for row in rows}
    node: int | None = parent_id
    while node is not None:  # the tree is acyclic by construction, so this walk ends at the root
        if node == collection_id:
            raise BadRequest(
                "a collection cannot move under itself or one of its descendants",
                details={"id": collection_id, "parent_id": parent_id},
            )
        node = parents.get(node)


def update_collection(session: Session, *, user_id: int, collection_id: int, name: str | None = None,
                      parent_id: int | None | _Keep = KEEP) -> dict[str, Any]:
    """Rename and/or move a collection; moving it under its own subtree is refused."""
    collection = fetch_owned(session, Collection, object_id=collection_id, user_id=user_id)
    if name is not None:
        collection.name = clean_name(name)
    if isinstance(parent_id, int):
        require_owned(session, Collection, object_id=parent_id, user_id=user_id)
        _check_no_cycle(session, user_id=user_id, collection_id=collection_id, parent_id=parent_id)
    if not isinstance(parent_id, _Keep):
        collection.parent_id = parent_id
    session.flush()
    return _summaries(session, user_id=user_id, collection_id=collection_id)[0]


def delete_collection(session: Session, *, user_id: int, collection_id: int) -> None:
    """Children move up to the deleted collection's parent; its bookmarks become uncollected."""
    collection = fetch_owned(session, Collection, object_id=collection_id, user_id=user_id)
    session.execute(
        update(Collection).where(Collection.parent_id == collection.id).values(parent_id=collection.parent_id)
    )
    session.execute(
        update(Bookmark).where(Bookmark.collection_id == collection.id).values(collection_id=None, modified_at=utcnow())
    )
    session.delete(collection)
    session.flush()
