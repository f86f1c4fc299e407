"""WAL checkpoints on their own thread (api/checkpointer.py): kura-api's COMMITs do not checkpoint, and
what they wrote still reaches the database file itself shortly after, through a real SQLite file."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.checkpointer import BACKSTOP_PAGES, Checkpointer
from api.server import open_checked
from common.db import Database
from common.settings import Settings
from common.sqlite import sqlite3
from domain import accounts
from tests.conftest import Account

BOOKMARKS = "/api/v1/bookmarks"


def in_the_file_alone(db_path: Path, tmp_path: Path, sql: str) -> set[tuple[object, ...]]:
    """`sql`'s rows from the database file without its -wal: what checkpoints have copied there."""
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(db_path, copy)
    try:
        with sqlite3.connect(copy) as conn:
            return set(conn.execute(sql))
    except sqlite3.DatabaseError:  # copied half-way through a checkpoint's writes: not there yet
        return set()
    finally:
        copy.unlink()


def wait_for(rows: set[tuple[object, ...]], db_path: Path, tmp_path: Path, sql: str) -> set[tuple[object, ...]]:
    deadline = time.monotonic() + 30
    while not rows <= (found := in_the_file_alone(db_path, tmp_path, sql)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_kura_api_leaves_the_checkpoints_to_its_own_thread(settings: Settings, db: Database) -> None:
    served = open_checked(settings)
    try:
        with served.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
    finally:
        served.dispose()


def test_a_committed_write_reaches_the_database_file_without_a_commit_checkpointing(
        settings: Settings, db: Database, alice: Account, tmp_path: Path) -> None:
    served = open_checked(settings)  # its COMMITs checkpoint only past BACKSTOP_PAGES of -wal
    try:
        with TestClient(create_app(settings, served)) as client:
            for n in range(3):
                url = f"https://example.org/{n}"
                assert client.post(BOOKMARKS, json={"url": url}, headers=alice.headers).status_code == 201
            wanted = {(f"https://example.org/{n}",) for n in range(3)}
            assert wanted <= wait_for(wanted, served.path, tmp_path, "SELECT url FROM bookmarks")
            thread = client.app.state.tx.checkpointer._thread  # type: ignore[attr-defined]
            assert thread is not None and thread.is_alive()
        assert not thread.is_alive()  # the app's shutdown ended it
    finally:
        served.dispose()


def test_a_checkpointer_closed_and_poked_again_starts_afresh(db: Database, tmp_path: Path) -> None:
    checkpointer = Checkpointer(db, settle_s=0)
    checkpointer.poke()
    first = checkpointer._thread
    checkpointer.close()
    assert first is not None and not first.is_alive()
    with db.write_session() as session:
        accounts.create_user(session, name="late")
    checkpointer.poke()
    try:
        assert {("late",)} <= wait_for({("late",)}, db.path, tmp_path, "SELECT name FROM users")
        assert checkpointer._thread is not first and not checkpointer.failing
    finally:
        checkpointer.close()
