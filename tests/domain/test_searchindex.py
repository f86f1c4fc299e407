"""The derived search index (tantivy) against the SQL search it stands in for, on real files.

Each test builds a small generated database through Kura's own write path (so the search_log triggers
see what the API's writes do), indexes it in tmp_path and compares what each search finds with the
FTS5 search in domain.listing.
"""

from __future__ import annotations

import os
import time

import fcntl
import json
import random
import shutil
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

tantivy = pytest.importorskip("tantivy")

from common.sqlite import sqlite3
from domain import bookmarks, tags  # noqa: E402
from common.db import Database  # noqa: E402
from domain.listing import list_bookmarks  # noqa: E402
from domain.search import parse_query  # noqa: E402
from domain.searchindex.live import SYNC_NICENESS, IndexBehind
from domain.searchindex import (  # noqa: E402
    PRUNE_SQL, IndexBusy, IndexUnusable, LiveIndex, SearchIndex, ensure_current, rebuild,
)
from domain.searchindex import query as query_module  # noqa: E402
from domain.searchindex import store  # noqa: E402
from domain.searchindex.query import build_query, top_hits  # noqa: E402
from domain.searchindex.rerank import BLOCK  # noqa: E402
from domain.searchindex.schema import register  # noqa: E402
from domain.searchindex.store import WATERMARK_FILE  # noqa: E402

WORDS = ["heron", "heronry", "hero", "egret", "swan", "swallow", "crane", "cranberry", "owl", "owlet",
         "kite", "kestrel", "café", "Ünïcode", "write-ahead", "log"]
