"""Web sign-in passwords, hashed with Argon2 (argon2-cffi's defaults, RFC 9106's second choice).

Tokens stay the API's credential; a password only opens a web session. A user without a password
(`password_hash` null) cannot sign in on the web at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from common.errors import BadRequest, NotFound
from domain.models import User, WebSession

PASSWORD_MAX = 1024  # Argon2 takes any length; a megabyte "password" would only be a CPU sink
HASHER = PasswordHasher()  # module-level so tests can swap in cheap parameters


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the name is unknown or has no password, so that a wrong name costs the
    same time as a wrong password and the timing does not tell which names exist. Made on first use:
    an Argon2 hash costs as much as the rest of a `kura` command's start."""
    return hasher.hash("no such user")


@dataclass(frozen=True)
class Candidate:
    """What a sign-in attempt checks the password against (read first, verified off the write turn)."""

    user_id: int | None
    password_hash: str | None


def hash_password(password: str) -> str:
    if not password:
        raise BadRequest("the password is empty")
    if len(password) > PASSWORD_MAX:
        raise BadRequest(f"the password is longer than {PASSWORD_MAX} characters")
    return HASHER.hash(password)


def set_password(session: Session, *, user_id: int, password: str) -> None:
    """Set (or replace) a user's password. The user's web sessions end: a new password is often a
    reaction to a stolen one."""
    password_hash = hash_password(password)
    changed = session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
    if changed.rowcount == 0:
        raise NotFound(f"no user with id {user_id}")
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def candidate(session: Session, *, name: str) -> Candidate:
    row = session.execute(select(User.id, User.password_hash).where(User.name == name)).first()
    return Candidate(None, None) if row is None else Candidate(row[0], row[1])


def verify(found: Candidate, password: str) -> tuple[bool, str | None]:
    """(the password is right, a new hash to store when Argon2's parameters changed since, else None).
    CPU-bound (tens of ms): run it in a worker thread, not on the event loop nor in the write turn."""
    if found.user_id is None or found.password_hash is None or not password or len(password) > PASSWORD_MAX:
        _burn(password)
        return False, None
    try:
        HASHER.verify(found.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (HASHER.hash(password) if HASHER.check_needs_rehash(found.password_hash) else None)


def _burn(password: str) -> None:
    try:
        HASHER.verify(_dummy_hash(HASHER), password[:PASSWORD_MAX] or "-")
    except VerificationError:
        pass


def store_rehash(session: Session, *, user_id: int, old_hash: str, new_hash: str) -> None:
    """Keep the stronger hash `verify` made, unless the password changed meanwhile."""
    session.execute(update(User).where(User.id == user_id, User.password_hash == old_hash)
                    .values(password_hash=new_hash))
