"""An import does the per-row insert triggers' work in bulk (store.deferred_triggers): afterwards the
search index's log, the user's data version and each link's created_at are what the triggers would
have made them, and every trigger is back, even after a failed import."""

from __future__ import annotations

from contextlib import closing

import pytest
from sqlalchemy import text

from common.sqlite import sqlite3
from domain.data_version import data_version
from common.db import Database
from domain.transfer import store
from tests.domain.transfer.test_importer import page


def triggers(db: Database) -> set[str]:
    with closing(sqlite3.connect(db.path)) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def logged_since(db: Database, seq: int) -> set[int]:
    with closing(sqlite3.connect(db.path)) as conn:
        return {b for (b,) in conn.execute("SELECT bookmark_id FROM search_log WHERE seq > ?", (seq,))}


def head(db: Database) -> int:
    with closing(sqlite3.connect(db.path)) as conn:
        return int(conn.execute("SELECT max(seq) FROM search_log").fetchone()[0])


def version(db: Database, user_id: int) -> int:
    with db.read_session() as session:
        return data_version(session, user_id=user_id)


def test_an_import_logs_every_new_or_newly_tagged_bookmark_and_moves_the_version_once(db, alice, import_bytes) -> None:
    import_bytes(page('<DT><A HREF="https://old.example/" ADD_DATE="1600000000">old</A>'), user_id=alice.user_id)
    before, seq, all_triggers = version(db, alice.user_id), head(db), triggers(db)
    rows = [f'<DT><A HREF="https://n{i}.example/" ADD_DATE="{1700000000 + i}" TAGS="a,b{i % 2}">n{i}</A>'
            for i in range(30)]
    rows.append('<DT><A HREF="https://old.example/" ADD_DATE="1600000000" TAGS="added">old</A>')
    assert import_bytes(page(*rows), user_id=alice.user_id).created == 30
    with db.read_session() as session:
        ids = dict(session.execute(text("SELECT url, id FROM bookmarks")).all())
        links = session.execute(text("SELECT bt.created_at, b.created_at FROM bookmark_tags bt "
                                     "JOIN bookmarks b ON b.id = bt.bookmark_id")).all()
    assert logged_since(db, seq) == set(ids.values())  # the 30 new ones and the one that gained a tag
    assert version(db, alice.user_id) > before
    assert len(links) == 61 and all(link == bookmark for link, bookmark in links)
    assert triggers(db) == all_triggers


def test_a_link_added_by_a_merge_takes_the_date_the_merge_gives_its_bookmark(db, alice, import_bytes) -> None:
    import_bytes(page('<DT><A HREF="https://old.example/" ADD_DATE="1600000000" TAGS="kept">old</A>'),
                 user_id=alice.user_id)
    # The same URL again, dated earlier and with a new tag: the bookmark moves to the earlier date,
    # and both its old link (by trigger) and its new one (by the import) carry that date.
    import_bytes(page('<DT><A HREF="https://old.example/" ADD_DATE="1500000000" TAGS="added">old</A>'),
                 user_id=alice.user_id)
    with db.read_session() as session:
        links = session.execute(text("SELECT t.name, bt.created_at, b.created_at FROM bookmark_tags bt "
                                     "JOIN bookmarks b ON b.id = bt.bookmark_id JOIN tags t ON t.id = bt.tag_id "
                                     "ORDER BY t.name")).all()
    assert [(name, link) for name, link, _ in links] == [("added", 1_500_000_000_000_000),
                                                         ("kept", 1_500_000_000_000_000)]
    assert all(link == bookmark for _, link, bookmark in links)


def test_a_failed_import_leaves_every_trigger_in_place(db, alice, import_bytes, monkeypatch) -> None:
    all_triggers = triggers(db)

    def broken(conn, links):  # type: ignore[no-untyped-def]
        raise OSError("disk went away")

    monkeypatch.setattr(store, "link_tags", broken)
    with pytest.raises(Exception):
        import_bytes(page('<DT><A HREF="https://x.example/" TAGS="t">x</A>'), user_id=alice.user_id)
    assert triggers(db) == all_triggers >= set(store.DEFERRED)


def test_an_import_logs_each_bookmark_once_for_the_search_index(db, alice, import_bytes) -> None:
    import_bytes(page('<DT><A HREF="https://old.example/">old</A>'), user_id=alice.user_id)
    seq = head(db)
    rows = [f'<DT><A HREF="https://n{i}.example/" TAGS="a,b">n{i}</A>' for i in range(30)]
    rows.append('<DT><A HREF="https://old.example/" TAGS="added">old</A>')
    import_bytes(page(*rows), user_id=alice.user_id)
    with closing(sqlite3.connect(db.path)) as conn:
        logged = [b for (b,) in conn.execute("SELECT bookmark_id FROM search_log WHERE seq > ?", (seq,))]
    assert len(logged) == len(set(logged)) == 31  # a new bookmark's links add no second entry
