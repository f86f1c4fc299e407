"""A real `kura-api`: the failed-login limiter, proxy headers, and what the log keeps (issues 12 and 13)."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.live import ROOT, LiveApi, make_token

Start = Callable[..., tuple[LiveApi, str]]

# Loaded by the interpreter at start (PYTHONPATH): the real server plus one route that fails in SQL with
# a user's search term among the statement's parameters.
FAILING_ROUTE = """
import api.app
from sqlalchemy import text

real_create_app = api.app.create_app

def create_app(settings, db, **kwargs):
    app = real_create_app(settings, db, **kwargs)

    @app.get("/test-only/fail")
    def fail():
        with db.engine.connect() as conn:
            # The term is joined here so that it is not on the source line the traceback shows.
            conn.execute(text("SELECT * FROM no_such_table WHERE q = :q"), {"q": "secret-" + "search-term"})

    return app

api.app.create_app = create_app
"""


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    started: list[LiveApi] = []

    def start(**env: str) -> tuple[LiveApi, str]:
        token = make_token(tmp_path / "data")
        api = LiveApi(tmp_path / "data", tmp_path / "kura-api.log", env={"KURA_AUTH_FAIL_LIMIT": "3", **env})
        api.start()
        started.append(api)
        return api, token

    yield start
    for api in started:
        api.stop()


def get(api: LiveApi, path: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    try:
        conn.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


def log(api: LiveApi) -> str:
    return api.log_path.read_text()


def test_a_locked_out_address_still_gets_in_with_a_valid_token(start: Start) -> None:
    api, token = start()
    for _ in range(3):
        refused = get(api, "/api/v1/tokens", Authorization="Bearer not-a-token")
        assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    blocked = get(api, "/api/v1/tokens", Authorization="Bearer not-a-token")
    assert blocked.status == 429 and int(blocked.headers["Retry-After"]) > 0
    for path in ("/api/v1/tokens", "/api/v1/bookmarks", "/api/v1/stats"):
        assert get(api, path, Authorization=f"Bearer {token}").status == 200, path


def test_refusals_are_logged_as_warnings_with_the_address_and_never_the_token(start: Start) -> None:
    api, token = start()
    wrong = token[:-2] + "xx"
    for _ in range(4):
        get(api, "/api/v1/bookmarks", Authorization=f"Bearer {wrong}")
    text = log(api)
    assert text.count("WARNING") >= 4
    assert text.count("auth failed (401) from 127.0.0.1 on GET /api/v1/bookmarks") == 3
    assert text.count("auth refused (429, too many failures) from 127.0.0.1") == 1
    assert wrong not in text and token not in text
    assert '"GET /api/v1/bookmarks HTTP/1.1"' not in text  # no access log unless asked for


def test_forwarded_for_is_ignored_from_an_untrusted_peer(start: Start) -> None:
    api, _ = start()
    for i in range(3):  # a different "client" each time: had uvicorn believed them, none would be limited
        assert get(api, "/api/v1/tokens", Authorization="Bearer x", X_Forwarded_For=f"10.0.0.{i}").status == 401
    assert get(api, "/api/v1/tokens", Authorization="Bearer x", X_Forwarded_For="10.9.9.9").status == 429
    assert "10.0.0." not in log(api) and "10.9.9.9" not in log(api)


def test_forwarded_for_from_a_trusted_proxy_names_the_client(start: Start) -> None:
    api, _ = start(KURA_TRUSTED_PROXIES="127.0.0.1")
    for _ in range(3):
        assert get(api, "/api/v1/tokens", Authorization="Bearer x", X_Forwarded_For="203.0.113.7").status == 401
    assert get(api, "/api/v1/tokens", Authorization="Bearer x", X_Forwarded_For="203.0.113.7").status == 429
    # Another client behind the same proxy is not locked out with the first.
    assert get(api, "/api/v1/tokens", Authorization="Bearer x", X_Forwarded_For="203.0.113.8").status == 401
    assert "auth failed (401) from 203.0.113.7" in log(api) and "from 203.0.113.8" in log(api)


def test_the_access_log_setting_logs_every_request(start: Start) -> None:
    api, token = start(KURA_ACCESS_LOG="true")
    get(api, "/api/v1/tokens", Authorization=f"Bearer {token}")
    assert '"GET /api/v1/tokens HTTP/1.1" 200' in log(api)
    assert token not in log(api)


def test_a_500_is_logged_once_without_the_users_search_terms(start: Start, tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAILING_ROUTE)
    api, _ = start(PYTHONPATH=f"{hook}:{ROOT}")
    reply = get(api, "/test-only/fail")
    assert reply.status == 500 and reply.headers["Content-Type"] == "application/json"
    api.stop()  # so the log is complete
    text = log(api)
    assert text.count("unhandled error on GET /test-only/fail") == 1
    assert text.count(" ERROR ") == 1 and "Exception in ASGI application" not in text
    assert "no_such_table" in text  # the statement stays: it is the developer's, not the user's
    assert "secret-search-term" not in text

