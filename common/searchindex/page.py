"""One page of a relevance search answered by the index, on plain sqlite3 connections.

The index ranks (FTS5's bm25, higher is better) and one statement reads the page's rows by id. It is
common.listing's `_ranked_page` without a SQLAlchemy session: a common word's whole search costs
about as much CPU as the session's setup, its connection checkout and its statement events did.
Not imported by the package (common.listing imports the package; this module imports common.listing).
"""

from __future__ import annotations

import sqlite3
from typing import Any, Protocol

import orjson

from common.bookmark_rows import to_dicts
from common.listing import BY_IDS, RankedIndex, decode_cursor, encode_cursor
from common.search import parse_query
from common.searchindex.live import IndexBehind


class Executes(Protocol):
    """A sqlite3 connection, or common.db's ObservedConnection around one."""

    def execute(self, statement: str, parameters: Any = ..., /) -> sqlite3.Cursor: ...


def ranked_page(index: RankedIndex, rows: Executes, *, user_id: int, q: str, limit: int,
                cursor: str | None) -> dict[str, Any] | None:
    """The page, as common.listing.list_bookmarks shapes it for sort=relevance; None when the index
    cannot answer: no word to rank by (a #tag-only search), or the index is still catching up with
    a write (then FTS5, which reads the table itself, must). The index reads its candidates' texts
    on its own per-thread connection; `rows` reads the page's rows (the statement tests count)."""
    parsed = parse_query(q)
    if not parsed.include:
        return None
    after = None
    if cursor:
        key, last_id = decode_cursor(cursor, sort="relevance")
        after = (-float(key), last_id)  # the cursor holds the negated score, as the SQL path's bm25()
    try:
        hits = index.search_ids(index.reader(), user_id=user_id, query=parsed, limit=limit + 1, after=after)
    except IndexBehind:
        return None
    more = len(hits) > limit
    hits = hits[:limit]
    ids = [bookmark_id for bookmark_id, _ in hits]
    found = {row[0]: row for row in rows.execute(BY_IDS, (orjson.dumps(ids).decode(), user_id))}
    next_cursor = encode_cursor("relevance", -hits[-1][1], hits[-1][0]) if more else None
    # A bookmark deleted since the index ranked it is left out rather than shown.
    return {"items": to_dicts([found[i] for i in ids if i in found]), "next_cursor": next_cursor}
