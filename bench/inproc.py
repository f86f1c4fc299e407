"""CPU per request through the real ASGI app, in this process: `python -m bench.inproc [--small]`.

No HTTP server, no load generator: each static read case of the load section is sent straight to
`create_app(...)` and the process's CPU time per request is measured, next to the ceiling app's
(bench/ceiling.py) measured the same way. It answers "did this change make a request cheaper?" in
seconds and without a quiet machine (CPU time, unlike req/s, barely moves when other work competes),
so it is the A/B probe for the hot path; the load section stays the figure of record.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench import cases as case_defs
from bench import ceiling, datagen

SMALL = datagen.Spec(main_bookmarks=20_000, other_users=2, other_bookmarks=5_000, tags=200)
SKIPPED = {"export_10k"}  # streams for seconds: the load section measures it


def scope(path_and_query: str, token: str | None, etag: str | None = None) -> dict[str, Any]:
    path, _, query = path_and_query.partition("?")
    headers = [(b"host", b"bench")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if etag is not None:
        headers.append((b"if-none-match", etag.encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


async def call(app: Any, request: dict[str, Any], seen: dict[str, str] | None = None) -> int:
    """Send one GET through the app; its status (and its headers into `seen`)."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
            if seen is not None:
                seen.update((k.decode(), v.decode()) for k, v in message["headers"])

    await app(scope(request["path"], request["token"], request.get("etag")), receive, send)
    return statuses[0]


async def cpu_ms(app: Any, request: dict[str, Any], *, n: int) -> float:
    """CPU milliseconds of this process (every thread) per request, after a warm-up."""
    for _ in range(max(5, n // 10)):
        status = await call(app, request)
    if status != request.get("status", 200):
        raise RuntimeError(f"{request['path']} answered {status}")
    start = time.process_time()
    for _ in range(n):
        await call(app, request)
    return (time.process_time() - start) / n * 1000


async def measure(data_dir: Path, meta: dict, *, n: int) -> dict[str, float]:
    from api.app import create_app
    from domain import migrate
    from common.db import open_database
    from common.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    db = open_database(settings)
    migrate.upgrade(db)  # the cache may predate a newer migration
    app = create_app(settings, db)
    figures = {"ceiling": await cpu_ms(ceiling.app, {"path": "/", "token": None}, n=n)}
    try:
        async with app.router.lifespan_context(app):
            for case in case_defs.load_cases(meta):
                token = case_defs.user_of(meta, case.user)["token"]
                request: dict[str, Any] = {"path": case.path, "token": token}
                if case.kind == "conditional":
                    headers: dict[str, str] = {}
                    await call(app, request, headers)
                    request.update(etag=headers["etag"], status=304)
                if case.kind in ("static", "conditional") and case.name not in SKIPPED:
                    figures[case.name] = await cpu_ms(app, request, n=n)
            main = case_defs.user_of(meta, datagen.MAIN_USER)
            one = f"{case_defs.PREFIX}/bookmarks/{main['first_id']}"
            figures["get_one"] = await cpu_ms(app, {"path": one, "token": main["token"]}, n=n)
    finally:
        db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20k bookmarks instead of the 100k dataset")
    parser.add_argument("--requests", type=int, default=300, help="requests per case")
    parser.add_argument("--cache", type=Path, default=Path("/var/tmp/kura-bench"))
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/kura-bench-inproc"))
    args = parser.parse_args()
    from loguru import logger

    logger.remove()  # slow-SQL warnings are expected here and would bury the table
    source, meta = datagen.cached(SMALL if args.small else datagen.Spec(), args.cache)
    datagen.copy_database(source, args.work)
    figures = asyncio.run(measure(args.work, meta, n=args.requests))
    base = figures["ceiling"]
    print(f"{'case':16s} {'CPU ms/req':>10s} {'x ceiling CPU':>14s}")
    for name, value in figures.items():
        print(f"{name:16s} {value:10.3f} {value / base:14.1f}")


if __name__ == "__main__":
    main()
