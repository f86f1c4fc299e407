"""Bulk-built bookmarks for tests that need many (1,000 API calls would be slow and test nothing)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from common.db import Database
from domain.models import Bookmark, BookmarkTag, Collection, Tag, utcnow

WORDS = ("python", "sqlite", "rust", "garden", "recipe", "travel", "music", "kernel")


def seed_bookmarks(db: Database, *, user_id: int, count: int, tags_per: int = 3, tag_pool: int = 8) -> list[int]:
    """count bookmarks for user_id, each with tags_per of tag_pool tags, a third in one collection.
    Created times step back a minute per bookmark so every sort order is distinct."""
    now = utcnow()
    with db.write_session() as session:
        collection_id = session.execute(
            insert(Collection).values(user_id=user_id, name="seeded", created_at=now).returning(Collection.id)
        ).scalar_one()
        session.execute(insert(Tag), [{"user_id": user_id, "name": f"tag{t}"} for t in range(tag_pool)])
        tag_ids = list(session.scalars(select(Tag.id).where(Tag.user_id == user_id).order_by(Tag.id)))[-tag_pool:]
        rows = [
            {"user_id": user_id, "url": f"https://example.org/{user_id}/{i}",
             "title": f"{WORDS[i % len(WORDS)]} note {i:05d}", "description": f"about {WORDS[(i + 3) % len(WORDS)]}",
             "notes": "", "unread": i % 2 == 0, "archived": i % 5 == 0, "private": False,
             "collection_id": collection_id if i % 3 == 0 else None,
             "created_at": now - timedelta(minutes=i), "modified_at": now - timedelta(seconds=i * 7 % 1000)}
            for i in range(count)
        ]
        session.execute(insert(Bookmark), rows)
        ids = list(session.scalars(select(Bookmark.id).where(Bookmark.user_id == user_id).order_by(Bookmark.id)))
        links = [{"bookmark_id": b, "tag_id": tag_ids[(n + k) % tag_pool]}
                 for n, b in enumerate(ids) for k in range(min(tags_per, tag_pool))]
        if links:
            session.execute(insert(BookmarkTag), links)
    return ids
