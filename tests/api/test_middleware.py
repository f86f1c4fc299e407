"""The pure-ASGI middleware: body limits, Server-Timing and slow logs, ETag/304, gzip."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from api.middleware import ETagMiddleware
from common.settings import Settings, load_settings
from tests.conftest import Account

BIG_TEXT = "bookmark " * 400  # 3,600 bytes of JSON: over the gzip threshold


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", max_body_bytes=2048, import_max_bytes=8192,
                         slow_request_ms=100)


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The real app plus a few routes that only tests need."""

    @app.post("/api/v1/import/echo")
    async def import_echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.get("/sleepy/{ms}")
    async def sleepy(ms: int) -> dict[str, int]:
        await asyncio.sleep(ms / 1000)
        return {"slept": ms}

    @app.get("/big")
    def big() -> dict[str, str]:
        return {"text": BIG_TEXT}

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse((f"line {i}\n".encode() for i in range(5)), media_type="text/plain")

    return app



def test_a_declared_body_over_the_limit_answers_413_in_the_standard_shape(client: TestClient) -> None:
    response = client.post("/echo", content=b"x" * 3000)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "3000 bytes exceeds the limit of 2048" in error["message"]


def test_a_streamed_body_over_the_limit_answers_413_in_the_standard_shape(client: TestClient) -> None:
    chunks = (b"x" * 1000 for _ in range(3))  # no Content-Length: sent chunked
    response = client.post("/echo", content=chunks)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_within_the_limit_reaches_the_route(client: TestClient) -> None:
    assert client.post("/echo", content=b"x" * 2000).json() == {"received": 2000}
    assert client.post("/echo", content=(b"x" * 1000 for _ in range(2))).json() == {"received": 2000}


def test_import_paths_have_their_own_larger_limit(client: TestClient) -> None:
    assert client.post("/api/v1/import/echo", content=b"x" * 6000).json() == {"received": 6000}
    streamed = client.post("/api/v1/import/echo", content=(b"x" * 3000 for _ in range(3)))
    assert streamed.status_code == 413
    assert client.post("/api/v1/import/echo", content=b"x" * 9000).status_code == 413


def test_server_timing_reports_database_and_total_time_to_admins(client: TestClient, admin: Account) -> None:
    for path in ("/api/v1/tokens", "/api/v1/bookmarks"):  # a FastAPI route and a hot read
        response = client.get(path, headers=admin.headers)
        parts = dict(p.strip().split(";dur=") for p in response.headers["server-timing"].split(","))
        assert set(parts) == {"db", "total"}
        assert 0 < float(parts["db"]) <= float(parts["total"])


def test_server_timing_is_not_shown_to_users_or_anonymous_callers(client: TestClient, alice: Account) -> None:
    for path in ("/api/v1/tokens", "/api/v1/bookmarks"):
        assert "server-timing" not in client.get(path, headers=alice.headers).headers
    assert "server-timing" not in client.get("/healthz").headers


def test_the_server_timing_setting_shows_it_on_every_answer(tmp_path: Path, db, alice: Account) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app

    app = create_app(load_settings(data_dir=tmp_path / "data", server_timing=True), db)
    with TestClient(app) as client:
        assert client.get("/healthz").headers["server-timing"].startswith("db;dur=0.0,")
        assert "server-timing" in client.get("/api/v1/tokens", headers=alice.headers).headers


