"""The FastAPI application factory: settings and database are passed in, never read from a global."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from api.responses import ORJSONResponse

from api.auth import Authenticator, FailureLimiter
from api.conditional import Versions
from api.cors import install_cors
from api.errors import install_error_handlers
from api.hot import HotReads
from api.hot_writes import HotWrites
from api.edge import Edge
from api.middleware import name_route
from api.openapi import install_openapi
from api.request_metrics import RequestMetrics
from api.request_stats import start_publishing, stop_publishing
from api.routes import api_router, root_router
from api.housekeeping import housekeeping
from api.searching import close_index, open_index
from api.transactions import Transactions
from api.web import install_web
from common.db import Database
from common.version import VERSION
from common.settings import Settings
from monitor.query import MetricsReader

DESCRIPTION = """Kura is a self-hosted personal bookmark service.

Authenticate every `/api/v1` call with `Authorization: Bearer <token>` (create one with
`kura token create NAME --label L`). Errors share one body: `{"error": {"code", "message", "details"}}`.
"""


# FastAPI's own OpenTelemetry hooks (0.165+) ask on every request whether a provider is configured;
# Kura reports through its /metrics and Sentry, so they are turned off where FastAPI has them.
NO_TELEMETRY = ({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
                if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Reads queue for these threads; writes have their own, so a full pool never blocks a commit.
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.api_threads
    index = await open_index(app.state.settings, app.state.tx)
    metrics = app.state.request_metrics
    chores = asyncio.create_task(housekeeping(app.state.tx, index, requests=lambda: metrics.totals().requests))
    stats = start_publishing(app.state.request_metrics, app.state.settings)  # for kura-monitor's charts
    try:
        yield
    finally:
        chores.cancel()
        await stop_publishing(stats)  # its last write holds the final figures
        close_index(app.state.tx, index)
        app.state.metrics_reader.close()
        app.state.tx.close()


def create_app(settings: Settings, db: Database, *, hot_reads: bool = True) -> FastAPI:
    """The API. `hot_reads=False` leaves every request to the FastAPI routes (tests compare the two)."""
    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files the package ships, served
    # by the API itself, so they work on a host without Internet access (FastAPI's load from CDNs).
    app = FastAPIOffline(
        lifespan=_lifespan,
        title="Kura",
        version=VERSION,
        description=DESCRIPTION,
        default_response_class=ORJSONResponse,
        docs_url="/docs",
        redoc_url="/redoc",
        dependencies=[Depends(name_route)],
        **NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.tx = Transactions(db, write_wait_s=settings.write_wait_s)
    app.state.metrics_reader = MetricsReader(settings)  # kura-monitor's metrics.db, opened once when first read
    app.state.versions = Versions(app.state.tx)
    app.state.authenticator = Authenticator(
        app.state.tx, FailureLimiter(limit=settings.auth_fail_limit, window_s=settings.auth_fail_window_s)
    )
    install_error_handlers(app)
    install_openapi(app)
    if hot_reads:
        app.add_middleware(HotWrites, state=app.state)  # bookmark create/update/delete, likewise
        app.add_middleware(HotReads, state=app.state)
    app.state.request_metrics = RequestMetrics()
    # Outside the hot reads, so metrics, timing, headers, gzip and ETag cover their answers too.
    app.add_middleware(Edge, settings=settings, metrics=app.state.request_metrics)
    install_cors(app, settings)  # outside even that: a preflight is answered before any other work
    app.include_router(root_router)
    app.include_router(api_router, prefix="/api/v1")
    install_web(app)  # the web pages (issue 14), after the API: its JSON routes come first
    return app
