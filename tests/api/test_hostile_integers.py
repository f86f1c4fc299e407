"""Integers just past SQLite's range in any query or path parameter are a 4xx, never a 500 (issue 12).

The walk covers every integer parameter the OpenAPI document lists, so a route added later is held to
the same rule; a failure lists every (operation, parameter, value) that broke it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.schemas_resources import MAX_ID
from tests.conftest import Account

PAST = (MAX_ID + 1, -(MAX_ID + 2), 10**40)
DEFAULTS = {"q": "x", "metric": "cpu_percent"}  # required non-integer parameters need some value


def integer_parameters(app: FastAPI) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            for param in params:
                if param["schema"].get("type") == "integer":
                    found.append((method.upper(), path, param, params))
    return found


def request_for(path: str, param: dict[str, Any], params: list[dict[str, Any]], value: int) -> tuple[str, dict]:
    query = {p["name"]: DEFAULTS.get(p["name"], "1") for p in params if p["in"] == "query" and p.get("required")}
    ids = {p["name"]: "1" for p in params if p["in"] == "path"}
    if param["in"] == "path":
        ids[param["name"]] = str(value)
    else:
        query[param["name"]] = str(value)
    return path.format(**ids), query


def test_the_walk_finds_the_integer_parameters(app: FastAPI) -> None:
    names = {(method, path, param["name"]) for method, path, param, _ in integer_parameters(app)}
    assert {("GET", "/api/v1/tags/graph", "min_weight"), ("DELETE", "/api/v1/tokens/{token_id}", "token_id"),
            ("GET", "/api/v1/bookmarks/{bookmark_id}", "bookmark_id")} <= names


def test_every_integer_parameter_refuses_values_past_sqlites_range(
    client: TestClient, app: FastAPI, admin: Account
) -> None:
    problems = []
    for method, path, param, params in integer_parameters(app):
        for value in PAST:
            url, query = request_for(path, param, params, value)
            response = client.request(method, url, params=query, headers=admin.headers)
            capped = param["name"] == "limit" and response.status_code == 200  # page sizes are capped
            if not capped and (not 400 <= response.status_code < 500 or "error" not in response.json()):
                problems.append(f"{method} {path} {param['name']}={value}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_every_integer_parameter_documents_its_bounds(app: FastAPI) -> None:
    unbounded = [f"{method} {path} {param['name']}" for method, path, param, _ in integer_parameters(app)
                 if param["schema"].get("maximum", MAX_ID + 1) > MAX_ID
                 and param["name"] != "limit"]  # page sizes: any value is capped, not refused
    assert not unbounded, "\n".join(unbounded)


def test_tag_graph_and_token_revocation_answer_422_past_the_range(client: TestClient, alice: Account) -> None:
    graph = client.get("/api/v1/tags/graph", params={"min_weight": 2**63}, headers=alice.headers)
    revoke = client.delete(f"/api/v1/tokens/{2**63}", headers=alice.headers)
    for response in (graph, revoke):
        assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
