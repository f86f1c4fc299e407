"""Each user's data version: a number that changes whenever anything their bookmark answers show
changes (a bookmark, its tags, a tag's name), kept by triggers (migration 0003).

It is what makes a conditional GET cheap: the ETag of a bookmark answer is derived from it, so a
client that still holds the current answer is told 304 after one primary-key read (for an API
token, read along with the token: domain/accounts.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

_VERSION = "SELECT version FROM data_versions WHERE user_id = {user}"
VERSION_SQL = _VERSION.format(user="?")


def version_of(user_column: str) -> str:
    """The same read inside another statement, for the user in `user_column` (0 when no row yet):
    the token lookup (domain/accounts.py) carries the version along, so an API request's
    conditional GET needs no read of its own."""
    return f"COALESCE(({_VERSION.format(user=user_column)}), 0)"


def data_version(session: Session, *, user_id: int) -> int:
    """0 for a user who has never had a bookmark."""
    row = session.connection().exec_driver_sql(VERSION_SQL, (user_id,)).first()
    return 0 if row is None else int(row[0])
