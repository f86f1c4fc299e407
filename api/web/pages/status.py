"""GET /status (admins): the API, the monitor and the backups at a glance, with server-drawn charts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import MetricsDep, SettingsDep, TxDep
from api.web import status_view
from api.web.charts import fmt
from api.web.deps import WebAdmin
from api.web.render import page

router = APIRouter()


@router.get("/status")
async def status_page(request: Request, user: WebAdmin, tx: TxDep, metrics: MetricsDep, settings: SettingsDep,
                      range: Annotated[Literal["24h", "7d"], Query()] = "24h") -> HTMLResponse:  # noqa: A002
    view = await status_view.gather(tx=tx, metrics=metrics, settings=settings, range_name=range,
                                    recorder=getattr(request.app.state, "request_metrics", None))
    return page(request, "status/status.html", user=user, view=view, size=status_view.size, fmt=fmt)
