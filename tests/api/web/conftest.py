"""Fixtures for the web pages: `web(account)` is a TestClient signed in through the real sign-in
form, sharing the `client` fixture's running app (one lifespan, one event loop).

    c = web(alice)                      # a WebClient; c.csrf is the session's form token
    r = c.get("/tags")                  # follows redirects, like any TestClient
    r = c.post("/tags/3/delete", data={"csrf": c.csrf}, follow_redirects=False)   # 303 and Location
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain import passwords, sessions
from common.db import Database
from tests.conftest import Account

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its real cost takes about a second here per hash; these tests check sign-in, not
    Argon2 (tests/domain/test_passwords.py does), so they hash with the cheapest parameters."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def form_csrf(html: str) -> str:
    """The `csrf` hidden field of the first form in a page."""
    found = CSRF_FIELD.search(html)
    assert found is not None, "no csrf field in the page"
    return found.group(1)


class WebClient(TestClient):
    """A browser signed in as `account` (see `web`); `csrf` is what its forms post."""

    account: Account
    csrf: str

    def sign_in(self, name: str, password: str) -> None:
        form = self.get("/login")
        assert form.status_code == 200, form.text
        answer = self.post("/login", data={"name": name, "password": password, "csrf": form_csrf(form.text),
                                          "next": "/settings"}, follow_redirects=False)
        assert answer.status_code == 303, f"sign-in failed: {answer.status_code} {answer.text[:300]}"

    @property
    def session_cookie(self) -> str:
        return self.cookies["kura_session"]


def set_password(db: Database, account: Account, password: str = PASSWORD) -> None:
    with db.write_session() as session:
        passwords.set_password(session, user_id=account.user_id, password=password)


@pytest.fixture
def anonymous(app: FastAPI, client: TestClient) -> Callable[[], WebClient]:
    """A browser that is not signed in, on the running app."""

    def make() -> WebClient:
        browser = WebClient(app)
        browser.portal = client.portal  # the `client` fixture's loop: the app's lifespan runs there
        return browser

    return make


@pytest.fixture
def web(db: Database, anonymous: Callable[[], WebClient]) -> Callable[[Account], WebClient]:
    """`web(account)`: a WebClient signed in as `account` (its password is set once per test, to
    PASSWORD, through domain.passwords; setting it again would end the sessions made before)."""
    with_password: set[int] = set()

    def sign_in(account: Account) -> WebClient:
        if account.user_id not in with_password:
            set_password(db, account)
            with_password.add(account.user_id)
        browser = anonymous()
        browser.sign_in(account.name, PASSWORD)
        browser.account = account
        with db.read_session() as session:
            live = sessions.find_session_in(session, token=browser.session_cookie)
        assert live is not None and live.principal.user_id == account.user_id
        browser.csrf = live.csrf
        return browser

    return sign_in
