"""Every router, joined in one place. `root_router` serves outside /api/v1 (health, /metrics)."""

from fastapi import APIRouter

from api.routes import system, tokens
from api.routes import bookmarks, collections, tags

root_router = APIRouter()
root_router.include_router(system.router)

api_router = APIRouter()
api_router.include_router(tokens.router)
from api.routes import insights, transfer  # noqa: E402 - before tags, so /tags/graph is not /tags/{tag_id}
api_router.include_router(insights.router)
api_router.include_router(transfer.router)
for _router in (bookmarks.router, bookmarks.search_router, tags.router, collections.router):
    api_router.include_router(_router)

from api.routes import system_metrics  # noqa: E402 - the monitor's routes: /metrics and /api/v1/system/*
root_router.include_router(system_metrics.root_router)
api_router.include_router(system_metrics.api_router)

from api.routes import system_backups  # noqa: E402 - kura-backup's run history: /api/v1/system/backups
api_router.include_router(system_backups.router)
