"""Web sessions (domain/sessions.py): only a hash of the cookie is stored, expiry slides with use,
sign-out and expiry end a session, and a user's removal takes their sessions along."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from domain import accounts, sessions
from common.db import Database
from domain.models import WebSession, utcnow
from tests.conftest import Account


def live(db: Database, token: str) -> sessions.LiveSession | None:
    with db.read_session() as session:
        return sessions.find_session_in(session, token=token)


def test_a_session_is_found_by_its_cookie_and_stores_only_a_hash(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        new = sessions.start_session(session, user_id=alice.user_id, days=2)
    found = live(db, new.token)
    assert found is not None and found.principal.user_id == alice.user_id and found.principal.name == "alice"
    assert found.csrf == new.csrf and found.csrf != new.token
    assert timedelta(days=2) - timedelta(minutes=1) < found.expires_at - utcnow() <= timedelta(days=2)
    with db.read_session() as session:
        stored = session.scalar(select(WebSession.token_hash))
    assert stored == accounts.hash_token(new.token) and new.token not in stored
    assert live(db, new.token + "x") is None


def test_the_event_loops_lookup_agrees_with_the_sessions(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        new = sessions.start_session(session, user_id=alice.user_id, days=2)
    raw = db.engine.raw_connection()
    try:
        assert sessions.find_session(raw.driver_connection, token=new.token) == live(db, new.token)
    finally:
        raw.close()


def test_an_expired_session_is_not_found_and_goes_at_the_next_sign_in(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        old = sessions.start_session(session, user_id=alice.user_id, days=1)
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert live(db, old.token) is None
    with db.write_session() as session:
        sessions.start_session(session, user_id=alice.user_id, days=1)
    with db.read_session() as session:
        assert len(session.scalars(select(WebSession)).all()) == 1


def test_a_touch_moves_the_expiry_on_and_is_due_once_a_minute(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        new = sessions.start_session(session, user_id=alice.user_id, days=1)
    found = live(db, new.token)
    assert found is not None and not found.touch_due(utcnow())
    assert found.touch_due(utcnow() + timedelta(minutes=1))
    with db.write_session() as session:
        expires = sessions.touch_session(session, session_id=found.session_id, days=3)
    moved = live(db, new.token)
    assert moved is not None and moved.expires_at == expires > found.expires_at + timedelta(days=1)


def test_sign_out_ends_only_that_session(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        phone = sessions.start_session(session, user_id=alice.user_id, days=1)
        laptop = sessions.start_session(session, user_id=alice.user_id, days=1)
        sessions.end_session(session, token=phone.token)
    assert live(db, phone.token) is None and live(db, laptop.token) is not None


def test_removing_a_user_removes_their_sessions(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        new = sessions.start_session(session, user_id=alice.user_id, days=1)
    with db.write_session() as session:
        accounts.remove_user(session, name="alice")
    assert live(db, new.token) is None
    with db.read_session() as session:
        assert session.scalars(select(WebSession)).all() == []


def test_a_new_sign_in_in_the_same_browser_ends_its_previous_session(db: Database, alice: Account) -> None:
    with db.write_session() as session:
        first = sessions.start_session(session, user_id=alice.user_id, days=1)
        other = sessions.start_session(session, user_id=alice.user_id, days=1)
        second = sessions.start_session(session, user_id=alice.user_id, days=1, replacing=first.token)
    assert live(db, first.token) is None
    assert live(db, second.token) is not None and live(db, other.token) is not None
