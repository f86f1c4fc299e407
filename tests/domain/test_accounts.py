"""Users and tokens in domain/accounts.py: token expiry."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from domain import accounts
from common.db import Database
from common.errors import BadRequest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "after"), [
    ("90d", timedelta(days=90)), ("2w", timedelta(weeks=2)), ("12h", timedelta(hours=12)),
    ("30m", timedelta(minutes=30)), (" 7D ", timedelta(days=7)),
])
def test_an_expiry_is_read_as_a_count_and_a_unit(text: str, after: timedelta) -> None:
    assert accounts.expiry_after(text, now=NOW) == NOW + after


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "1y", "-3d", "1.5d", "9999999w"])
def test_an_unreadable_or_impossible_expiry_is_a_bad_request(text: str) -> None:
    with pytest.raises(BadRequest):
        accounts.expiry_after(text, now=NOW)


def test_an_expired_token_no_longer_authenticates(db: Database) -> None:
    with db.write_session() as session:
        user = accounts.create_user(session, name="eve")
        _, plaintext = accounts.create_token(session, user_id=user.id, label="soon",
                                             expires=datetime.now(UTC) + timedelta(minutes=5))
    with db.read_session() as session:
        assert accounts.authenticate_in(session, token=plaintext) is not None
    with closing(db.engine.raw_connection()) as conn:
        assert accounts.authenticate(conn.driver_connection, token=plaintext) is not None
    with db.write_session() as session:  # as if five minutes had passed
        [token] = accounts.list_tokens(session, user_id=user.id)
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with db.read_session() as session:
        assert accounts.authenticate_in(session, token=plaintext) is None
    with closing(db.engine.raw_connection()) as conn:
        assert accounts.authenticate(conn.driver_connection, token=plaintext) is None
