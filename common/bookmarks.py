"""Bookmarks: create, read, update, delete and bulk actions, each for one user.

Reads are the SQL text of common/bookmark_rows.py (the hot path); writes are few and go through the
write session (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from common import fields
from common import tags as tag_ops
from common.bookmark_rows import get_bookmark
from common.errors import BadRequest, Conflict
from common.models import Bookmark, Collection, to_micros, utcnow
from common.ownership import owned_ids, require_owned
from common.urls import normalize_url

# Every create runs these; plain SQL text spares building the statement each time.
INSERT = ("INSERT INTO bookmarks (user_id, url, title, description, notes, collection_id, unread, archived, private,"
          " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
TEXT_FIELDS = ("title", "description", "notes")
FLAGS = ("unread", "archived", "private")
BULK_MAX = 1000

BulkAction = Literal["add_tags", "remove_tags", "archive", "unarchive", "mark_read", "mark_unread", "delete"]
_FLAG_ACTIONS: Final = {
    "archive": {"archived": True}, "unarchive": {"archived": False},
    "mark_read": {"unread": False}, "mark_unread": {"unread": True},
}


def _check_unique_url(session: Session, *, user_id: int, url: str, exclude_id: int | None = None) -> None:
    existing = session.connection().exec_driver_sql(
        "SELECT id FROM bookmarks WHERE user_id = ? AND url = ? AND id IS NOT ?", (user_id, url, exclude_id)
    ).scalar()
    if existing is not None:
        raise Conflict("you already have a bookmark with this url", details={"id": existing, "url": url})


def _check_collection(session: Session, *, user_id: int, collection_id: int | None) -> None:
    if collection_id is not None:
        require_owned(session, Collection, object_id=collection_id, user_id=user_id)


def create_bookmark(session: Session, *, user_id: int, url: str, title: str = "", description: str = "",
                    notes: str = "", tags: Iterable[str] = (), collection_id: int | None = None,
                    unread: bool = False, archived: bool = False, private: bool = False) -> dict[str, Any]:
    """Create a bookmark; the same (normalised) url twice for one user is a Conflict naming the first."""
    url = normalize_url(url)
    values = {"title": title, "description": description, "notes": notes}
    fields.check_text(values)
    _check_unique_url(session, user_id=user_id, url=url)
    _check_collection(session, user_id=user_id, collection_id=collection_id)
    names = tag_ops.clean_tag_names(tags)
    now = to_micros(utcnow())
    bookmark_id = session.connection().exec_driver_sql(
        INSERT, (user_id, url, values["title"], values["description"], values["notes"], collection_id,
                 unread, archived, private, now, now)
    ).scalar_one()
    tag_ids = tag_ops.ensure_tags(session, user_id=user_id, names=names)
    tag_ops.link_tags(session, bookmark_id=bookmark_id, tag_ids=tag_ids)
    return get_bookmark(session, user_id=user_id, bookmark_id=bookmark_id)


def update_bookmark(session: Session, *, user_id: int, bookmark_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the given fields (url, title, description, notes, tags, collection, flags); modified moves."""
    require_owned(session, Bookmark, object_id=bookmark_id, user_id=user_id)
    values = {k: v for k, v in changes.items() if k in TEXT_FIELDS or k in FLAGS}
    fields.check_text(values)
    if "url" in changes:
        values["url"] = normalize_url(changes["url"])
        _check_unique_url(session, user_id=user_id, url=values["url"], exclude_id=bookmark_id)
    if "collection" in changes:
        _check_collection(session, user_id=user_id, collection_id=changes["collection"])
        values["collection_id"] = changes["collection"]
    if changes.get("tags") is not None:
        tag_ops.set_bookmark_tags(session, user_id=user_id, bookmark_id=bookmark_id, names=changes["tags"])
    values["modified_at"] = to_micros(utcnow())
    # The column names come from the fixed lists above, never from the request.
    assignments = ", ".join(f"{column} = ?" for column in values)
    session.connection().exec_driver_sql(f"UPDATE bookmarks SET {assignments} WHERE id = ?",
                                         (*values.values(), bookmark_id))
    return get_bookmark(session, user_id=user_id, bookmark_id=bookmark_id)


def delete_bookmark(session: Session, *, user_id: int, bookmark_id: int) -> None:
    require_owned(session, Bookmark, object_id=bookmark_id, user_id=user_id)
    session.connection().exec_driver_sql("DELETE FROM bookmarks WHERE id = ?", (bookmark_id,))


def bulk_action(session: Session, *, user_id: int, ids: Iterable[int], action: BulkAction,
                tags: Iterable[str] = ()) -> dict[str, Any]:
    """Apply one action to the caller's bookmarks among ids. Ids that are missing or someone else's
    are reported together as not_found (so existence never leaks) and left alone."""
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > BULK_MAX:
        raise BadRequest(f"at most {BULK_MAX} ids per bulk action")
    mine = owned_ids(session, Bookmark, ids=wanted, user_id=user_id)
    done = [i for i in wanted if i in mine]
    if action in ("add_tags", "remove_tags") and not tags:
        raise BadRequest(f"{action} needs a non-empty list of tags")
    if done:
        _apply(session, user_id=user_id, ids=done, action=action, tags=tags)
    return {"action": action, "updated": done, "not_found": [i for i in wanted if i not in mine]}


def _apply(session: Session, *, user_id: int, ids: list[int], action: str, tags: Iterable[str]) -> None:
    if action == "delete":
        session.execute(delete(Bookmark).where(Bookmark.id.in_(ids)))
        return
    if action == "add_tags":
        tag_ops.add_tags(session, user_id=user_id, bookmark_ids=ids, names=tags)
    elif action == "remove_tags":
        tag_ops.remove_tags(session, user_id=user_id, bookmark_ids=ids, names=tags)
    flags = _FLAG_ACTIONS.get(action, {})
    session.execute(update(Bookmark).where(Bookmark.id.in_(ids)).values(modified_at=utcnow(), **flags))
