"""The FastAPI application factory: settings and database are passed in, never read from a global."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from api.responses import ORJSONResponse

from api.auth import Authenticator, FailureLimiter
from api.errors import install_error_handlers
from api.middleware import install_middleware, name_route
from api.request_metrics import install_request_metrics
from api.routes import api_router, root_router
from common.db import Database
from common.version import VERSION
from common.settings import Settings

DESCRIPTION = """Kura is a self-hosted personal bookmark service.

Authenticate every `/api/v1` call with `Authorization: Bearer <token>` (create one with
`kura token create NAME --label L`). Errors share one body: `{"error": {"code", "message", "details"}}`.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.authenticator.close()


def create_app(settings: Settings, db: Database) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Kura",
        version=VERSION,
        description=DESCRIPTION,
        default_response_class=ORJSONResponse,
        docs_url="/docs",
        redoc_url="/redoc",
        dependencies=[Depends(name_route)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.authenticator = Authenticator(
        db, FailureLimiter(limit=settings.auth_fail_limit, window_s=settings.auth_fail_window_s)
    )
    install_error_handlers(app)
    install_middleware(app, settings)
    install_request_metrics(app)  # outermost, so it times everything the client waits for
    app.include_router(root_router)
    app.include_router(api_router, prefix="/api/v1")
    return app
