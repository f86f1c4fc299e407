"""Shared fixtures: a real SQLite file in tmp_path, migrated to head, and a real app on it."""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sentry_sdk
from fastapi.testclient import TestClient
from loguru import logger
from sqlalchemy import event

from api.app import create_app
from domain import accounts, listing, migrate
from common.db import Database, open_database
from common.settings import Settings, load_settings
from tests.doubles import NotifySocket, SentryStandIn, SmtpInbox


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the host's Kura or systemd settings."""
    for name in list(os.environ):
        if name.startswith("KURA_") or name in {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                                                "JOURNAL_STREAM", "STATE_DIRECTORY"}:
            monkeypatch.delenv(name, raising=False)
    # The web interface's page-metadata fetch stays off unless a test turns it on against its own
    # local server: no test reaches out to the network (issue 14).
    monkeypatch.setenv("KURA_WEB_FETCH_META", "false")
    # The rarest-tag memory is per process, which serves one database; tests open many.
    listing._drivers.clear()


@pytest.fixture(autouse=True, scope="module")
def _collect_garbage_at_the_end_of_each_module() -> Iterator[None]:
    """An object left unclosed inside a reference cycle (a socket, a file) warns only when the
    garbage collector gets to it, which may be tests later, in whichever test is running then.
    Collecting at the end of each module makes such a warning (an error here) fail the module that
    leaked it. Once per module, not per test: a full collection of this process costs ~0.1 s."""
    yield
    gc.collect()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings, create=True)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Account:
    user_id: int
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(db: Database) -> Callable[..., Account]:
    def make(name: str, *, admin: bool = False) -> Account:
        with db.write_session() as session:
            user = accounts.create_user(session, name=name, is_admin=admin)
            _, token = accounts.create_token(session, user_id=user.id, label="test")
        return Account(user_id=user.id, name=name, token=token)

    return make


@pytest.fixture
def alice(make_account: Callable[..., Account]) -> Account:
    return make_account("alice")


@pytest.fixture
def bob(make_account: Callable[..., Account]) -> Account:
    return make_account("bob")


@pytest.fixture
def admin(make_account: Callable[..., Account]) -> Account:
    return make_account("root", admin=True)


class QueryCounter:
    """Counts the SQL statements an engine runs inside a `with counter:` block."""

    def __init__(self, db: Database) -> None:
        self.db, self.engine = db, db.engine
        self.statements: list[str] = []

    def _record(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        self._seen(statement)

    def _seen(self, statement: str, _parameters: object = None) -> None:
        if statement.strip().upper() not in {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}:
            self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        self.statements.clear()
        event.listen(self.engine, "before_cursor_execute", self._record)
        self.db.statement_hooks.append(self._seen)  # the API's reads on the event loop's connection
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
        self.db.statement_hooks.remove(self._seen)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(db: Database) -> QueryCounter:
    return QueryCounter(db)


def _logged(level: str) -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m.record["message"])), level=level)
    yield lines
    logger.remove(sink)


@pytest.fixture
def errors() -> Iterator[list[str]]:
    """Messages logged at ERROR and above while the test runs."""
    yield from _logged("ERROR")


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """Messages logged at WARNING and above while the test runs."""
    yield from _logged("WARNING")


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    """A real SMTP server on 127.0.0.1, up from the start; a test may stop it and start it again."""
    with SmtpInbox() as inbox:
        yield inbox


@pytest.fixture
def mail_settings(settings: Settings, smtp_inbox: SmtpInbox) -> Callable[..., Settings]:
    """Settings on the test's data dir that mail smtp_inbox; keyword overrides allowed."""
    return lambda **overrides: smtp_inbox.settings(**{"data_dir": settings.data_dir, **overrides})


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    """systemd's end of NOTIFY_SOCKET, named in this process's environment as systemd does for a service."""
    with NotifySocket() as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", sock.address)
        yield sock


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    """A local sentry.io: the DSN is ``sentry.dsn``, what arrived is ``sentry.envelopes``."""
    with SentryStandIn() as stand_in:
        yield stand_in
        # A test that initialised the SDK would leave it sending to a closed port, for the next test to see.
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.init(dsn=None)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mount small tmpfs file systems that really fill up (needs root and mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(size_bytes: int) -> Path:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(target)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], check=False)
