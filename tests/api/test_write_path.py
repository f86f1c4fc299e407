"""The write path: acknowledged means committed, one writer without deadlock, a bounded wait, and a
database that is never silently swapped or created under a running API. Real SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.server import open_checked
from common.sqlite import sqlite3
from domain import migrate
from common.db import Database, open_database
from common.dberrors import StorageUnavailable
from common.settings import Settings, load_settings
from tests.conftest import Account

BOOKMARKS = "/api/v1/bookmarks"


def committed_urls(path: Path) -> set[str]:
    """What another process would see in the file right now: only committed rows."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT url FROM bookmarks")}
    finally:
        conn.close()


def test_a_write_is_committed_before_its_response_starts(app, db: Database, alice: Account) -> None:  # type: ignore[no-untyped-def]
    seen_at_response_start: list[set[str]] = []

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        async def watching_send(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                seen_at_response_start.append(committed_urls(db.path))
            await send(message)

        await app(scope, receive, watching_send)

    with TestClient(spy) as client:
        response = client.post(BOOKMARKS, json={"url": "https://example.org/a"}, headers=alice.headers)
    assert response.status_code == 201
    assert seen_at_response_start == [{"https://example.org/a"}]


def test_a_write_blocked_by_another_process_answers_503_with_retry_after(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sqlite_busy_timeout_ms=200)
    db = open_database(settings, create=True)
    migrate.upgrade(db)
    account = _account(db)
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        with TestClient(create_app(settings, db)) as client:
            other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
            first = client.post(BOOKMARKS, json={"url": "https://example.org/x"}, headers=account.headers)
            other.execute("ROLLBACK")
            second = client.post(BOOKMARKS, json={"url": "https://example.org/x"}, headers=account.headers)
    finally:
        other.close()
        db.dispose()
    assert first.status_code == 503 and first.headers["retry-after"] == "1"
    assert first.json()["error"]["code"] == "busy"
    assert second.status_code == 201


def _account(db: Database) -> Account:
    from domain import accounts

    with db.write_session() as session:
        user = accounts.create_user(session, name="carol")
        _, token = accounts.create_token(session, user_id=user.id, label="t")
    return Account(user_id=user.id, name="carol", token=token)


@pytest.fixture
def checked(settings: Settings, db: Database) -> Iterator[tuple[Database, TestClient, Account]]:
    """The API as kura-api opens it: the schema checked at start, so writes keep checking it."""
    served = open_checked(settings)
    try:
        account = _account(served)
        with TestClient(create_app(settings, served)) as client:
            yield served, client, account
    finally:
        served.dispose()


def test_writes_stop_when_the_schema_revision_changes_under_the_api(checked) -> None:  # type: ignore[no-untyped-def]
    db, client, account = checked
    assert client.post(BOOKMARKS, json={"url": "https://example.org/1"}, headers=account.headers).status_code == 201
    with sqlite3.connect(db.path) as other:
        other.execute("UPDATE alembic_version SET version_num = '0001'")
    response = client.post(BOOKMARKS, json={"url": "https://example.org/2"}, headers=account.headers)
    assert response.status_code == 503 and "schema changed to 0001" in response.json()["error"]["message"]
    assert client.get("/readyz").status_code == 503
    assert committed_urls(db.path) == {"https://example.org/1"}


def test_a_deleted_database_is_never_replaced_by_an_empty_one(checked) -> None:  # type: ignore[no-untyped-def]
    db, client, account = checked
    db.path.unlink()
    db.engine.dispose()  # whatever connections the pool opens from now on must not create the file
    response = client.post(BOOKMARKS, json={"url": "https://example.org/lost"}, headers=account.headers)
    assert response.status_code == 503 and response.json()["error"]["details"]["reason"] in {"missing", "replaced"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "restart kura-api" in ready.json()["error"]["message"]
    assert not db.path.exists()


def test_a_new_connection_never_creates_a_missing_file(db: Database) -> None:
    db.path.unlink()
    db.engine.dispose()
    with pytest.raises(StorageUnavailable) as caught, db.read_session() as session:
        session.connection()
    assert caught.value.kind == "missing" and not db.path.exists()


def test_readyz_commits_a_probe_write(client: TestClient, db: Database) -> None:
    assert client.get("/readyz").status_code == 200
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM health_probe").fetchone()[0] == 1


def test_readyz_is_not_ready_while_another_process_holds_the_write_lock(client: TestClient, db: Database) -> None:
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        blocked = client.get("/readyz")
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert blocked.status_code == 503 and "could not commit" in blocked.json()["error"]["message"]
    again = client.get("/readyz")
    assert again.status_code == 200, again.text
