"""SQL statements per request for each load case, at 10 and at 1,000 bookmarks, in process.

The count includes everything the request runs (token lookup included) except BEGIN/COMMIT; a flat
count across sizes is what proves a page costs a constant number of statements.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from loguru import logger
from sqlalchemy import event

from api.app import create_app
from bench import cases as case_defs
from bench import datagen
from domain import sessions
from common.db import open_database
from common.settings import load_settings

SKIP = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}
ETAGS: dict[str, str] = {}


def _request(client: TestClient, case: case_defs.Case, meta: dict, n: int):  # type: ignore[no-untyped-def]
    user = case_defs.user_of(meta, case.user)
    headers = {"Authorization": f"Bearer {user['token']}"}
    base = case_defs.PREFIX + "/bookmarks"
    if case.kind == "get_one":
        return client.get(f"{base}/{user['first_id']}", headers=headers)
    if case.kind == "create":
        body = {"url": f"https://count.example/{n}", "title": "t", "tags": meta["top_tags"]}
        return client.post(base, json=body, headers=headers)
    if case.kind == "update":
        return client.patch(f"{base}/{user['first_id'] + 1}", json={"title": f"u{n}"}, headers=headers)
    if case.kind == "delete":
        return client.delete(f"{base}/{user['last_id'] - n}", headers=headers)
    if case.kind == "page":  # a browser: the web session's cookie, no token
        return client.get(case.path, headers={"Cookie": f"kura_session={meta['web_cookie']}"})
    if case.kind == "conditional":  # the warm-up call fetches the ETag, so only the 304 is counted
        if case.name not in ETAGS:
            ETAGS[case.name] = client.get(case.path, headers=headers).headers["etag"]
        headers["If-None-Match"] = ETAGS[case.name]
    return client.get(case.path, headers=headers)


def count_at(size: int, directory: Path) -> dict[str, int]:
    spec = datagen.Spec(main_bookmarks=size, other_users=1, other_bookmarks=size, tags=50)
    meta = datagen.build(spec, directory)
    settings = load_settings(data_dir=directory)
    db = open_database(settings)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.strip().upper() not in SKIP:
            statements.append(statement)

    def record_plain(statement: str, _parameters: object) -> None:  # reads on the event loop's connection
        record(None, None, statement)

    counts: dict[str, int] = {}
    ETAGS.clear()  # another database, other data versions
    with db.write_session() as session:
        main = case_defs.user_of(meta, datagen.MAIN_USER)["id"]
        meta = {**meta, "web_cookie": sessions.start_session(session, user_id=main, days=1).token}
    try:
        with TestClient(create_app(settings, db)) as client:
            for case in case_defs.load_cases(meta):
                _request(client, case, meta, 0)  # warm: first-use caches are not the steady state
                event.listen(db.engine, "before_cursor_execute", record)
                db.statement_hooks.append(record_plain)
                response = _request(client, case, meta, 1)
                event.remove(db.engine, "before_cursor_execute", record)
                db.statement_hooks.remove(record_plain)
                counts[case.name] = len(statements) if response.status_code < 400 else -response.status_code
                statements.clear()
    finally:
        db.dispose()
    return counts


def query_counts(sizes: tuple[int, ...] = (10, 1000)) -> dict[str, dict[str, int]]:
    """{case: {"10": n, "1000": n}}; a negative number is the HTTP status of a failed request."""
    table: dict[str, dict[str, int]] = {}
    for package in ("api", "domain", "common"):  # the in-process app's slow-request lines are noise here
        logger.disable(package)
    try:
        for size in sizes:
            with tempfile.TemporaryDirectory(prefix="kura-bench-queries-") as tmp:
                for name, count in count_at(size, Path(tmp)).items():
                    table.setdefault(name, {})[str(size)] = count
    finally:
        for package in ("api", "domain", "common"):
            logger.enable(package)
    return table
