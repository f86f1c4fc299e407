"""A first import into a nearly empty database builds the secondary indexes once at the end
(store.indexes_built_after): afterwards every index is back as it was and queries use them, and a
failed import leaves them all in place."""

from __future__ import annotations

from contextlib import closing

import pytest

from common.db import Database
from common.sqlite import sqlite3
from domain.transfer import store
from tests.domain.transfer.test_importer import page


def indexes(db: Database) -> dict[str, str]:
    with closing(sqlite3.connect(db.path)) as conn:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def tagged(count: int, prefix: str = "b") -> bytes:
    return page(*[f'<DT><A HREF="https://{prefix}{i}.example/" ADD_DATE="{1700000000 + i}" TAGS="t{i % 7}">'
                  f'{prefix}{i}</A>' for i in range(count)])


def test_an_import_into_an_empty_database_puts_every_index_back(db, alice, import_bytes, count_queries) -> None:
    before = indexes(db)
    with count_queries:
        assert import_bytes(tagged(50), user_id=alice.user_id).created == 50
    dropped = [sql for sql in count_queries.statements if sql.startswith("DROP INDEX")]
    assert dropped  # it did take the fast way
    assert set(store.KEPT_LIVE) <= set(before) and not any(name in sql for name in store.KEPT_LIVE for sql in dropped)
    assert indexes(db) == before
    with closing(sqlite3.connect(db.path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"  # each index holds every row
        plan = " ".join(row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM bookmarks WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 50",
            (alice.user_id,)))
    assert "ix_bookmarks_user_created" in plan


def test_an_import_into_a_database_with_many_bookmarks_keeps_its_indexes_throughout(
        db, alice, import_bytes, count_queries, monkeypatch) -> None:
    import_bytes(tagged(3, prefix="old"), user_id=alice.user_id)
    monkeypatch.setattr(store, "SMALL_TABLE", 3)  # three bookmarks now count as many
    with count_queries:
        assert import_bytes(tagged(20), user_id=alice.user_id).created == 20
    assert not any("INDEX" in sql for sql in count_queries.statements)


def test_a_failed_import_into_an_empty_database_leaves_every_index_in_place(db, alice, import_bytes,
                                                                            monkeypatch) -> None:
    before = indexes(db)

    def broken(conn, links):  # type: ignore[no-untyped-def]
        raise OSError("disk went away")

    monkeypatch.setattr(store, "link_tags", broken)
    with pytest.raises(OSError):
        import_bytes(tagged(10), user_id=alice.user_id)
    assert indexes(db) == before
