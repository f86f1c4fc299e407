"""One page of a relevance search answered by the index, on plain sqlite3 connections.

domain.listing's `ranked_page` over a plain connection, and None where the index cannot answer:
without a SQLAlchemy session, a common word's whole search costs about as much CPU as the session's
setup, its connection checkout and its statement events did.
Not imported by the package (domain.listing imports the package; this module imports domain.listing).
"""

from __future__ import annotations

from typing import Any, Protocol

from common.sqlite import sqlite3
from domain import listing
from domain.search import parse_query


class Executes(Protocol):
    """A sqlite3 connection, or common.db's ObservedConnection around one."""

    def execute(self, statement: str, parameters: Any = ..., /) -> sqlite3.Cursor: ...


def ranked_page(index: listing.RankedIndex, rows: Executes, *, user_id: int, q: str, limit: int,
                cursor: str | None, shape: listing.Shape = listing.to_dicts) -> dict[str, Any] | None:
    """The page, as domain.listing.list_bookmarks shapes it for sort=relevance; None when the index
    cannot answer: no word to rank by (a #tag-only search). Raises IndexBehind at once when the
    index is catching up with a write: the caller waits for it without holding this thread. The
    index reads its candidates' texts on its own per-thread connection; `rows` reads the page's
    rows (the statement tests count)."""
    parsed = parse_query(q)
    if not parsed.include:
        return None
    return listing.ranked_page(lambda sql, params: rows.execute(sql, params).fetchall(), index,
                               user_id=user_id, parsed=parsed, limit=limit, cursor=cursor, shape=shape, catch_up_s=0)
