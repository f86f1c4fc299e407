"""Web sign-in passwords (domain/passwords.py): Argon2 hashes, checked off the write turn, made
stronger on the next sign-in when the parameters change, and never a way in without one."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from domain import passwords, sessions
from common.db import Database
from common.errors import BadRequest, NotFound
from domain.models import User
from tests.conftest import Account


def stored_hash(db: Database, user_id: int) -> str | None:
    with db.read_session() as session:
        return session.scalar(select(User.password_hash).where(User.id == user_id))


def check(db: Database, name: str, password: str) -> tuple[bool, str | None]:
    with db.read_session() as session:
        found = passwords.candidate(session, name=name)
    return passwords.verify(found, password)


def test_a_set_password_is_stored_as_an_argon2_hash_and_verifies(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        passwords.set_password(session, user_id=alice.user_id, password="s3cret pass")
    stored = stored_hash(db, alice.user_id)
    assert stored is not None and stored.startswith("$argon2id$") and "s3cret" not in stored
    assert check(db, "alice", "s3cret pass") == (True, None)
    assert check(db, "alice", "s3cret pasS") == (False, None)
    assert check(db, "nobody", "s3cret pass") == (False, None)


def test_a_user_without_a_password_never_verifies(db: Database, alice: Account) -> None:
    assert stored_hash(db, alice.user_id) is None
    assert check(db, "alice", "") == (False, None) and check(db, "alice", "anything") == (False, None)


def test_a_hash_made_with_older_parameters_is_replaced_on_the_next_sign_in(
        db: Database, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    with db.write_session() as session:
        passwords.set_password(session, user_id=alice.user_id, password="pw")
    old = stored_hash(db, alice.user_id)
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    right, rehashed = check(db, "alice", "pw")
    assert right and rehashed is not None and "t=2" in rehashed
    with db.write_session() as session:
        passwords.store_rehash(session, user_id=alice.user_id, old_hash=old or "", new_hash=rehashed)
    assert stored_hash(db, alice.user_id) == rehashed and check(db, "alice", "pw") == (True, None)


def test_a_rehash_never_overwrites_a_password_changed_meanwhile(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        passwords.set_password(session, user_id=alice.user_id, password="new")
        passwords.store_rehash(session, user_id=alice.user_id, old_hash="$argon2id$stale", new_hash="x")
    assert check(db, "alice", "new")[0]


@pytest.mark.parametrize("bad", ["", "x" * (passwords.PASSWORD_MAX + 1)])
def test_an_empty_or_huge_password_is_refused(db: Database, alice: Account, bad: str) -> None:
    with pytest.raises(BadRequest), db.write_session() as session:
        passwords.set_password(session, user_id=alice.user_id, password=bad)
    assert stored_hash(db, alice.user_id) is None


def test_setting_a_password_for_no_user_says_so(db: Database) -> None:
    with pytest.raises(NotFound), db.write_session() as session:
        passwords.set_password(session, user_id=999, password="pw")


def test_a_new_password_ends_the_users_web_sessions_only(db: Database, alice: Account, bob: Account) -> None:
    with db.write_session() as session:
        mine = sessions.start_session(session, user_id=alice.user_id, days=1)
        theirs = sessions.start_session(session, user_id=bob.user_id, days=1)
        passwords.set_password(session, user_id=alice.user_id, password="changed")
    with db.read_session() as session:
        assert sessions.find_session_in(session, token=mine.token) is None
        assert sessions.find_session_in(session, token=theirs.token) is not None
