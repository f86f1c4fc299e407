"""Bookmark operations against a real database, below the HTTP layer."""

from __future__ import annotations

import pytest

from domain import accounts, bookmarks, listing
from common.db import Database
from common.errors import BadRequest, Conflict, NotFound
from domain.models import TEXT_MAX
from domain.ownership import owned_ids
from domain.models import Bookmark


@pytest.fixture
def user_id(db: Database) -> int:
    with db.write_session() as session:
        return accounts.create_user(session, name="reader").id


def test_create_then_get_round_trips_every_field(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        made = bookmarks.create_bookmark(session, user_id=user_id, url="http://Example.org:80/x", title="t",
                                         description="d", notes="n", tags=["k"], private=True, archived=True)
    with db.read_session() as session:
        assert bookmarks.get_bookmark(session, user_id=user_id, bookmark_id=made["id"]) == made
    assert made["url"] == "http://example.org/x"
    assert (made["private"], made["archived"], made["unread"]) == (True, True, False)


def test_overlong_text_is_refused_before_anything_is_written(db: Database, user_id: int) -> None:
    with pytest.raises(BadRequest, match="notes is longer"):
        with db.write_session() as session:
            bookmarks.create_bookmark(session, user_id=user_id, url="https://a.example/", notes="n" * (TEXT_MAX + 1))
    with db.read_session() as session:
        assert listing.list_bookmarks(session, user_id=user_id)["items"] == []


def test_a_failed_update_rolls_back_every_part(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        first = bookmarks.create_bookmark(session, user_id=user_id, url="https://a.example/")
        second = bookmarks.create_bookmark(session, user_id=user_id, url="https://b.example/", tags=["old"])
    with pytest.raises(Conflict), db.write_session() as session:
        bookmarks.update_bookmark(session, user_id=user_id, bookmark_id=second["id"],
                                  changes={"tags": ["new"], "url": first["url"]})
    with db.read_session() as session:
        assert bookmarks.get_bookmark(session, user_id=user_id, bookmark_id=second["id"]) == second


def test_bulk_caps_the_number_of_ids(db: Database, user_id: int) -> None:
    with db.write_session() as session, pytest.raises(BadRequest, match="at most"):
        bookmarks.bulk_action(session, user_id=user_id, ids=range(1, bookmarks.BULK_MAX + 2), action="archive")


def test_bulk_with_no_owned_ids_reports_them_all_and_writes_nothing(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        result = bookmarks.bulk_action(session, user_id=user_id, ids=[5, 5, 6], action="delete")
    assert result == {"action": "delete", "updated": [], "not_found": [5, 6]}


def test_missing_bookmarks_are_not_found_for_every_operation(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        for call in (bookmarks.get_bookmark, bookmarks.delete_bookmark):
            with pytest.raises(NotFound, match="no bookmark with id 77"):
                call(session, user_id=user_id, bookmark_id=77)
        with pytest.raises(NotFound):
            bookmarks.update_bookmark(session, user_id=user_id, bookmark_id=77, changes={"title": "x"})
        assert owned_ids(session, Bookmark, ids=[], user_id=user_id) == set()
