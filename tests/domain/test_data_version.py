"""The per-user data version moves with every change a bookmark answer can show, and only the owner's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain import accounts, bookmarks, tags
from domain.data_version import data_version
from common.db import Database


def version(db: Database, user_id: int) -> int:
    with db.read_session() as session:
        return data_version(session, user_id=user_id)


@pytest.fixture
def two(db: Database, make_account: Callable) -> tuple[int, int]:
    return make_account("alice").user_id, make_account("bob").user_id


def test_a_new_user_has_version_zero(db: Database, two: tuple[int, int]) -> None:
    assert version(db, two[0]) == 0


@pytest.mark.parametrize("change", ["create", "update", "delete", "tag", "untag", "rename_tag", "delete_tag"])
def test_every_change_an_answer_shows_moves_only_its_owners_version(db: Database, two: tuple[int, int],
                                                                    change: str) -> None:
    alice, bob = two
    with db.write_session() as session:
        mark = bookmarks.create_bookmark(session, user_id=alice, url="https://a.example/", tags=["x"])["id"]
        bookmarks.create_bookmark(session, user_id=bob, url="https://b.example/", tags=["x"])
    before = version(db, alice), version(db, bob)
    with db.write_session() as session:
        tag_id = tags.list_tags(session, user_id=alice)[0]["id"]
        {
            "create": lambda: bookmarks.create_bookmark(session, user_id=alice, url="https://c.example/"),
            "update": lambda: bookmarks.update_bookmark(session, user_id=alice, bookmark_id=mark,
                                                        changes={"unread": True}),
            "delete": lambda: bookmarks.delete_bookmark(session, user_id=alice, bookmark_id=mark),
            "tag": lambda: tags.add_tags(session, user_id=alice, bookmark_ids=[mark], names=["y"]),
            "untag": lambda: tags.remove_tags(session, user_id=alice, bookmark_ids=[mark], names=["x"]),
            "rename_tag": lambda: tags.rename_tag(session, user_id=alice, tag_id=tag_id, name="z"),
            "delete_tag": lambda: tags.delete_tag(session, user_id=alice, tag_id=tag_id),
        }[change]()
    assert version(db, alice) > before[0]
    assert version(db, bob) == before[1]


def test_removing_a_user_with_bookmarks_and_tags_still_works(db: Database, two: tuple[int, int]) -> None:
    alice, _ = two
    with db.write_session() as session:
        bookmarks.create_bookmark(session, user_id=alice, url="https://a.example/", tags=["x", "y"])
    with db.write_session() as session:
        accounts.remove_user(session, name="alice")
    with db.read_session() as session:
        assert accounts.list_users(session)[0].name == "bob"
