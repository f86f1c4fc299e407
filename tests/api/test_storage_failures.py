"""Storage failing under a running API: a full disk and a damaged table answer 503 (never a false 2xx),
/readyz says not ready while it lasts, and it recovers when the cause is gone. Real files: a small
tmpfs that really fills, a page of the real file overwritten."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from common.sqlite import sqlite3
from domain import accounts, migrate
from common.db import Database, open_database
from common.settings import load_settings
from tests.common.test_logging import fresh_loguru  # noqa: F401 - a fixture
from tests.conftest import Account

BOOKMARKS = "/api/v1/bookmarks"



def new_account(db: Database) -> Account:
    with db.write_session() as session:
        user = accounts.create_user(session, name="dana")
        _, token = accounts.create_token(session, user_id=user.id, label="t")
    return Account(user_id=user.id, name="dana", token=token)


def fill(path: Path) -> None:
    """Write until the file system says it is full. Unbuffered: a buffered file would try again to
    write its rest when closed, and raise ENOSPC a second time outside this function's handling."""
    with path.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def stored(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT id, url FROM bookmarks"))
    finally:
        conn.close()


def test_a_full_disk_answers_503_keeps_every_acknowledged_write_and_readyz_recovers(
    tmpfs: Callable[[int], Path],
) -> None:
    data = tmpfs(8 * 1024 * 1024)
    settings = load_settings(data_dir=data)
    db = open_database(settings, create=True)
    migrate.upgrade(db)
    account = new_account(db)
    acknowledged: dict[int, str] = {}
    try:
        with TestClient(create_app(settings, db)) as client:
            fill(data / "filler")
            for i in range(5000):
                url = f"https://example.org/{i}"
                response = client.post(BOOKMARKS, json={"url": url, "description": "d" * 4000}, headers=account.headers)
                if response.status_code != 201:
                    break
                acknowledged[response.json()["id"]] = url
            else:
                pytest.fail("the disk never filled")
            assert response.status_code == 503 and response.headers["retry-after"] == "1"
            assert response.json()["error"]["details"]["reason"] in {"full", "io"}
            not_ready = client.get("/readyz")
            (data / "filler").unlink()
            ready = client.get("/readyz")
            after = client.post(BOOKMARKS, json={"url": "https://example.org/after"}, headers=account.headers)
    finally:
        db.dispose()
    assert not_ready.status_code == 503 and "writes fail" in not_ready.json()["error"]["message"]
    assert ready.status_code == 200
    assert after.status_code == 201
    rows = stored(settings.db_path)
    assert acknowledged.items() <= rows.items()
    assert rows[after.json()["id"]] == "https://example.org/after"


def damage_table(path: Path, table: str) -> None:
    """Overwrite the table's root page in place (same file, same inode) with garbage."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    finally:
        conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)


def test_a_damaged_bookmarks_table_answers_503_and_readyz_says_so(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    db = open_database(settings, create=True)
    migrate.upgrade(db)
    account = new_account(db)
    with TestClient(create_app(settings, db)) as client:
        for i in range(200):
            client.post(BOOKMARKS, json={"url": f"https://example.org/{i}", "notes": "n" * 500}, headers=account.headers)
    db.dispose()
    damage_table(settings.db_path, "bookmarks")
    served = open_database(settings)  # fresh connections, as after a restart: no page is cached
    try:
        with TestClient(create_app(settings, served)) as client:
            listed = client.get(BOOKMARKS, headers=account.headers)
            ready = client.get("/readyz")
    finally:
        served.dispose()
    assert listed.status_code == 503 and listed.json()["error"]["details"]["reason"] == "corrupt"
    assert ready.status_code == 503 and "damaged" in ready.json()["error"]["message"]


def test_a_database_on_a_read_only_file_system_is_refused_at_start_in_one_line(
    tmpfs: Callable[[int], Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    fresh_loguru: None,
) -> None:
    from api.server import main

    data = tmpfs(16 * 1024 * 1024)
    db = open_database(load_settings(data_dir=data), create=True)
    migrate.upgrade(db)
    db.dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
    monkeypatch.setenv("KURA_DATA_DIR", str(data))
    assert main([]) == 1  # it would serve reads and fail every write: not ready, so it does not start
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"kura-api: cannot open database {data / 'kura.db'}: unable to open database file")
