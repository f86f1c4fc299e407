"""Bookmarks: create, read, update, delete and bulk actions, each for one user.

Reads are the SQL text of domain/bookmark_rows.py (the hot path). Creates, updates and deletes are
plain SQL on any `Sql` connection: the API runs them on the writer's own sqlite3 connection
(api/transactions.py), where SQLAlchemy's session and unit of work cost more CPU than the SQL itself;
the `*_bookmark(session, ...)` forms run the same SQL in a session's write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from domain import bookmark_rows as rows
from domain import fields
from domain import tags as tag_ops
from domain.bookmark_rows import Sql, get_bookmark  # noqa: F401 - get_bookmark: callers import it from here
from common.errors import BadRequest, Conflict
from domain.models import Bookmark, Collection, to_micros, utcnow
from domain.ownership import not_found, owned_ids
from domain.urls import normalize_url

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


def _check_unique_url(conn: Sql, *, user_id: int, url: str, exclude_id: int | None = None) -> None:
    existing = conn.execute("SELECT id FROM bookmarks WHERE user_id = ? AND url = ? AND id IS NOT ?",
                            (user_id, url, exclude_id)).fetchone()
    if existing is not None:
        raise Conflict("you already have a bookmark with this url", details={"id": existing[0], "url": url})


def _check_collection(conn: Sql, *, user_id: int, collection_id: int | None) -> None:
    if collection_id is not None and not rows.exists(conn, "collections", object_id=collection_id, user_id=user_id):
        raise not_found(Collection, collection_id)


def _require_bookmark(conn: Sql, *, user_id: int, bookmark_id: int) -> None:
    if not rows.exists(conn, "bookmarks", object_id=bookmark_id, user_id=user_id):
        raise not_found(Bookmark, bookmark_id)


def create_plain(conn: Sql, *, user_id: int, url: str, title: str = "", description: str = "",
                 notes: str = "", tags: Iterable[str] = (), collection_id: int | None = None,
                 unread: bool = False, archived: bool = False, private: bool = False) -> dict[str, Any]:
    """Create a bookmark; the same (normalised) url twice for one user is a Conflict naming the first.
    Plain SQL on any `Sql`: the API runs it on the writer's own connection, without a session."""
    url = normalize_url(url)
    fields.check_text({"title": title, "description": description, "notes": notes})
    _check_unique_url(conn, user_id=user_id, url=url)
    _check_collection(conn, user_id=user_id, collection_id=collection_id)
    names = tag_ops.clean_tag_names(tags)
    now = to_micros(utcnow())
    (bookmark_id,) = conn.execute(INSERT, (user_id, url, title, description, notes, collection_id,
                                           unread, archived, private, now, now)).fetchone()
    rows.link_tags(conn, bookmark_id=bookmark_id, ids=rows.tag_ids(conn, user_id=user_id, names=names))
    return rows.read_one(conn, user_id=user_id, bookmark_id=bookmark_id)


def update_plain(conn: Sql, *, user_id: int, bookmark_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the given fields (url, title, description, notes, tags, collection, flags); modified moves."""
    _require_bookmark(conn, user_id=user_id, bookmark_id=bookmark_id)
    values = {k: v for k, v in changes.items() if k in TEXT_FIELDS or k in FLAGS}
    fields.check_text(values)
    if "url" in changes:
        values["url"] = normalize_url(changes["url"])
        _check_unique_url(conn, user_id=user_id, url=values["url"], exclude_id=bookmark_id)
    if "collection" in changes:
        _check_collection(conn, user_id=user_id, collection_id=changes["collection"])
        values["collection_id"] = changes["collection"]
    if changes.get("tags") is not None:
        names = tag_ops.clean_tag_names(changes["tags"])
        rows.replace_tags(conn, user_id=user_id, bookmark_id=bookmark_id, names=names)
    values["modified_at"] = to_micros(utcnow())
    # The column names come from the fixed lists above, never from the request.
    assignments = ", ".join(f"{column} = ?" for column in values)
    conn.execute(f"UPDATE bookmarks SET {assignments} WHERE id = ?", (*values.values(), bookmark_id))
    return rows.read_one(conn, user_id=user_id, bookmark_id=bookmark_id)


def delete_plain(conn: Sql, *, user_id: int, bookmark_id: int) -> None:
    """One statement: the owner is part of the DELETE, and no row deleted means not yours (or gone)."""
    if conn.execute("DELETE FROM bookmarks WHERE id = ? AND user_id = ?", (bookmark_id, user_id)).rowcount == 0:
        raise not_found(Bookmark, bookmark_id)


# The same operations in a session's transaction (the web pages, tests, scripts).
def create_bookmark(session: Session, **kwargs: Any) -> dict[str, Any]:
    return create_plain(rows.session_sql(session), **kwargs)


def update_bookmark(session: Session, **kwargs: Any) -> dict[str, Any]:
    return update_plain(rows.session_sql(session), **kwargs)


def delete_bookmark(session: Session, **kwargs: Any) -> None:
    delete_plain(rows.session_sql(session), **kwargs)


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
