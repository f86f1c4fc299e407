from fastapi.testclient import TestClient

from domain import migrate
from common.db import open_database
from common.settings import Settings


def test_healthz_answers_without_auth(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_schema_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_revision": migrate.head_revision()}


def test_readyz_is_503_on_an_empty_database(tmp_path, settings: Settings) -> None:
    from api.app import create_app

    empty = open_database(settings, path=tmp_path / "empty.db", create=True)
    try:
        with TestClient(create_app(settings, empty)) as c:
            response = c.get("/readyz")
        assert response.status_code == 503
        assert "kura db upgrade" in response.json()["error"]["message"]
    finally:
        empty.dispose()
