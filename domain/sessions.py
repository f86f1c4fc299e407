"""Web sessions: one row per signed-in browser (table web_sessions, migration 0007).

The cookie carries a random value; only its SHA-256 is stored, so a copy of the database opens no
session. Each session has its own CSRF token, which every form posts back. Expiry slides: each use
(recorded at most once a minute) moves `expires_at` to `days` after it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from common.sqlite import sqlite3
from domain.accounts import Principal, hash_token
from domain.models import WebSession, from_micros, to_micros, utcnow

TOUCH_EVERY = timedelta(minutes=1)
WEB_TOKEN_ID = 0  # Principal.token_id of a web session's user: no API token is involved


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie's value: shown to the browser once, never stored
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class LiveSession:
    session_id: int
    principal: Principal
    csrf: str
    last_seen_at: datetime
    expires_at: datetime

    def touch_due(self, now: datetime) -> bool:
        return now - self.last_seen_at >= TOUCH_EVERY


SESSION_SQL = (
    "SELECT s.id, s.token_hash, s.csrf, s.last_seen_at, s.expires_at, u.id, u.name, u.is_admin "
    "FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?"
)


def start_session(session: Session, *, user_id: int, days: float, replacing: str | None = None) -> NewSession:
    """A new session for `user_id`, ending the browser's previous one (`replacing`, its cookie) if
    any; expired sessions of every user go at the same time (sign-ins are rare, so this keeps the
    table small without a timer)."""
    now = utcnow()
    stale = WebSession.expires_at <= now
    if replacing:
        stale = stale | (WebSession.token_hash == hash_token(replacing))
    session.execute(delete(WebSession).where(stale))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)
    session.add(WebSession(user_id=user_id, token_hash=hash_token(token), csrf=csrf,
                           created_at=now, last_seen_at=now, expires_at=expires))
    session.flush()
    return NewSession(token=token, csrf=csrf, expires_at=expires)


def find_session(conn: sqlite3.Connection, *, token: str) -> LiveSession | None:
    """The live session for a cookie value, or None, on a plain sqlite3 connection (the event
    loop's, like the API's token lookup): a point read on a unique index."""
    digest = hash_token(token)
    return _live(conn.execute(SESSION_SQL, (digest,)).fetchone(), digest)


def find_session_in(session: Session, *, token: str) -> LiveSession | None:
    """`find_session` in a session, for a worker thread when the loop's connection met a lock."""
    digest = hash_token(token)
    return _live(session.connection().exec_driver_sql(SESSION_SQL, (digest,)).first(), digest)


def _live(row: Sequence[Any] | None, digest: str) -> LiveSession | None:
    if row is None or not hmac.compare_digest(row[1], digest):
        return None
    if row[4] <= to_micros(utcnow()):
        return None
    principal = Principal(user_id=row[5], name=row[6], is_admin=bool(row[7]), token_id=WEB_TOKEN_ID)
    return LiveSession(session_id=row[0], principal=principal, csrf=row[2],
                       last_seen_at=from_micros(row[3]), expires_at=from_micros(row[4]))


def touch_session(session: Session, *, session_id: int, days: float) -> datetime:
    """Record a use: the session now lasts `days` from here. Returns the new expiry."""
    now = utcnow()
    expires = now + timedelta(days=days)
    session.execute(update(WebSession).where(WebSession.id == session_id)
                    .values(last_seen_at=now, expires_at=expires))
    return expires


def end_session(session: Session, *, token: str) -> None:
    """Sign-out: the row goes, so the cookie opens nothing even if the browser keeps it."""
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