TAGS = ["birds", "Water", "night", "two words"]
QUERIES = ["heron", "heron swan", '"heron swan"', "heron -swan", 'heron -"swan owl"', "heron #birds",
           "heron #BIRDS #water", "her*", "cran* owl", '"heron sw"*', "cafe", "CAFÉ", "unicode",
           "write-ahead", '"write ahead" log', "kestrel -kite -owl", "swan #\"two words\"", "nothinghere"]


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _add(db: Database, user_id: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with db.write_session() as session:
        for n in range(count):
            bookmarks.create_bookmark(
                session, user_id=user_id, url=f"https://example.org/{seed}/{n}", title=_sentence(rng, 1, 5),
                description=_sentence(rng, 0, 8), notes=_sentence(rng, 0, 3),
                tags=rng.sample(TAGS, rng.randint(0, 2)))


@pytest.fixture
def db_path(db: Database) -> Path:
    # The log table and its triggers come with the schema (migration 0003).
    return db.path


@pytest.fixture
def users(db: Database, db_path: Path, make_account: Callable) -> tuple[int, int]:
    alice, bob = make_account("alice").user_id, make_account("bob").user_id
    _add(db, alice, 160, seed=1)
    _add(db, bob, 60, seed=2)
    return alice, bob


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    yield connection
    connection.close()


@pytest.fixture
def index(db_path: Path, users: tuple[int, int], tmp_path: Path) -> Iterator[SearchIndex]:
    built = rebuild(db_path, tmp_path / "search-index")
    yield built
    built.close()


def sql_ids(db: Database, user_id: int, q: str) -> list[int]:
    with db.read_session() as session:
        page = list_bookmarks(session, user_id=user_id, q=q, sort="relevance", limit=10_000)
    return [item["id"] for item in page["items"]]


def index_ids(conn: sqlite3.Connection, index: SearchIndex, user_id: int, q: str, limit: int = 10_000) -> list[int]:
    return [i for i, _ in index.search_ids(conn, user_id=user_id, query=parse_query(q), limit=limit)]


def caught_up_search(live: LiveIndex, conn: sqlite3.Connection, user_id: int, q: str,
                     limit: int) -> list[tuple[int, float]]:
    """The live index's answer once it has caught up. The test's own deadline, not the API's half
    second (CATCH_UP_WAIT_S): what is tested is the answer, and on a busy machine a sync pass or a
    rebuild outlasts half a second. It still raises IndexBehind if the index never catches up."""
    return live.search_ids(conn, user_id=user_id, query=parse_query(q), limit=limit, catch_up_s=60.0)


def assert_same_as_sql(db: Database, conn: sqlite3.Connection, index: SearchIndex, user_ids: tuple[int, ...]) -> None:
    for user_id in user_ids:
        for q in QUERIES:
            assert sorted(index_ids(conn, index, user_id, q)) == sorted(sql_ids(db, user_id, q)), q


def test_every_case_of_the_query_language_finds_what_the_sql_search_finds(conn: sqlite3.Connection, 
        db: Database, index: SearchIndex, users: tuple[int, int]) -> None:
    assert_same_as_sql(db, conn, index, users)
    assert len(index_ids(conn, index, users[0], "heron")) > 20  # the cases are not all empty


def test_a_user_finds_only_their_own_bookmarks(conn: sqlite3.Connection, db: Database, index: SearchIndex, users: tuple[int, int]) -> None:
    alice, bob = users
    with db.read_session() as session:
        owners = dict(session.connection().exec_driver_sql("SELECT id, user_id FROM bookmarks").all())
    assert {owners[i] for i in index_ids(conn, index, alice, "heron")} == {alice}
    assert {owners[i] for i in index_ids(conn, index, bob, "heron")} == {bob}


def test_a_title_hit_ranks_above_the_same_word_in_notes(conn: sqlite3.Connection, db: Database, db_path: Path, tmp_path: Path,
                                                        make_account: Callable) -> None:
    carol = make_account("carol").user_id
    with db.write_session() as session:
        in_notes = bookmarks.create_bookmark(session, user_id=carol, url="https://a.example/", title="swan",
                                             notes="osprey")["id"]
        in_title = bookmarks.create_bookmark(session, user_id=carol, url="https://b.example/", title="osprey",
                                             notes="swan")["id"]
    built = rebuild(db_path, tmp_path / "ix")
    assert index_ids(conn, built, carol, "osprey") == [in_title, in_notes] == sql_ids(db, carol, "osprey")
    built.close()


def test_the_first_block_is_ranked_exactly_as_the_sql_search_ranks_it(
        conn: sqlite3.Connection, db: Database, index: SearchIndex, users: tuple[int, int]) -> None:
    # Fewer matches than a re-ranked block: the order is FTS5's bm25 order, ties by id.
    for q in ("kestrel", "owlet", "cranberry", "kite -owl", '"heron swan"', "cranb*", "kes* owl", "swan #birds"):
        ours, theirs = index_ids(conn, index, users[0], q), sql_ids(db, users[0], q)
        assert len(theirs) < BLOCK and ours == theirs, q


def test_pages_after_a_keyset_continue_exactly_where_the_last_one_ended(conn: sqlite3.Connection, index: SearchIndex,
                                                                        users: tuple[int, int]) -> None:
    query = parse_query("heron")
    whole = index.search_ids(conn, user_id=users[0], query=query, limit=10_000)
    pages: list[tuple[int, float]] = []
    while True:
        after = (pages[-1][1], pages[-1][0]) if pages else None
        page = index.search_ids(conn, user_id=users[0], query=query, limit=7, after=after)
        if not page:
            break
        pages.extend(page)
    assert pages == whole
    assert [(-score, i) for i, score in whole] == sorted((-score, i) for i, score in whole)


def test_equal_scores_are_ordered_by_id_across_pages(conn: sqlite3.Connection, db: Database, db_path: Path,
                                                     tmp_path: Path, make_account: Callable) -> None:
    # 40 identical bookmarks: every cut of tantivy's top-n falls inside one tie group.
    dave = make_account("dave").user_id
    with db.write_session() as session:
        ids = [bookmarks.create_bookmark(session, user_id=dave, url=f"https://same.example/{n}",
                                         title="osprey")["id"] for n in range(40)]
    built = rebuild(db_path, tmp_path / "ix")
    query = parse_query("osprey")
    first = built.search_ids(conn, user_id=dave, query=query, limit=10)
    rest = built.search_ids(conn, user_id=dave, query=query, limit=100, after=(first[-1][1], first[-1][0]))
    assert [i for i, _ in first + rest] == sorted(ids) == sql_ids(db, dave, "osprey")
    built.close()
    raw = tantivy.Index.open(str(tmp_path / "ix"))
    register(raw)
    searcher = raw.searcher()
    tantivy_query = build_query(raw.schema, searcher, user_id=dave, parsed=query)
    assert [i for i, _ in top_hits(searcher, tantivy_query, limit=10)] == sorted(ids)[:10]  # after a refetch


def test_a_prefix_with_more_words_than_are_expanded_matches_all_of_them(
        conn: sqlite3.Connection, db: Database, index: SearchIndex, users: tuple[int, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query_module, "PREFIX_EXPANSIONS", 1)  # her* stands for heron, heronry, hero
    for q in ("her*", "her* -swan", "swan her*"):
        assert sorted(index_ids(conn, index, users[0], q)) == sorted(sql_ids(db, users[0], q)), q


def test_a_search_with_no_word_to_rank_by_answers_nothing(conn: sqlite3.Connection, index: SearchIndex, users: tuple[int, int]) -> None:
    assert index.search_ids(conn, user_id=users[0], query=parse_query("#birds -heron"), limit=10) == []


def _change_everything(db: Database, alice: int) -> None:
    """Text edits, a delete, tag edits on a bookmark, a tag renamed, one merged, one deleted."""
    first, second, third = sql_ids(db, alice, "heron")[:3]
    with db.write_session() as session:
        bookmarks.update_bookmark(session, user_id=alice, bookmark_id=first,
                                  changes={"title": "albatross", "tags": ["pelagic"]})
        bookmarks.delete_bookmark(session, user_id=alice, bookmark_id=second)
        bookmarks.update_bookmark(session, user_id=alice, bookmark_id=third, changes={"notes": "albatross"})
        by_name = {t["name"]: t["id"] for t in tags.list_tags(session, user_id=alice)}
        tags.rename_tag(session, user_id=alice, tag_id=by_name["night"], name="nocturnal")
        tags.rename_tag(session, user_id=alice, tag_id=by_name["Water"], name="birds")  # a merge
        tags.delete_tag(session, user_id=alice, tag_id=by_name["two words"])
        bookmarks.create_bookmark(session, user_id=alice, url="https://new.example/", title="albatross heron",
                                  tags=["nocturnal"])


def test_updates_deletes_and_tag_changes_show_after_a_sync(db: Database, index: SearchIndex, conn: sqlite3.Connection,
                                                           users: tuple[int, int]) -> None:
    alice = users[0]
    before = index_ids(conn, index, alice, "#night heron")
    _change_everything(db, alice)
    assert index.is_behind(conn)
    assert index.sync(conn) > 0 and not index.is_behind(conn)
    assert index_ids(conn, index, alice, "#nocturnal heron") and not index_ids(conn, index, alice, "#night heron")
    assert len(index_ids(conn, index, alice, "#nocturnal heron")) == len(before) + 1
    assert_same_as_sql(db, conn, index, users)
    for q in ("albatross", "#pelagic albatross", "#nocturnal heron", "#birds heron", "#water heron"):
        assert sorted(index_ids(conn, index, alice, q)) == sorted(sql_ids(db, alice, q)), q


def test_a_rebuild_from_scratch_finds_what_the_incremental_index_finds(
        db: Database, db_path: Path, index: SearchIndex, conn: sqlite3.Connection,
        users: tuple[int, int], tmp_path: Path) -> None:
    _change_everything(db, users[0])
    index.sync(conn)
    fresh = rebuild(db_path, tmp_path / "fresh")
    assert fresh.watermark == index.watermark
    for user_id in users:
        for q in [*QUERIES, "albatross", "#nocturnal heron", "#birds heron"]:
            # Matches are equal; scores may differ a little (deleted documents still count in
            # tantivy's statistics until their segment is merged).
            assert sorted(index_ids(conn, fresh, user_id, q)) == sorted(index_ids(conn, index, user_id, q)), q
    fresh.close()


def test_a_missing_index_is_rebuilt_at_startup(conn: sqlite3.Connection, db: Database, db_path: Path, users: tuple[int, int],
                                               tmp_path: Path) -> None:
    started = ensure_current(db_path, tmp_path / "never-built")
    assert_same_as_sql(db, conn, started, users)
    started.close()


def test_an_index_left_behind_is_caught_up_at_startup(conn: sqlite3.Connection, db: Database, db_path: Path, index: SearchIndex,
                                                      users: tuple[int, int]) -> None:
    old = index.watermark
    index.close()
    _change_everything(db, users[0])  # written while no kura-api ran (kura import, say)
    started = ensure_current(db_path, index.index_dir)
    assert started.watermark.seq > old.seq
    assert sorted(index_ids(conn, started, users[0], "albatross")) == sorted(sql_ids(db, users[0], "albatross"))
    started.close()


def test_a_crash_between_the_commit_and_the_watermark_only_reapplies(
        db: Database, index: SearchIndex, conn: sqlite3.Connection, users: tuple[int, int]) -> None:
    stale_mark = (index.index_dir / WATERMARK_FILE).read_text()
    _change_everything(db, users[0])
    index.sync(conn)
    index.close()
    (index.index_dir / WATERMARK_FILE).write_text(stale_mark)  # the index has the changes, the mark not
    reopened = SearchIndex.open(index.index_dir)
    assert reopened.is_behind(conn) and reopened.sync(conn) > 0
    found = index_ids(conn, reopened, users[0], "heron")
    assert len(found) == len(set(found))  # re-applied, not duplicated
    assert_same_as_sql(db, conn, reopened, users)
    reopened.close()


@pytest.mark.parametrize("damage", ["no watermark", "other schema", "garbage", "no tantivy files"])
def test_an_unreadable_or_other_version_index_is_rebuilt(conn: sqlite3.Connection, db: Database, db_path: Path, index: SearchIndex,
                                                         users: tuple[int, int], damage: str) -> None:
    index.close()
    mark = index.index_dir / WATERMARK_FILE
    if damage == "no watermark":
        mark.unlink()
    elif damage == "other schema":
        mark.write_text(json.dumps({**json.loads(mark.read_text()), "schema": 0}))
    elif damage == "garbage":
        mark.write_text("{")
    else:
        (index.index_dir / "meta.json").unlink()
    with pytest.raises(IndexUnusable):
        SearchIndex.open(index.index_dir)
    started = ensure_current(db_path, index.index_dir)
    assert_same_as_sql(db, conn, started, users)
    started.close()


def test_a_restored_older_backup_is_recognised_as_another_database(
        db: Database, db_path: Path, index: SearchIndex, conn: sqlite3.Connection,
        users: tuple[int, int], tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    with closing(sqlite3.connect(backup)) as copy:
        conn.backup(copy)
    _change_everything(db, users[0])
    index.sync(conn)
    index.close()
    with closing(sqlite3.connect(backup)) as copy:
        copy.backup(conn)  # the restore; then a different write takes the same log positions
    _add(db, users[0], 40, seed=9)
    with pytest.raises(IndexUnusable):
        SearchIndex.open(index.index_dir).sync(conn)
    started = ensure_current(db_path, index.index_dir)
    assert_same_as_sql(db, conn, started, users)
    assert not index_ids(conn, started, users[0], "albatross")
    started.close()


def test_pruning_keeps_the_row_the_index_recognises_the_database_by(
        db: Database, index: SearchIndex, conn: sqlite3.Connection, users: tuple[int, int]) -> None:
    _change_everything(db, users[0])
    index.sync(conn)
    conn.execute(PRUNE_SQL, (index.watermark.seq,))
    assert conn.execute("SELECT count(*) FROM search_log").fetchone()[0] == 1
    _add(db, users[0], 5, seed=11)
    assert index.sync(conn) == 5
    conn.execute(PRUNE_SQL, (index.watermark.seq + 1,))  # pruned past the index: it cannot follow
    with pytest.raises(IndexUnusable):
        index.sync(conn)


def test_a_rebuild_does_not_swap_an_index_another_writer_holds(
        db: Database, db_path: Path, index: SearchIndex, conn: sqlite3.Connection, users: tuple[int, int]) -> None:
    _add(db, users[0], 1, seed=12)
    index.sync(conn)  # this SearchIndex now holds the writer, as kura-api's would
    with pytest.raises(IndexBusy):
        rebuild(db_path, index.index_dir)
    index.close()
    rebuild(db_path, index.index_dir).close()


def test_a_large_backlog_is_applied_in_chunks(conn: sqlite3.Connection, db: Database, index: SearchIndex,
                                             users: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "SYNC_CHUNK", 7)  # as a 100k-bookmark import meets SYNC_CHUNK
    _change_everything(db, users[0])
    _add(db, users[1], 30, seed=15)
    assert index.sync(conn) > 30
    assert_same_as_sql(db, conn, index, users)


def test_one_rebuild_at_a_time_and_a_killed_ones_leftovers_are_removed(
        db_path: Path, users: tuple[int, int], tmp_path: Path) -> None:
    target = tmp_path / "search-index"
    leftovers = [tmp_path / ".search-index.building-99999", tmp_path / ".search-index.old-99999"]
    for leftover in leftovers:
        leftover.mkdir()
    with open(tmp_path / ".search-index.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another rebuild is running
        with pytest.raises(IndexBusy):
            rebuild(db_path, target)
    assert all(leftover.exists() for leftover in leftovers)  # not removed under another's lock
    rebuild(db_path, target).close()
    assert not any(leftover.exists() for leftover in leftovers)


def test_the_live_index_finds_a_write_at_the_next_search(db: Database, db_path: Path, conn: sqlite3.Connection,
                                                         users: tuple[int, int], tmp_path: Path) -> None:
    live = LiveIndex(db_path, tmp_path / "live")
    live.start()
    try:
        _change_everything(db, users[0])  # no poke: the search sees the log ahead and waits for it
        found = caught_up_search(live, conn, users[0], "albatross", 100)
        assert sorted(i for i, _ in found) == sorted(sql_ids(db, users[0], "albatross"))
        _add(db, users[0], 3, seed=13)
        live.poke()
        found = caught_up_search(live, conn, users[0], "heron", 10_000)
        assert sorted(i for i, _ in found) == sorted(sql_ids(db, users[0], "heron"))
    finally:
        live.stop()


def test_the_live_index_refuses_to_answer_stale_while_another_writer_holds_the_index(
        conn: sqlite3.Connection, db: Database, db_path: Path, users: tuple[int, int], tmp_path: Path) -> None:
    live = LiveIndex(db_path, tmp_path / "live")
    live.start()
    other = SearchIndex.open(tmp_path / "live")
    try:
        _add(db, users[0], 1, seed=16)
        other.sync(conn)  # `other` now holds the writer's lock, as a second process would
        _change_everything(db, users[0])
        with pytest.raises(IndexBehind):  # the caller (api/searching.py) asks FTS5 instead
            live.search_ids(conn, user_id=users[0], query=parse_query("albatross"), limit=10)
        other.close()
        found = caught_up_search(live, conn, users[0], "albatross", 10)
        assert sorted(i for i, _ in found) == sorted(sql_ids(db, users[0], "albatross"))
    finally:
        other.close()
        live.stop()


def test_the_live_index_rebuilds_when_the_database_is_replaced(db: Database, db_path: Path,
                                                               conn: sqlite3.Connection, users: tuple[int, int],
                                                               tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    with closing(sqlite3.connect(backup)) as copy:
        conn.backup(copy)
    live = LiveIndex(db_path, tmp_path / "live")
    live.start()
    try:
        _change_everything(db, users[0])
        caught_up_search(live, conn, users[0], "albatross", 10)
        with closing(sqlite3.connect(backup)) as copy:
            copy.backup(conn)
        _add(db, users[0], 2, seed=14)
        found = caught_up_search(live, conn, users[0], "albatross", 10)
        assert found == []
        found = caught_up_search(live, conn, users[0], "heron", 10_000)
        assert sorted(i for i, _ in found) == sorted(sql_ids(db, users[0], "heron"))
    finally:
        live.stop()


def test_an_index_directory_can_be_copied_and_opened_elsewhere(conn: sqlite3.Connection, index: SearchIndex, users: tuple[int, int],
                                                               tmp_path: Path) -> None:
    # The index holds nothing tied to its path: a copy answers the same (a backup never needs it).
    index.close()
    shutil.copytree(index.index_dir, tmp_path / "copy")
    copy = SearchIndex.open(tmp_path / "copy")
    assert index_ids(conn, copy, users[0], "heron") == index_ids(conn, index, users[0], "heron")
    copy.close()


def test_the_live_index_keeps_current_on_a_niced_thread(db_path: Path, tmp_path: Path) -> None:
    live = LiveIndex(db_path, tmp_path / "live")
    live.start()
    try:
        wanted = min(19, os.getpriority(os.PRIO_PROCESS, 0) + SYNC_NICENESS)
        for _ in range(500):  # the thread sets it first thing; give it up to ~5 s on a busy machine
            nice = os.getpriority(os.PRIO_PROCESS, live._thread.native_id)  # type: ignore[arg-type]
            if nice == wanted:
                break
            time.sleep(0.01)
        assert nice == wanted
    finally:
        live.stop()
