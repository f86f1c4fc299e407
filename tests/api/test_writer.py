"""The write turn and the writer thread's own connection (api/writer.py), on real threads and a real
SQLite file: the turn is held until the work has really ended, errors reach the caller, and a write
that fails leaves nothing behind while the next one commits."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from api.writer import Writer, WriterConnection
from common.sqlite import sqlite3
from domain import migrate
from common.db import Database, open_database
from common.dberrors import StorageUnavailable
from common.errors import Conflict
from common.settings import load_settings


def test_a_cancelled_write_holds_the_turn_until_its_work_has_ended() -> None:
    async def scenario() -> list[str]:
        writer, gate, seen = Writer(wait_s=5), threading.Event(), []
        task = asyncio.create_task(writer.run(lambda: gate.wait(5) and seen.append("first ended")))
        while not writer.locked() or writer.busy_since is None:
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.sleep(0.01)
        seen.append(f"locked after cancel: {writer.locked()}")  # the work may still commit
        gate.set()
        await writer.run(lambda: seen.append("second ran"))
        writer.close()
        return seen

    assert asyncio.run(scenario()) == ["locked after cancel: True", "first ended", "second ran"]


def test_an_error_in_the_work_reaches_the_caller_and_frees_the_turn() -> None:
    async def scenario() -> int:
        writer = Writer(wait_s=5)

        def fail() -> None:
            raise Conflict("taken")

        with pytest.raises(Conflict, match="taken"):
            await writer.run(fail)
        assert not writer.locked()
        answer = await writer.run(lambda x: x + 1, 41)
        writer.close()
        return answer

    assert asyncio.run(scenario()) == 42


def test_a_closed_writer_refuses_new_work() -> None:
    async def scenario() -> None:
        writer = Writer(wait_s=5)
        writer.close()
        with pytest.raises(RuntimeError, match="closed"):
            await writer.run(lambda: None)

    asyncio.run(scenario())


def user_names(db: Database) -> list[str]:
    with sqlite3.connect(db.path) as other:
        return [row[0] for row in other.execute("SELECT name FROM users ORDER BY id")]


def test_a_failed_plain_write_leaves_nothing_and_the_next_one_commits(db: Database) -> None:
    conn = WriterConnection(db)

    def add(sql: sqlite3.Connection, *, name: str, then_fail: bool) -> int:
        sql.execute("INSERT INTO users (name, is_admin, created_at) VALUES (?, 0, 0)", (name,))
        if then_fail:
            raise Conflict("refused after the insert")
        return 1

    with pytest.raises(Conflict):
        conn.run(add, name="ghost", then_fail=True)
    assert conn.run(add, name="kept", then_fail=False) == 1
    assert not db.write_lock.locked()
    conn.close()
    assert user_names(db) == ["kept"]


def test_a_plain_write_blocked_by_another_process_answers_busy_and_nothing_is_written(tmp_path: Path) -> None:
    db = open_database(load_settings(data_dir=tmp_path, sqlite_busy_timeout_ms=100), create=True)
    migrate.upgrade(db)
    conn = WriterConnection(db)
    insert = "INSERT INTO users (name, is_admin, created_at) VALUES (?, 0, 0)"
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
        with pytest.raises(StorageUnavailable) as caught:
            conn.run(lambda sql: sql.execute(insert, ("x",)))
        other.execute("ROLLBACK")
        conn.run(lambda sql: sql.execute(insert, ("y",)))
    finally:
        other.close()
        conn.close()
        db.dispose()
    assert caught.value.kind == "busy" and caught.value.retry_after == 1
    assert user_names(db) == ["y"]
