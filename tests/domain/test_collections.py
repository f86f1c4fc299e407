"""Collection operations against a real database."""

from __future__ import annotations

import pytest

from domain import accounts, collections
from common.db import Database
from common.errors import BadRequest, NotFound
from domain.models import NAME_MAX


@pytest.fixture
def user_id(db: Database) -> int:
    with db.write_session() as session:
        return accounts.create_user(session, name="collector").id


@pytest.mark.parametrize("name, message", [("  ", "must not be empty"), ("n" * (NAME_MAX + 1), "longer than")])
def test_bad_names_are_refused(db: Database, user_id: int, name: str, message: str) -> None:
    with db.write_session() as session, pytest.raises(BadRequest, match=message):
        collections.create_collection(session, user_id=user_id, name=name)


def test_keep_leaves_the_parent_and_none_moves_to_the_top(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        parent = collections.create_collection(session, user_id=user_id, name="p")
        child = collections.create_collection(session, user_id=user_id, name="c", parent_id=parent["id"])
        kept = collections.update_collection(session, user_id=user_id, collection_id=child["id"], name="c2")
        assert (kept["name"], kept["parent_id"]) == ("c2", parent["id"])
        top = collections.update_collection(session, user_id=user_id, collection_id=child["id"], parent_id=None)
        assert top["parent_id"] is None
        assert repr(collections.KEEP) == "KEEP"


def test_a_collection_cannot_be_its_own_parent(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        alone = collections.create_collection(session, user_id=user_id, name="alone")
        with pytest.raises(BadRequest, match="descendants"):
            collections.update_collection(session, user_id=user_id, collection_id=alone["id"], parent_id=alone["id"])


def test_another_users_collection_is_not_found(db: Database, user_id: int) -> None:
    with db.write_session() as session:
        other = accounts.create_user(session, name="other").id
        theirs = collections.create_collection(session, user_id=other, name="theirs")
        with pytest.raises(NotFound):
            collections.get_collection(session, user_id=user_id, collection_id=theirs["id"])
        with pytest.raises(NotFound):
            collections.delete_collection(session, user_id=user_id, collection_id=theirs["id"])
        assert collections.list_collections(session, user_id=user_id) == []
