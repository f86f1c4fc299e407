"""The API documents itself: every operation has a summary, a response model and its errors.

These walk app.openapi(), so routes other modules add later are held to the same rule; a failure
lists every operation that breaks it.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account

METHODS = {"get", "post", "put", "patch", "delete"}


def operations(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", op) for path, item in app.openapi()["paths"].items()
            for method, op in item.items() if method in METHODS]


def _has_success_model(op: dict[str, Any]) -> bool:
    for status, response in op["responses"].items():
        if status.startswith("2"):
            return status == "204" or any("schema" in media for media in response.get("content", {}).values())
    return False


def _error_problems(name: str, op: dict[str, Any]) -> list[str]:
    # 2xx are answers, and 304 is one too: "the answer you hold is current", with no body.
    documented = {int(s) for s in op["responses"] if not s.startswith("2") and s != "304"}
    problems = []
    if 401 in documented and 429 not in documented:  # the failed-auth limiter guards every authenticated route
        problems.append(f"{name}: authenticated but 429 not documented")
    if "{" in name and 404 not in documented:
        problems.append(f"{name}: takes an id but 404 not documented")
    if ("{" in name or "requestBody" in op or op.get("parameters")) and 422 not in documented:
        problems.append(f"{name}: takes input but 422 not documented")
    for status in sorted(documented - {422}):
        content = op["responses"][str(status)].get("content", {})
        if content.get("application/json", {}).get("schema") != {"$ref": "#/components/schemas/ErrorBody"}:
            problems.append(f"{name}: {status} is not documented as ErrorBody")
    return problems


def test_every_operation_has_a_summary_and_a_response_model(app: FastAPI) -> None:
    ops = operations(app)
    assert len(ops) >= 15
    problems = [f"{name}: no summary" for name, op in ops if not op.get("summary")]
    problems += [f"{name}: no response model" for name, op in ops if not _has_success_model(op)]
    assert not problems, "\n".join(problems)


def test_every_api_operation_documents_its_errors_in_the_error_shape(app: FastAPI) -> None:
    ops = [(name, op) for name, op in operations(app) if name.split(" ")[1].startswith("/api/v1/")]
    problems = [p for name, op in ops for p in _error_problems(name, op)]
    problems += [f"{name}: 401 not documented" for name, op in ops if "401" not in op["responses"]]
    assert not problems, "\n".join(problems)


def test_request_models_forbid_unknown_fields(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    problems = []
    for name, op in operations(app):
        ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        if ref and schemas[ref.rsplit("/", 1)[-1]].get("additionalProperties") is not False:
            problems.append(f"{name}: body {ref} accepts unknown fields")
    assert not problems, "\n".join(problems)


def test_swagger_ui_and_redoc_are_served(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_the_bookmark_reads_document_their_conditional_answer(app: FastAPI) -> None:
    ops = dict(operations(app))
    for name in ("GET /api/v1/bookmarks", "GET /api/v1/search", "GET /api/v1/bookmarks/{bookmark_id}"):
        assert "If-None-Match" in ops[name]["responses"]["304"]["description"], name


def test_docs_and_redoc_load_every_asset_from_the_api_itself(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), (page, assets)
        for asset in assets:
            response = client.get(asset)
            assert response.status_code == 200 and len(response.content) > 1000, asset
        assert "cdn" not in html.lower() and "googleapis" not in html


def test_the_document_declares_the_bearer_scheme_on_every_authenticated_operation(app: FastAPI) -> None:
    doc = app.openapi()
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for name, op in operations(app):
        authenticated = "401" in op["responses"]
        assert (op.get("security") == [{"bearer": []}]) == authenticated, name


def test_creating_a_token_documents_its_400_and_413(app: FastAPI) -> None:
    documented = app.openapi()["paths"]["/api/v1/tokens"]["post"]["responses"]
    assert {"400", "413"} <= set(documented)


def test_update_bodies_offer_null_exactly_where_the_server_takes_it(
    app: FastAPI, client: TestClient, alice: Account
) -> None:
    ids = {"bookmarks": client.post("/api/v1/bookmarks", json={"url": "https://example.org/n"},
                                    headers=alice.headers).json()["id"],
           "collections": client.post("/api/v1/collections", json={"name": "n"}, headers=alice.headers).json()["id"]}
    schemas = app.openapi()["components"]["schemas"]
    problems = []
    for resource, object_id in ids.items():
        ref = app.openapi()["paths"][f"/api/v1/{resource}/{{{resource[:-1]}_id}}"]["patch"]["requestBody"]
        schema = schemas[ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
        for field, spec in schema["properties"].items():
            offered = {"type": "null"} in spec.get("anyOf", [])
            status = client.patch(f"/api/v1/{resource}/{object_id}", json={field: None}, headers=alice.headers)
            if offered == (status.status_code == 422):
                problems.append(f"PATCH {resource} {field}: null offered={offered}, answer {status.status_code}")
    assert not problems, "\n".join(problems)


def test_moments_in_queries_are_documented_as_iso_8601_or_unix_seconds(app: FastAPI) -> None:
    doc = app.openapi()["paths"]
    since = next(p for p in doc["/api/v1/system/alerts"]["get"]["parameters"] if p["name"] == "since")
    assert {"type": "string", "format": "date-time"} in since["schema"]["anyOf"]
    assert any(o.get("type") == "number" for o in since["schema"]["anyOf"])


def test_a_moment_in_unix_seconds_is_taken_as_seconds(client: TestClient, admin: Account) -> None:
    answer = client.get("/api/v1/system/metrics", params={"metric": "cpu_percent", "since": 1_700_000_000,
                                                          "until": 1_700_003_600}, headers=admin.headers)
    assert answer.status_code == 200 and answer.json()["since"].startswith("2023-11-14T22:13:20")
    too_far = client.get("/api/v1/system/alerts", params={"since": -7e16}, headers=admin.headers)
    assert too_far.status_code == 422