def test_every_answer_says_nosniff_and_authenticated_ones_are_not_stored(client: TestClient, alice: Account) -> None:
    public = client.get("/healthz")
    assert public.headers["x-content-type-options"] == "nosniff" and "cache-control" not in public.headers
    for response in (client.get("/api/v1/tokens", headers=alice.headers),
                     client.get("/api/v1/bookmarks", headers=alice.headers),
                     client.get("/api/v1/tokens", headers={"Authorization": "Bearer wrong"})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


def test_the_list_still_answers_304_to_a_matching_etag(client: TestClient, alice: Account) -> None:
    first = client.get("/api/v1/bookmarks", headers=alice.headers)
    again = client.get("/api/v1/bookmarks", headers={**alice.headers, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "no-store"


def test_a_slow_request_is_logged_with_its_route_template(client: TestClient, warnings_logged: list[str]) -> None:
    for _ in range(3):
        client.get("/sleepy/0")
    client.get("/sleepy/250")
    slow = [line for line in warnings_logged if line.startswith("slow request")]
    assert any(line.endswith("GET /sleepy/{ms}") for line in slow)
    # Only requests over the threshold (100 ms here) are logged, whatever the machine's load.
    assert all(float(line.split("(")[1].split(" ms")[0]) > 100 for line in slow)


def test_slow_sql_names_the_route_template(tmp_path: Path, warnings_logged: list[str]) -> None:
    from api.app import create_app
    from domain import accounts, migrate
    from common.db import open_database

    settings = load_settings(data_dir=tmp_path / "slow", slow_sql_ms=0.000001)
    db = open_database(settings, create=True)
    try:
        migrate.upgrade(db)
        with db.write_session() as session:
            user = accounts.create_user(session, name="slow")
            _, token = accounts.create_token(session, user_id=user.id, label="t")
        with TestClient(create_app(settings, db)) as client:
            warnings_logged.clear()  # the token lookup reads on the loop's plain connection; the delete is SQLAlchemy's
            client.delete("/api/v1/tokens/42", headers={"Authorization": f"Bearer {token}"})
        assert any("route DELETE /api/v1/tokens/{token_id}" in line for line in warnings_logged)
    finally:
        db.dispose()


def test_get_responses_carry_an_etag_and_a_match_answers_304(client: TestClient, alice: Account) -> None:
    first = client.get("/api/v1/tokens", headers=alice.headers)
    etag = first.headers["etag"]
    again = client.get("/api/v1/tokens", headers={**alice.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "content-type" not in again.headers


def test_the_etag_changes_when_the_data_changes(client: TestClient, alice: Account) -> None:
    etag = client.get("/api/v1/tokens", headers=alice.headers).headers["etag"]
    client.post("/api/v1/tokens", json={"label": "phone"}, headers=alice.headers)
    changed = client.get("/api/v1/tokens", headers={**alice.headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert len(changed.json()) == 2


def test_if_none_match_accepts_lists_weak_tags_and_star(client: TestClient) -> None:
    etag = client.get("/healthz").headers["etag"]
    strong = etag.removeprefix("W/")
    for header in (f'"other", {etag}', strong, "*"):
        assert client.get("/healthz", headers={"If-None-Match": header}).status_code == 304, header
    assert client.get("/healthz", headers={"If-None-Match": '"other"'}).status_code == 200


def test_only_successful_gets_get_an_etag(client: TestClient, alice: Account) -> None:
    assert "etag" not in client.post("/api/v1/tokens", json={"label": "x"}, headers=alice.headers).headers
    assert "etag" not in client.get("/api/v1/tokens").headers  # 401
    assert "etag" not in client.get("/nowhere").headers


def test_large_bodies_are_gzipped_and_keep_the_same_etag(client: TestClient) -> None:
    zipped = client.get("/big", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/big", headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(BIG_TEXT)
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json() == {"text": BIG_TEXT}
    assert zipped.headers["etag"] == plain.headers["etag"]
    not_modified = client.get("/big", headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["etag"]})
    assert not_modified.status_code == 304


def test_small_bodies_are_not_gzipped(client: TestClient) -> None:
    assert "content-encoding" not in client.get("/healthz", headers={"Accept-Encoding": "gzip"}).headers


def test_a_streamed_response_passes_through_without_an_etag(client: TestClient) -> None:
    response = client.get("/stream")
    assert response.text == "".join(f"line {i}\n" for i in range(5))
    assert "etag" not in response.headers


def run_through_etag(app) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    """Drive ETagMiddleware around a raw ASGI app for one GET; return what reached the server."""
    sent: list[dict] = []  # type: ignore[type-arg]

    async def record(message) -> None:  # type: ignore[no-untyped-def]
        sent.append(message)

    async def receive() -> dict:  # type: ignore[type-arg]
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(ETagMiddleware(lambda s, r, send: app(send, sent))(scope, receive, record))
    return sent


def test_the_etag_middleware_forwards_each_streamed_chunk_before_the_next_is_made() -> None:
    seen_before_last_chunk: list[int] = []

    async def streaming_app(send, sent) -> None:  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        seen_before_last_chunk.append(len(sent))
        await send({"type": "http.response.body", "body": b"two", "more_body": False})

    sent = run_through_etag(streaming_app)
    assert seen_before_last_chunk == [2]
    assert [m.get("body") for m in sent] == [None, b"one", b"two"]
    assert all(name != b"etag" for name, _ in sent[0]["headers"])


def test_a_file_sent_by_path_passes_through_the_etag_middleware_untouched() -> None:
    async def file_app(send, sent) -> None:  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.pathsend", "path": "/etc/hostname"})

    sent = run_through_etag(file_app)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[0]["headers"] == [(b"content-type", b"text/plain")]
