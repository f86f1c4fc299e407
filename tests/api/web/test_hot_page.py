"""The bookmark list page is answered before FastAPI's router (api/hot.py) with the same bytes the
route gives; anything but a signed-in GET of a good list goes on to the route."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from common.db import Database
from common.settings import Settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.api.web.conftest import WebClient
from tests.conftest import Account


@pytest.fixture
def routed(settings: Settings, db: Database) -> Iterator[TestClient]:
    """The same database served with every request left to the FastAPI routes."""
    with TestClient(create_app(settings, db, hot_reads=False)) as client:
        yield client


def both(web: Callable[[Account], WebClient], routed: TestClient, account: Account,
         path: str) -> tuple[object, object]:
    hot = web(account)
    routed.cookies.set("kura_session", hot.session_cookie)
    fast = hot.get(path, follow_redirects=False)
    slow = routed.get(path, follow_redirects=False)
    return fast, slow


@pytest.mark.parametrize("path", ["/", "/?tag=tag1", "/?q=note", "/?unread=1", "/?collection=1"])
def test_the_list_page_is_the_same_bytes_before_and_after_the_router(
        web, routed: TestClient, db: Database, alice: Account, path: str) -> None:  # type: ignore[no-untyped-def]
    seed_bookmarks(db, user_id=alice.user_id, count=60, tags_per=2)
    fast, slow = both(web, routed, alice, path)
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content and b'class="tag"' in fast.content
    assert fast.headers["etag"] == slow.headers["etag"]


def test_a_bad_list_parameter_gets_the_routes_error_page(web, routed: TestClient, db: Database,
                                                         alice: Account) -> None:  # type: ignore[no-untyped-def]
    fast, slow = both(web, routed, alice, "/?cursor=forged")
    assert fast.status_code == slow.status_code == 400
    assert fast.headers["content-type"].startswith("text/html") and fast.content == slow.content


def test_a_stale_session_cookie_is_sent_to_sign_in(anonymous) -> None:  # type: ignore[no-untyped-def]
    browser = anonymous()
    browser.cookies.set("kura_session", "no-such-session")
    answer = browser.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
