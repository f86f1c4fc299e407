from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backup.job import run_job
from common.db import Database
from common.settings import Settings
from tests.conftest import Account
from tests.support import count_manifest_reads


def test_admin_sees_recent_runs_and_the_newest_verified_backup(
    client: TestClient, admin: Account, settings: Settings, db: Database
) -> None:
    first = run_job(settings).entry
    second = run_job(settings).entry
    response = client.get("/api/v1/system/backups", headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["fresh"] is True and "limit 26 h" in body["message"]
    assert body["newest_verified"]["file"] == second.data_path.name
    assert body["newest_verified"]["size_bytes"] == second.data_path.stat().st_size
    assert [(r["status"], r["file"]) for r in body["runs"]] == [
        ("ok", second.data_path.name), ("ok", first.data_path.name)]
    assert all(r["verified"] and r["finished_at"] for r in body["runs"])
    limited = client.get("/api/v1/system/backups?limit=1", headers=admin.headers).json()
    assert len(limited["runs"]) == 1


def test_without_any_backup_the_answer_says_so(client: TestClient, admin: Account) -> None:
    body = client.get("/api/v1/system/backups", headers=admin.headers).json()
    assert body["fresh"] is False and body["newest_verified"] is None and body["runs"] == []


def test_non_admins_get_403_and_anonymous_401(client: TestClient, alice: Account) -> None:
    response = client.get("/api/v1/system/backups", headers=alice.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/system/backups").status_code == 401


def test_one_answer_reads_each_manifest_once(
    client: TestClient, admin: Account, settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [run_job(settings, keep=True).entry for _ in range(2)]  # kept: retention leaves both
    read = count_manifest_reads(monkeypatch)
    body = client.get("/api/v1/system/backups", headers=admin.headers).json()
    assert body["fresh"] is True and body["newest_verified"]["file"] == entries[-1].data_path.name
    assert sorted(read) == sorted(e.manifest_path.name for e in entries)  # not once for each question
