"""Issue 10's concurrency proof: 200 simultaneous creates against a real kura-api all finish.

Each answers 201, or 503 with Retry-After in the standard error shape (the write turn was not free
within KURA_WRITE_WAIT_S); none is left without an answer, /readyz answers within 1 s while they
run, and the API serves a normal create and read afterwards. The same holds with the thread pool
deliberately smaller than the number of writers (KURA_API_THREADS=2).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.burst import burst
from bench.live import LiveApi, call, make_token
from common.sqlite import sqlite3

WRITERS = 200
# The "/readyz answers within 1 s throughout" is a time: bench/burst.py measures it and
# bench/report.py holds it to 1 s. Here, the behaviour: every poll is answered (5 s timeout each).


@pytest.fixture(params=[{}, {"KURA_API_THREADS": "2"}], ids=["default-settings", "two-pool-threads"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveApi, str]]:
    token = make_token(tmp_path / "data")
    server = LiveApi(tmp_path / "data", tmp_path / "kura-api.log", env=request.param)
    try:
        server.start()
        yield server, token
    finally:
        server.stop()


@pytest.mark.slow
def test_two_hundred_simultaneous_creates_all_finish_while_readyz_keeps_answering(
        api: tuple[LiveApi, str]) -> None:
    server, token = api
    got = burst(server.port, token, writers=WRITERS, timeout=30.0, readyz_timeout=5.0)
    print(f"\n{WRITERS} simultaneous creates: {got}")
    assert server.exited() is None, server.exited()
    assert got["writers"] == WRITERS
    assert got["unanswered"] == 0, got  # nothing hung up or timed out (30 s each)
    assert set(got["statuses"]) <= {"201", "503"}, got
    assert got["created"] + got["busy_503"] == WRITERS
    assert got["malformed_503"] == 0, got  # each 503 has Retry-After and {"error": {code, message, details}}
    assert got["readyz_polls"] >= 1 and got["readyz_unanswered"] == 0, got
    assert stored_burst_rows(server) == got["created"]
    assert_the_api_still_creates_and_reads(server, token)


@pytest.mark.slow
def test_writers_that_cannot_get_the_write_turn_in_time_answer_503_with_retry_after(tmp_path: Path) -> None:
    token = make_token(tmp_path / "data")
    server = LiveApi(tmp_path / "data", tmp_path / "kura-api.log", env={"KURA_WRITE_WAIT_S": "0.01"})
    try:
        server.start()
        got = burst(server.port, token, writers=WRITERS, timeout=30.0, readyz_timeout=5.0)
        print(f"\n{WRITERS} simultaneous creates, 10 ms write wait: {got}")
        assert server.exited() is None, server.exited()
        assert got["unanswered"] == 0, got
        assert set(got["statuses"]) <= {"201", "503"}, got
        assert got["busy_503"] > 0, got  # 200 writers cannot all get one write turn within 10 ms
        assert got["malformed_503"] == 0, got
        assert stored_burst_rows(server) == got["created"]  # a write answered 503 was not done
        assert_the_api_still_creates_and_reads(server, token)
    finally:
        server.stop()


def stored_burst_rows(server: LiveApi) -> int:
    conn = sqlite3.connect(server.data_dir / "kura.db")
    try:
        return conn.execute("SELECT count(*) FROM bookmarks WHERE url LIKE 'https://burst.example/%'").fetchone()[0]
    finally:
        conn.close()


def assert_the_api_still_creates_and_reads(server: LiveApi, token: str) -> None:
    created = call(server.port, "POST", "/api/v1/bookmarks", token=token, timeout=30.0,
                   body={"url": "https://after.example/one", "title": "after the burst"})
    assert created.status == 201, created.body
    bookmark_id = created.json()["id"]  # type: ignore[index]
    read = call(server.port, "GET", f"/api/v1/bookmarks/{bookmark_id}", token=token, timeout=30.0)
    assert read.status == 200 and read.json()["title"] == "after the burst"  # type: ignore[index]
