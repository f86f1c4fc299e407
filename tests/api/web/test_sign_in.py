"""Signing in and out of the web pages: the cookie, the failed-sign-in limiter, CSRF, where a
sign-in may lead, and sessions that end (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.web.pages.auth import safe_next
from common.settings import Settings, load_settings
from common.sqlite import sqlite3
from tests.api.web.conftest import PASSWORD, WebClient, form_csrf, set_password
from tests.conftest import Account

Anonymous = Callable[[], WebClient]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", auth_fail_limit=3, web_session_days=7)


def sign_in(browser: TestClient, name: str, password: str, *, next_url: str = "/") -> object:
    form = browser.get("/login")
    return browser.post("/login", data={"name": name, "password": password, "next": next_url,
                                        "csrf": form_csrf(form.text)}, follow_redirects=False)


def db_rows(settings: Settings, sql: str, *params: object) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(settings.data_dir / "kura.db")
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_signing_in_sets_an_httponly_lax_cookie_and_goes_where_asked(db, anonymous: Anonymous, alice: Account) -> None:  # type: ignore[no-untyped-def]
    set_password(db, alice)
    answer = sign_in(anonymous(), "alice", PASSWORD, next_url="/settings?tab=1")
    assert answer.status_code == 303 and answer.headers["location"] == "/settings?tab=1"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("kura_session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert f"max-age={7 * 86400}" in flags and "secure" not in flags


def test_over_https_the_session_cookie_is_secure(app, client: TestClient, db, alice: Account) -> None:  # type: ignore[no-untyped-def]
    set_password(db, alice)
    browser = TestClient(app, base_url="https://testserver")
    browser.portal = client.portal
    answer = sign_in(browser, "alice", PASSWORD)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("kura_session="))
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


@pytest.mark.parametrize("name, password", [("alice", "wrong"), ("nobody", PASSWORD), ("alice", "")])
def test_a_wrong_name_or_password_shows_the_form_again_with_a_message(
        db, anonymous: Anonymous, alice: Account, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    set_password(db, alice)
    browser = anonymous()
    answer = sign_in(browser, name, password)
    assert answer.status_code == 200 and "Wrong user name or password." in answer.text
    assert "kura_session" not in browser.cookies
    assert browser.get("/settings", follow_redirects=False).status_code == 303


def test_a_user_without_a_password_cannot_sign_in(anonymous: Anonymous, alice: Account) -> None:
    answer = sign_in(anonymous(), "alice", "")
    assert answer.status_code == 200 and "Wrong user name or password." in answer.text
    assert "kura_session=" not in " ".join(answer.headers.get_list("set-cookie"))


def test_past_the_limit_even_the_right_password_gets_429_and_the_api_shares_the_count(
        db, anonymous: Anonymous, client: TestClient, alice: Account, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    set_password(db, alice)
    browser = anonymous()
    for _ in range(settings.auth_fail_limit):
        assert sign_in(browser, "alice", "guess").status_code == 200
    refused = sign_in(browser, "alice", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "too many failed" in refused.text and "kura_session" not in browser.cookies
    # The same limiter as the API's: a bad token from this client is now refused too.
    assert client.get("/api/v1/bookmarks", headers={"Authorization": "Bearer nope"}).status_code == 429


@pytest.mark.parametrize("sent", [None, "", "not-the-token"])
def test_a_sign_in_post_without_the_forms_token_is_refused(db, anonymous: Anonymous, alice: Account,
                                                           sent: str | None) -> None:  # type: ignore[no-untyped-def]
    set_password(db, alice)
    browser = anonymous()
    browser.get("/login")
    data = {"name": "alice", "password": PASSWORD} | ({} if sent is None else {"csrf": sent})
    answer = browser.post("/login", data=data, follow_redirects=False)
    assert answer.status_code == 403 and "<html" in answer.text and "kura_session" not in browser.cookies


@pytest.mark.parametrize("sent", [None, "", "not-the-token"])
def test_a_post_without_the_sessions_token_is_refused_and_changes_nothing(
        web: Callable[[Account], WebClient], alice: Account, settings: Settings, sent: str | None) -> None:
    browser = web(alice)
    answer = browser.post("/logout", data={} if sent is None else {"csrf": sent}, follow_redirects=False)
    assert answer.status_code == 403 and "security token" in answer.text
    assert db_rows(settings, "SELECT count(*) FROM web_sessions") == [(1,)]
    assert browser.get("/settings", follow_redirects=False).status_code == 200


def test_signing_out_ends_the_session_even_for_a_kept_copy_of_the_cookie(
        web: Callable[[Account], WebClient], anonymous: Anonymous, alice: Account, settings: Settings) -> None:
    browser = web(alice)
    kept = browser.session_cookie
    answer = browser.post("/logout", data={"csrf": browser.csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert db_rows(settings, "SELECT count(*) FROM web_sessions") == [(0,)]
    assert "You are signed out." in browser.get("/login").text
    replay = anonymous()
    replay.cookies.set("kura_session", kept)
    again = replay.get("/settings", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/login?next=%2Fsettings"


def test_an_expired_session_sends_the_browser_to_sign_in(
        web: Callable[[Account], WebClient], alice: Account, settings: Settings) -> None:
    browser = web(alice)
    db_rows(settings, "UPDATE web_sessions SET expires_at = expires_at - ?", 8 * 86400 * 10**6)
    answer = browser.get("/settings?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=" + quote("/settings?x=1", safe="")


def test_each_use_moves_the_expiry_on_at_most_once_a_minute(
        web: Callable[[Account], WebClient], alice: Account, settings: Settings) -> None:
    browser = web(alice)
    browser.get("/settings")
    [(first,)] = db_rows(settings, "SELECT expires_at FROM web_sessions")
    two_minutes = 120 * 10**6
    db_rows(settings, "UPDATE web_sessions SET last_seen_at = last_seen_at - ?, expires_at = expires_at - ?",
            two_minutes, two_minutes)
    answer = browser.get("/settings")
    [(moved,)] = db_rows(settings, "SELECT expires_at FROM web_sessions")
    assert moved >= first  # slid forward again from now, not from the sign-in
    assert "kura_session=" in " ".join(answer.headers.get_list("set-cookie"))  # the cookie slides too
    assert "kura_session=" not in " ".join(browser.get("/settings").headers.get_list("set-cookie"))


@pytest.mark.parametrize("target", ["//evil.example", "https://evil", "/\\evil.example", "http:evil",
                                    "javascript:alert(1)", "/x\r\nLocation: https://evil", "", "evil.example"])
def test_after_sign_in_next_never_leads_off_site(db, anonymous: Anonymous, alice: Account, target: str) -> None:  # type: ignore[no-untyped-def]
    set_password(db, alice)
    answer = sign_in(anonymous(), "alice", PASSWORD, next_url=target)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_a_local_next_is_kept_with_its_query() -> None:
    assert safe_next("/tags?sort=count&x=%2F%2Fa") == "/tags?sort=count&x=%2F%2Fa"
    assert safe_next("/") == "/" and safe_next(None) == "/"


def test_a_signed_in_browser_going_to_the_sign_in_page_goes_on(web: Callable[[Account], WebClient],
                                                               alice: Account) -> None:
    answer = web(alice).get("/login?next=/settings", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/settings"


def test_a_page_asks_for_sign_in_with_the_way_back(anonymous: Anonymous) -> None:
    answer = anonymous().get("/settings", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fsettings"
    form = anonymous().get("/login?next=%2Fsettings")
    assert 'name="next" value="/settings"' in form.text and form.headers["cache-control"] == "no-store"
