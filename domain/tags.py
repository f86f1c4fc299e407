"""Tags: per-user names (case-insensitive, as the NOCASE column compares them), their links to
bookmarks, and the tag list with counts, rename-or-merge and delete."""

from __future__ import annotations

from collections.abc import Collection as Sized
from collections.abc import Iterable
from typing import Any, Literal

import orjson
from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain import fields
from common.errors import BadRequest
from domain.models import Bookmark, BookmarkTag, Tag, utcnow
from domain.ownership import fetch_owned

# The shared validation (domain/fields.py), under the names the API and tests already use.
MAX_TAGS_PER_BOOKMARK = fields.MAX_TAGS_PER_BOOKMARK
tag_key = fields.tag_key
clean_tag_names = fields.clean_tags


def ensure_tags(session: Session, *, user_id: int, names: Sized[str]) -> list[int]:
    """Ids of the caller's tags with these names, creating the missing ones (names already cleaned).
    Plain SQL text: every create and tag change runs it."""
    if not names:
        return []
    conn, marks = session.connection(), ", ".join("?" * len(names))
    rows = [(user_id, name) for name in names]
    conn.exec_driver_sql(f"INSERT INTO tags (user_id, name) VALUES {', '.join(['(?, ?)'] * len(rows))} "
                         "ON CONFLICT DO NOTHING", tuple(v for row in rows for v in row))
    found = conn.exec_driver_sql(f"SELECT id FROM tags WHERE user_id = ? AND name IN ({marks})", (user_id, *names))
    return [row[0] for row in found]


def link_tags(session: Session, *, bookmark_id: int, tag_ids: Sized[int]) -> None:
    """Links for a bookmark that has none yet (a new one), in one statement."""
    if tag_ids:
        # With the bookmark's created_at (migration 0005) written here, no trigger has to fill it in.
        session.connection().exec_driver_sql(
            "INSERT INTO bookmark_tags (bookmark_id, tag_id, created_at) SELECT ?, value,"
            " (SELECT created_at FROM bookmarks WHERE id = ?) FROM json_each(?)",
            (bookmark_id, bookmark_id, orjson.dumps(list(tag_ids)).decode()))


def touch_tagged(session: Session, *, tag_id: int) -> None:
    """A tag's rename or removal changes every bookmark carrying it, so their modified time moves."""
    tagged = select(BookmarkTag.bookmark_id).where(BookmarkTag.tag_id == tag_id)
    session.execute(update(Bookmark).where(Bookmark.id.in_(tagged)).values(modified_at=utcnow()))


def add_tags(session: Session, *, user_id: int, bookmark_ids: Sized[int], names: Iterable[str]) -> None:
    """Add tags to bookmarks the caller owns (ids already checked), keeping the per-bookmark cap."""
    tag_ids = ensure_tags(session, user_id=user_id, names=clean_tag_names(names))
    links = [{"bookmark_id": b, "tag_id": t} for b in bookmark_ids for t in tag_ids]
    if not links:
        return
    # executemany, not one multi-row VALUES: a big batch would pass SQLite's bound-parameter limit
    session.execute(sqlite_insert(BookmarkTag).on_conflict_do_nothing(), links)
    over = session.scalar(
        select(BookmarkTag.bookmark_id)
        .where(BookmarkTag.bookmark_id.in_(list(bookmark_ids)))
        .group_by(BookmarkTag.bookmark_id)
        .having(func.count() > MAX_TAGS_PER_BOOKMARK)
        .limit(1)
    )
    if over is not None:  # raising rolls the whole request back, so nothing is half-applied
        raise BadRequest(f"bookmark {over} would have more than {MAX_TAGS_PER_BOOKMARK} tags", details={"id": over})


def remove_tags(session: Session, *, user_id: int, bookmark_ids: Sized[int], names: Iterable[str]) -> None:
    keys = clean_tag_names(names)
    tag_ids = select(Tag.id).where(Tag.user_id == user_id, Tag.name.in_(keys))
    session.execute(
        delete(BookmarkTag).where(BookmarkTag.bookmark_id.in_(list(bookmark_ids)), BookmarkTag.tag_id.in_(tag_ids))
    )


def _summaries(session: Session, *, user_id: int, tag_id: int | None = None,
               sort: Literal["name", "count"] = "name") -> list[dict[str, Any]]:
    count = func.count(BookmarkTag.bookmark_id)
    query = (
        select(Tag.id, Tag.name, count.label("count"))
        .outerjoin(BookmarkTag, BookmarkTag.tag_id == Tag.id)
        .where(Tag.user_id == user_id)
        .group_by(Tag.id)
    )
    if tag_id is not None:
        query = query.where(Tag.id == tag_id)
    query = query.order_by(count.desc(), Tag.name) if sort == "count" else query.order_by(Tag.name)
    return [{"id": i, "name": n, "count": c} for i, n, c in session.execute(query)]


def list_tags(session: Session, *, user_id: int, sort: Literal["name", "count"] = "name") -> list[dict[str, Any]]:
    return _summaries(session, user_id=user_id, sort=sort)


def rename_tag(session: Session, *, user_id: int, tag_id: int, name: str) -> dict[str, Any]:
    """Rename a tag; renaming onto another existing tag merges this one into it."""
    (new_name,) = clean_tag_names([name])
    tag = fetch_owned(session, Tag, object_id=tag_id, user_id=user_id)
    target = session.scalar(select(Tag).where(Tag.user_id == user_id, Tag.name == new_name, Tag.id != tag.id))
    touch_tagged(session, tag_id=tag.id)
    if target is None:
        tag.name = new_name
        session.flush()
        return _summaries(session, user_id=user_id, tag_id=tag.id)[0]
    session.execute(
        sqlite_insert(BookmarkTag)
        .from_select(["bookmark_id", "tag_id"],
                     select(BookmarkTag.bookmark_id, literal(target.id)).where(BookmarkTag.tag_id == tag.id))
        .on_conflict_do_nothing()
    )
    session.execute(delete(Tag).where(Tag.id == tag.id))
    return _summaries(session, user_id=user_id, tag_id=target.id)[0]


def delete_tag(session: Session, *, user_id: int, tag_id: int) -> None:
    tag = fetch_owned(session, Tag, object_id=tag_id, user_id=user_id)
    touch_tagged(session, tag_id=tag.id)
    session.execute(delete(Tag).where(Tag.id == tag.id))
