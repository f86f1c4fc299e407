"""The generator keeps every invariant the API relies on, FTS included, and is repeatable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import datagen, vocab
from common.sqlite import sqlite3
from domain.urls import normalize_url

SMALL = datagen.Spec(main_bookmarks=400, other_users=2, other_bookmarks=60, tags=40, seed=3)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite3.Connection, dict]:
    directory = tmp_path_factory.mktemp("gen")
    meta = datagen.build(SMALL, directory)
    conn = sqlite3.connect(directory / "kura.db")
    yield conn, meta
    conn.close()


def test_every_user_gets_the_bookmarks_the_spec_asks_for(built) -> None:
    conn, meta = built
    counts = dict(conn.execute("SELECT u.name, count(b.id) FROM users u LEFT JOIN bookmarks b ON b.user_id = u.id"
                               " GROUP BY u.id"))
    assert counts == {"bench": 400, "user01": 60, "user02": 60}
    for user in meta["users"]:
        ids = conn.execute("SELECT min(id), max(id) FROM bookmarks WHERE user_id = ?", (user["id"],)).fetchone()
        assert ids == (user["first_id"], user["last_id"])


def test_each_bookmark_has_one_to_five_tags_of_its_own_user(built) -> None:
    conn, _ = built
    per_bookmark = [n for (n,) in conn.execute(
        "SELECT count(bt.tag_id) FROM bookmarks b LEFT JOIN bookmark_tags bt ON bt.bookmark_id = b.id GROUP BY b.id")]
    assert min(per_bookmark) >= 1 and max(per_bookmark) <= 5
    foreign = conn.execute("SELECT count(*) FROM bookmark_tags bt JOIN bookmarks b ON b.id = bt.bookmark_id"
                           " JOIN tags t ON t.id = bt.tag_id WHERE t.user_id != b.user_id").fetchone()[0]
    assert foreign == 0
    assert conn.execute("SELECT count(*) FROM tags WHERE user_id = 1").fetchone()[0] == SMALL.tags


def test_collections_nest_and_belong_to_the_bookmarks_owner(built) -> None:
    conn, _ = built
    depth_two = conn.execute("SELECT count(*) FROM collections c JOIN collections p ON p.id = c.parent_id"
                             " WHERE p.parent_id IS NOT NULL").fetchone()[0]
    assert depth_two > 0
    mismatched = conn.execute("SELECT count(*) FROM bookmarks b JOIN collections c ON c.id = b.collection_id"
                              " WHERE c.user_id != b.user_id").fetchone()[0]
    assert mismatched == 0
    assert conn.execute("SELECT count(*) FROM bookmarks WHERE collection_id IS NULL").fetchone()[0] > 0


def test_the_fts_index_matches_the_bookmarks_exactly(built) -> None:
    conn, meta = built
    conn.execute("INSERT INTO bookmarks_fts(bookmarks_fts, rank) VALUES ('integrity-check', 1)")
    word = meta["common_word"]
    rows = conn.execute("SELECT title, description, url, notes FROM bookmarks").fetchall()
    expected = sum(1 for row in rows if word in re.split(r"[^a-z0-9]+", " ".join(row).lower()))
    found = conn.execute("SELECT count(*) FROM bookmarks_fts WHERE bookmarks_fts MATCH ?", (word,)).fetchone()[0]
    assert expected > 0 and found == expected


def test_urls_are_stored_in_the_form_the_api_would_store(built) -> None:
    conn, _ = built
    urls = [url for (url,) in conn.execute("SELECT url FROM bookmarks")]
    assert all(normalize_url(url) == url for url in urls)


def test_the_same_seed_builds_the_same_bookmarks(tmp_path: Path, built) -> None:
    conn, _ = built
    datagen.build(SMALL, tmp_path)
    with sqlite3.connect(tmp_path / "kura.db") as again:
        query = "SELECT id, url, title, created_at, collection_id FROM bookmarks ORDER BY id"
        assert again.execute(query).fetchall() == conn.execute(query).fetchall()


def test_the_search_words_are_common_rare_and_a_real_phrase(built) -> None:
    conn, meta = built
    count = lambda q: conn.execute("SELECT count(*) FROM bookmarks_fts WHERE bookmarks_fts MATCH ?", (q,)).fetchone()[0]  # noqa: E731
    assert count(meta["common_word"]) > 10 * max(1, count(meta["rare_word"]))
    assert count(f'"{meta["phrase"]}"') > 0
    assert meta["common_word"] in vocab.VOCAB


def test_the_cache_builds_once_and_reuses_the_file(tmp_path: Path) -> None:
    spec = datagen.Spec(main_bookmarks=20, other_users=1, other_bookmarks=5, tags=5)
    first, meta = datagen.cached(spec, tmp_path)
    stamp = first.stat().st_mtime_ns
    second, again = datagen.cached(spec, tmp_path)
    assert second == first and second.stat().st_mtime_ns == stamp and again == meta
    assert not list(tmp_path.glob(".building-*"))


def test_the_search_change_log_keeps_only_its_newest_row_as_a_hosts_does(built) -> None:
    conn, _ = built
    links = conn.execute("SELECT count(*) FROM bookmark_tags").fetchone()[0]
    assert links > 0  # each of them logged a row while the data went in
    assert conn.execute("SELECT count(*), max(seq) FROM search_log").fetchone() == (
        1, conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'search_log'").fetchone()[0])
