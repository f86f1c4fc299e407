"""The derived search index inside the API: it answers relevance searches with FTS5's order, follows
every commit, survives a lost or foreign index, and its change log is pruned without losing its place."""

from __future__ import annotations

import fcntl
import shutil
import threading
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import searching
from api.app import create_app
from common.sqlite import sqlite3
from domain import listing
from common.db import Database
from common.settings import Settings
from tests.api.bookmark_seed import WORDS, seed_bookmarks
from tests.conftest import Account

QUERIES = [*WORDS, "note", "python -sqlite", '"python note"', "pyth*", "note #tag1", "about garden"]


def pages(client: TestClient, owner: Account, q: str, limit: int = 7) -> list[list[int]]:
    """Every page of a search, following the cursors."""
    out, cursor = [], None
    while True:
        params: dict[str, Any] = {"q": q, "limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/v1/search", params=params, headers=owner.headers)
        assert answer.status_code == 200, answer.text
        out.append([item["id"] for item in answer.json()["items"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return out


@pytest.fixture(autouse=True)
def _rank_every_search_with_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    # These small libraries have only rare words, which FTS5 ranks (listing.FTS_MATCHES_MAX): send
    # every search to the index so that it is the index that these tests test.
    monkeypatch.setattr(listing, "FTS_MATCHES_MAX", 0)


@pytest.fixture
def fts_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"search_index": False}), db)) as other:
        yield other


def test_the_index_answers_with_the_same_pages_as_fts5(client: TestClient, fts_client: TestClient, db: Database,
                                                       alice: Account, bob: Account) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=120)
    seed_bookmarks(db, user_id=bob.user_id, count=40)
    assert client.app.state.tx.search_index is not None
    for q in QUERIES:
        with_index = pages(client, alice, q)
        assert with_index == pages(fts_client, alice, q), q
    assert sum(map(len, pages(client, bob, "note"))) == 40  # only the caller's own


def test_a_ranked_page_is_read_on_the_index_threads_without_a_session(client: TestClient, db: Database,
                                                                     alice: Account) -> None:
    # A SQLAlchemy session's setup and checkout cost as much CPU as a common word's whole search.
    seed_bookmarks(db, user_id=alice.user_id, count=40)
    threads: list[str] = []
    db.statement_hooks.append(lambda statement, _: threads.append(threading.current_thread().name)
                              if "json_each" in statement else None)
    answer = client.get("/api/v1/search", params={"q": "python"}, headers=alice.headers)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 10
    assert threads and all(name.startswith("kura-search") for name in threads), threads


def test_a_search_right_after_a_write_finds_it(client: TestClient, alice: Account) -> None:
    for n in range(3):
        created = client.post("/api/v1/bookmarks", headers=alice.headers,
                              json={"url": f"https://w{n}.example/", "title": f"wombat{n} facts"})
        assert created.status_code == 201
        assert pages(client, alice, f"wombat{n}") == [[created.json()["id"]]]
        client.patch(f"/api/v1/bookmarks/{created.json()['id']}", json={"title": "renamed"}, headers=alice.headers)
        assert pages(client, alice, f"wombat{n}") == [[]]


def test_a_search_waiting_for_the_index_to_catch_up_holds_no_search_thread(
        client: TestClient, db: Database, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searching, "CATCH_UP_WAIT_S", 60.0)  # it waits while the syncer is held below
    index = client.app.state.tx.search_index
    found_behind = threading.Event()
    poke = index.poke

    def recording_poke(*, urgent: bool = False) -> None:
        poke(urgent=urgent)
        if urgent:  # only a search that finds the index behind pokes urgently
            found_behind.set()

    monkeypatch.setattr(index, "poke", recording_poke)
    by_fts5: list[str] = []
    db.statement_hooks.append(lambda statement, _: by_fts5.append(statement) if "MATCH" in statement else None)
    answers: list[list[list[int]]] = []
    with index._index._lock:  # the syncer's next pass waits for this: the index stays behind
        created = client.post("/api/v1/bookmarks", headers=alice.headers,
                              json={"url": "https://q.example/", "title": "quokka facts"})
        assert created.status_code == 201
        search = threading.Thread(target=lambda: answers.append(pages(client, alice, "quokka")))
        search.start()
        assert found_behind.wait(timeout=60), "the search did not find the index behind"
        # The search thread (there is one) takes other work while that search waits.
        assert index.submit(lambda: "free").result(timeout=60) == "free"
    search.join(timeout=60)
    # The index answered it, with the write, once it caught up: the search had not given up to FTS5.
    assert answers == [[[created.json()["id"]]]] and not by_fts5


def test_a_missing_or_damaged_index_is_rebuilt_at_start(settings: Settings, db: Database, alice: Account) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=30)
    with TestClient(create_app(settings, db)) as first:
        expected = pages(first, alice, "python")
    shutil.rmtree(searching.index_dir(settings))
    with TestClient(create_app(settings, db)) as second:
        assert pages(second, alice, "python") == expected
    for path in searching.index_dir(settings).iterdir():
        if path.suffix == ".json" or path.name.startswith("meta"):
            path.write_text("garbage")
    with TestClient(create_app(settings, db)) as third:
        assert pages(third, alice, "python") == expected


def test_while_another_process_rebuilds_the_index_search_falls_back_to_fts5(settings: Settings, db: Database,
                                                                         alice: Account, errors: list[str]) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=20)
    index_dir = searching.index_dir(settings)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(index_dir.with_name(f".{index_dir.name}.lock"), "a") as lock:  # as `kura search rebuild` holds it
        fcntl.flock(lock, fcntl.LOCK_EX)
        with TestClient(create_app(settings, db)) as client:
            assert client.app.state.tx.search_index is None
            assert sum(map(len, pages(client, alice, "python"))) == mentions(db, "python")
    assert any("search index unavailable" in line for line in errors)


def mentions(db: Database, word: str) -> int:
    with closing(sqlite3.connect(db.path)) as conn:
        return int(conn.execute("SELECT count(*) FROM bookmarks WHERE title LIKE ?1 OR description LIKE ?1",
                                (f"%{word}%",)).fetchone()[0])


def log_rows(db: Database) -> int:
    with closing(sqlite3.connect(db.path)) as conn:
        return int(conn.execute("SELECT count(*) FROM search_log").fetchone()[0])


def test_the_change_log_is_pruned_but_keeps_the_watermark_row(client: TestClient, settings: Settings, db: Database,
                                                            alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=50)
    assert pages(client, alice, "python")  # the index has caught up with the seeded rows
    tx = client.app.state.tx
    monkeypatch.setattr(searching, "PRUNE_AFTER_ROWS", 10)
    assert log_rows(db) > 50
    assert client.portal.call(searching.prune_log, tx, tx.search_index)
    assert log_rows(db) == 1
    assert not client.portal.call(searching.prune_log, tx, tx.search_index)  # nothing left to prune
    expected = pages(client, alice, "python")
    client.__exit__(None, None, None)
    with TestClient(create_app(settings, db)) as again:  # recognises the pruned log: no rebuild needed
        assert pages(again, alice, "python") == expected
