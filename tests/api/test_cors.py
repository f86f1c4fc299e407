"""CORS: origins listed in KURA_CORS_ORIGINS may call the API from a browser; every other origin may not."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from common.db import Database
from common.settings import Settings, SettingsError, load_settings
from tests.conftest import Account

APP_ORIGIN = "https://bookmarks.example"
EXTENSION_ORIGIN = "moz-extension://2f8e1b9c-5d3a-4c7e-9a61-0b7d4e2c1f35"
STRANGER = "https://evil.example"
BOOKMARKS = "/api/v1/bookmarks"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Overrides conftest's: this module's app allows a web app and an extension."""
    return load_settings(data_dir=tmp_path / "data", cors_origins=f"{APP_ORIGIN}, {EXTENSION_ORIGIN}")


def preflight(client: TestClient, origin: str, method: str = "POST") -> dict[str, str]:
    answer = client.options(BOOKMARKS, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                "Access-Control-Request-Headers": "authorization, content-type"})
    return {"status": str(answer.status_code), **answer.headers}


@pytest.mark.parametrize("origin", [APP_ORIGIN, EXTENSION_ORIGIN])
def test_a_listed_origin_gets_its_preflight_answered_without_a_token(client: TestClient, origin: str) -> None:
    answer = preflight(client, origin)
    assert answer["status"] == "200"
    assert answer["access-control-allow-origin"] == origin
    assert {"POST", "PATCH", "DELETE"} <= {m.strip() for m in answer["access-control-allow-methods"].split(",")}
    allowed = {h.strip().lower() for h in answer["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "Origin" in answer["vary"]


def test_a_listed_origin_can_read_answers_and_the_new_location(client: TestClient, alice: Account) -> None:
    created = client.post(BOOKMARKS, json={"url": "https://example.org/"},
                          headers={**alice.headers, "Origin": APP_ORIGIN})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = {h.strip() for h in created.headers["access-control-expose-headers"].split(",")}
    assert {"Location", "ETag", "Retry-After"} <= exposed
    listed = client.get(BOOKMARKS, headers={**alice.headers, "Origin": APP_ORIGIN})  # the hot read path
    assert listed.headers["access-control-allow-origin"] == APP_ORIGIN and len(listed.json()["items"]) == 1


def test_a_listed_origin_can_read_an_error_too(client: TestClient) -> None:
    refused = client.get(BOOKMARKS, headers={"Origin": APP_ORIGIN, "Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN
    assert refused.json()["error"]["code"]


def test_another_origin_gets_no_cors_headers(client: TestClient, alice: Account) -> None:
    answer = preflight(client, STRANGER)
    assert answer["status"] == "400" and "access-control-allow-origin" not in answer
    listed = client.get(BOOKMARKS, headers={**alice.headers, "Origin": STRANGER})
    assert listed.status_code == 200 and "access-control-allow-origin" not in listed.headers


def test_by_default_no_origin_is_allowed(tmp_path: Path, db: Database) -> None:
    with TestClient(create_app(load_settings(data_dir=tmp_path / "data"), db)) as client:
        answer = preflight(client, APP_ORIGIN)
    assert "access-control-allow-origin" not in answer and answer["status"] != "200"


def test_the_setting_reads_a_comma_separated_list_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURA_CORS_ORIGINS", f" {APP_ORIGIN} ,HTTPS://Other.Example:8443,")
    assert load_settings().cors_origins == [APP_ORIGIN, "https://other.example:8443"]


@pytest.mark.parametrize("value", ["https://bookmarks.example/", "bookmarks.example", "https://a.example/app"])
def test_a_value_that_is_not_an_origin_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch,
                                                                      value: str) -> None:
    monkeypatch.setenv("KURA_CORS_ORIGINS", value)
    with pytest.raises(SettingsError, match="KURA_CORS_ORIGINS.*is not an origin"):
        load_settings()
