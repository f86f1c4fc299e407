"""`kura-api`: serve the app with uvicorn and tell systemd how it is going.

READY=1 goes out only once the database is open, its schema is at head and the socket listens;
WATCHDOG=1 only while a worker thread and the write turn come free and a fresh connection can read
the file, so a wedged pool, writer or event loop gets the unit restarted;
STOPPING=1 when shutdown starts, after which in-flight requests are allowed to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Iterator, Sequence

import uvicorn
from loguru import logger

from domain import migrate
from api.health import STALL_S, liveness
from api.port import busy_port_message
from api.transactions import Transactions
from common.cmdline import program_parser
from common import memory
from common.db import Database, DatabaseError, open_database, sqlite_version_check
from common.notify import Notifier, watchdog_interval
from common.settings import Settings
from common.startup import boot

# The worker threads mostly hold the GIL when they allocate: more arenas would only keep more freed
# memory (the API's RSS after the bench's load: see README "Benchmarks").
MALLOC_ARENAS = 2
# Blocks this big are mapped apart and given back when freed (common/memory.py says why): a burst of
# creates left the API 30 MB larger with glibc's moving threshold (131 MB after it, 102 with this).
MMAP_THRESHOLD = 1 << 20
GRACEFUL_SHUTDOWN_S = 20.0  # inside the unit's TimeoutStopSec=30s, longer than any sane request
# The standard library's loop, not uvloop (uvicorn's "auto" when installed): saturated at 32
# connections, uvloop left a few requests waiting 5-10x the median (p99 130-290 ms, max 740, for a
# page the stdlib loop answered at p99 68-100 ms, max 150; same on a FastAPI app burning 1.2 ms per
# request). The price: ~0.1 ms more CPU for each of the cheapest reads at 4 connections, ~0.03 at 32
# (README "Benchmarks").
EVENT_LOOP = "asyncio"


async def watchdog_loop(tx: Transactions, notifier: Notifier, interval: float, *, stall_s: float = STALL_S) -> None:
    """Ping systemd every `interval` seconds, but only while the request paths move (api/health.py)."""
    failing = False
    deadline = min(interval, 5.0)
    while True:
        problem = await liveness(tx, deadline=deadline, stall_s=stall_s)
        if problem is None:
            notifier.watchdog()
            if failing:
                logger.info("request paths answer again; watchdog pings resumed")
        elif not failing:
            logger.error("withholding watchdog pings: {}", problem)
        failing = problem is not None
        await asyncio.sleep(interval)


class KuraServer(uvicorn.Server):
    """uvicorn's server with sd_notify at the points only the server knows about."""

    def __init__(self, config: uvicorn.Config, *, tx: Transactions, notifier: Notifier) -> None:
        super().__init__(config)
        self.tx, self.notifier = tx, notifier
        self._watchdog: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        self.notifier.ready(status=f"serving on http://{self.config.host}:{self.config.port}")
        interval = watchdog_interval()
        if interval:
            self._watchdog = asyncio.create_task(watchdog_loop(self.tx, self.notifier, interval))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.notifier.stopping()
        self.notifier.status("finishing in-flight requests")
        if self._watchdog is not None:
            self._watchdog.cancel()
        await super().shutdown(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn re-raises the SIGTERM it caught once serving ends, which would turn a clean,
            # graceful stop into death by signal; we have stopped, so exit 0 instead.
            getattr(self, "_captured_signals", []).clear()


def open_checked(settings: Settings) -> Database:
    """Open the existing database and insist that its schema is at head; writes then keep checking."""
    db = open_database(settings, pool_size=settings.api_threads + 2)  # + the writer and the auth connection
    try:
        db.expected_revision = migrate.ensure_at_head(db)
    except BaseException:
        db.dispose()
        raise
    return db


def build_server(settings: Settings, db: Database, notifier: Notifier) -> KuraServer:
    from api.app import create_app  # the heavy imports; only once the cheap checks passed
    from api.protocol import bounded_protocol

    app = create_app(settings, db)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        loop=EVENT_LOOP,
        access_log=settings.access_log,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
        ws="none",  # no websocket routes; skips importing a websocket library at start
        # httptools (the fastest parser), with bounds on each request's head (api/protocol.py)
        http=bounded_protocol(max_header_bytes=settings.max_header_bytes, header_timeout_s=settings.header_timeout_s),
        # X-Forwarded-For / -Proto only from the proxies named in KURA_TRUSTED_PROXIES; uvicorn's own
        # default would believe them from 127.0.0.1, so any local process could pick its address.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    return KuraServer(config, tx=app.state.tx, notifier=notifier)


def main(argv: Sequence[str] | None = None) -> int:
    program_parser("kura-api", "Serve Kura's HTTP API in the foreground on KURA_HOST:KURA_PORT "
                   "(127.0.0.1:8000 by default) until SIGTERM or Ctrl-C.").parse_args(argv)
    settings = boot("kura-api")
    if settings is None:
        return 2
    memory.cap_arenas(MALLOC_ARENAS)
    memory.fix_mmap_threshold(MMAP_THRESHOLD)
    sqlite_version_check()
    if (busy := busy_port_message(settings.host, settings.port)) is not None:
        print(f"kura-api: {busy}", file=sys.stderr)
        return 1
    notifier = Notifier()
    notifier.status("opening the database")
    try:
        db = open_checked(settings)
    except (DatabaseError, migrate.SchemaNotAtHead) as exc:
        notifier.close()
        print(f"kura-api: {exc}", file=sys.stderr)
        return 1
    try:
        server = build_server(settings, db, notifier)
        memory.settle_startup_objects()  # the app is built: what start-up made lives as long as we do
        server.run()
    finally:
        notifier.close()
        db.dispose()
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
