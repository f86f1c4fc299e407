"""The API documents itself: every operation has a summary, a response model and its errors.

These walk app.openapi(), so routes other modules add later are held to the same rule; a failure
lists every operation that breaks it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

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
