"""Every `201 Created` names the new resource in `Location`, and that address is the resource."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account

API = "/api/v1"


@pytest.mark.parametrize(("resource", "body"), [("bookmarks", {"url": "https://example.org/a"}),
                                              ("collections", {"name": "Reading"})])
def test_a_created_resource_is_at_its_location(client: TestClient, alice: Account, resource: str,
                                               body: dict[str, str]) -> None:
    created = client.post(f"{API}/{resource}", json=body, headers=alice.headers)
    assert created.status_code == 201
    location = created.headers["location"]
    assert location == f"{API}/{resource}/{created.json()['id']}"
    assert client.get(location, headers=alice.headers).json() == created.json()


def test_a_created_token_is_at_its_location_where_it_can_be_revoked(client: TestClient, alice: Account) -> None:
    created = client.post(f"{API}/tokens", json={"label": "phone"}, headers=alice.headers)
    assert created.status_code == 201
    location = created.headers["location"]
    assert location == f"{API}/tokens/{created.json()['id']}"
    revoked = client.delete(location, headers=alice.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is not None


def test_a_refused_create_has_no_location(client: TestClient, alice: Account) -> None:
    client.post(f"{API}/bookmarks", json={"url": "https://example.org/a"}, headers=alice.headers)
    again = client.post(f"{API}/bookmarks", json={"url": "https://EXAMPLE.org/a"}, headers=alice.headers)
    assert again.status_code == 409 and "location" not in again.headers


def test_every_create_documents_location_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    creates = {f"{method.upper()} {path}": op["responses"]["201"] for path, item in paths.items()
               for method, op in item.items() if "201" in op.get("responses", {})}
    assert {"POST /api/v1/bookmarks", "POST /api/v1/collections", "POST /api/v1/tokens"} <= set(creates)
    assert [name for name, answer in creates.items() if "Location" not in answer.get("headers", {})] == []
