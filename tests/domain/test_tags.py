"""Tag names and tag operations against a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain import accounts, bookmarks, tags
from common.db import Database
from common.errors import BadRequest, NotFound
from domain.models import NAME_MAX, Tag


@pytest.fixture
def user_id(db: Database) -> int:
    with db.write_session() as session:
        return accounts.create_user(session, name="tagger").id


def test_clean_names_strip_and_drop_case_insensitive_duplicates() -> None:
    assert tags.clean_tag_names([" Python ", "python", "PYTHON", "é", "É"]) == ["Python", "é", "É"]


@pytest.mark.parametrize("names, message", [
    (["  "], "must not be empty"),
    (["x" * (NAME_MAX + 1)], "longer than"),
    ([f"t{i}" for i in range(tags.MAX_TAGS_PER_BOOKMARK + 1)], "at most"),
])
def test_bad_tag_names_are_refused(names: list[str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        tags.clean_tag_names(names)


def test_ensure_tags_reuses_existing_tags_ignoring_ascii_case(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        first = tags.ensure_tags(session, user_id=user_id, names=["Rust"])
        again = tags.ensure_tags(session, user_id=user_id, names=["rust", "go"])
        assert first[0] in again and len(again) == 2
        assert tags.ensure_tags(session, user_id=user_id, names=[]) == []
        assert sorted(session.scalars(select(Tag.name))) == ["Rust", "go"]


def test_a_bookmark_reads_its_tags_in_the_collation_order_of_tag_names(db: Database, user_id: int) -> None:
    names = ["b", "A", "_x", "Zed", "é", "a1"]
    with db.write_session() as session:
        a = bookmarks.create_bookmark(session, user_id=user_id, url="https://a.example/", tags=names)
        b = bookmarks.create_bookmark(session, user_id=user_id, url="https://b.example/")
    with db.read_session() as session:
        in_sql = list(session.scalars(select(Tag.name).order_by(Tag.name)))  # the NOCASE collation
        assert bookmarks.get_bookmark(session, user_id=user_id, bookmark_id=a["id"])["tags"] == in_sql
        assert bookmarks.get_bookmark(session, user_id=user_id, bookmark_id=b["id"])["tags"] == []


def test_rename_and_delete_refuse_another_users_tag(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        other = accounts.create_user(session, name="other").id
        (theirs,) = tags.ensure_tags(session, user_id=other, names=["theirs"])
        with pytest.raises(NotFound):
            tags.rename_tag(session, user_id=user_id, tag_id=theirs, name="mine")
        with pytest.raises(NotFound):
            tags.delete_tag(session, user_id=user_id, tag_id=theirs)
        assert session.scalar(select(Tag.name).where(Tag.id == theirs)) == "theirs"


def test_removing_a_tag_nobody_has_changes_nothing(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        bookmark = bookmarks.create_bookmark(session, user_id=user_id, url="https://a.example/", tags=["keep"])
        tags.remove_tags(session, user_id=user_id, bookmark_ids=[bookmark["id"]], names=["absent"])
        tags.add_tags(session, user_id=user_id, bookmark_ids=[], names=["unused"])
        assert bookmarks.get_bookmark(session, user_id=user_id, bookmark_id=bookmark["id"])["tags"] == ["keep"]
