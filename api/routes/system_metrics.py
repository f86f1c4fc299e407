"""The monitor's history and alerts as JSON, and everything as Prometheus text at /metrics.

metrics.db belongs to kura-monitor; these routes only read it (and answer empty series when it does
not exist yet). All admin-only, except /metrics from loopback when KURA_METRICS_ANONYMOUS_LOOPBACK is
set and the request did not come through a proxy.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel

from api.deps import BEARER, AdminUser, MetricsDep, SettingsDep, get_admin, get_principal
from api.errors import responses
from api.schemas_resources import Moment
from backup.status import newest_verified_backup
from common.settings import Settings
from monitor import query
from monitor.query import METRICS, MetricsReader

api_router = APIRouter(prefix="/system", tags=["system"])
root_router = APIRouter(tags=["system"])

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
MAX_STEP_S = 366 * 86400.0  # a point per year at most; a larger step only overflowed the date arithmetic
PROMETHEUS_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"description": "Prometheus text exposition format 0.0.4",
          "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}},
}


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class Series(BaseModel):
    labels: dict[str, str]
    points: list[list[float]]


class SeriesOut(BaseModel):
    metric: str
    help: str
    since: datetime
    until: datetime
    step: float | None
    resolution: str
    columns: list[str]
    series: list[Series]


@api_router.get("/metrics", summary="A metric's history for graphs", response_model=SeriesOut,
                responses=responses(400, 401, 403, 422, 429))
def get_metrics(
    _: AdminUser,
    settings: SettingsDep,
    metrics: MetricsDep,
    metric: Annotated[str, Query(description="e.g. cpu_percent, filesystem_avail_bytes",
                                 json_schema_extra={"enum": sorted(METRICS)})],
    since: Annotated[Moment | None, Query(description="ISO 8601 or Unix seconds; default until - 1 h")] = None,
    until: Annotated[Moment | None, Query(description="ISO 8601 or Unix seconds; default now")] = None,
    step: Annotated[float | None, Query(gt=0, le=MAX_STEP_S,
                                        description="seconds per point; default fits ~720 points")] = None,
) -> dict[str, Any]:
    until = _aware(until) or datetime.now(UTC)
    since = _aware(since) or until - timedelta(hours=1)
    return query.series(metrics.db(), metric=metric, since=since, until=until, step_s=step, settings=settings)


class AlertsOut(BaseModel):
    active: list[dict[str, Any]]
    history: list[dict[str, Any]]


@api_router.get("/alerts", summary="Active alerts and alert history, newest first", response_model=AlertsOut,
                responses=responses(401, 403, 422, 429))
def get_alerts(
    _: AdminUser,
    metrics: MetricsDep,
    since: Annotated[Moment | None, Query(description="ISO 8601 or Unix seconds")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return query.alert_history(metrics.db(), since=_aware(since), limit=limit)


def _from_loopback(request: Request) -> bool:
    if any(name in request.headers for name in PROXY_HEADERS):
        return False  # a local reverse proxy makes every client look like 127.0.0.1
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def scrape_access(request: Request, settings: SettingsDep) -> None:
    if settings.metrics_anonymous_loopback and _from_loopback(request):
        return
    await get_admin(await get_principal(request))


class SnapshotCollector:
    """The newest sample as node_exporter-style gauges, plus the backup age from the backup files."""

    def __init__(self, settings: Settings, metrics: MetricsReader) -> None:
        self.settings, self.metrics = settings, metrics

    def collect(self):  # type: ignore[no-untyped-def]
        taken_at, values = query.latest(self.metrics.db())
        families: dict[str, GaugeMetricFamily] = {}
        for name, label, value in values:
            if name == "backup_last_success_timestamp_seconds":
                continue  # read fresh from the backups below
            meta = METRICS.get(name)
            if meta is None:
                continue
            if name not in families:
                families[name] = GaugeMetricFamily(f"kura_{name}", meta.help,
                                                   labels=[meta.label] if meta.label else None)
            families[name].add_metric([label] if meta.label else [], value)
        yield from families.values()
        if taken_at is not None:
            yield GaugeMetricFamily("kura_monitor_last_sample_timestamp_seconds",
                                    "When kura-monitor stored its newest sample, Unix seconds", value=taken_at)
        newest = newest_verified_backup(self.settings)
        if newest is not None:
            yield GaugeMetricFamily("kura_backup_last_success_timestamp_seconds",
                                    METRICS["backup_last_success_timestamp_seconds"].help,
                                    value=newest.created_at.timestamp())


@root_router.get("/metrics", summary="Prometheus metrics", response_class=Response,
                 dependencies=[Depends(scrape_access), Security(BEARER)],
                 responses={**PROMETHEUS_TEXT, **responses(401, 403, 429)})
def prometheus_metrics(request: Request, settings: SettingsDep, metrics: MetricsDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(settings, metrics))
    body = generate_latest(registry)
    recorder = getattr(request.app.state, "request_metrics", None)
    if recorder is not None:
        body += recorder.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
