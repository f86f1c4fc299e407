"""The API's own request counts and latency histogram, for GET /metrics.

A pure ASGI middleware (no BaseHTTPMiddleware: it would buffer streaming bodies and cost a task per
request). Routes are labelled by their template ("/api/v1/bookmarks/{bookmark_id}"), never the raw
path, so a scan of random URLs cannot blow up the number of series; unmatched paths share one label.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from api.middleware import route_name

UNMATCHED = "<unmatched>"
# Seconds; dense below the 200 ms / 500 ms P95 / P99 targets, where the interesting changes happen.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["method", "route", "status"]
        self.requests = Counter("kura_http_requests", "HTTP requests answered by the API", labels,
                                registry=self.registry)
        self.latency = Histogram("kura_http_request_duration_seconds", "Time to answer an HTTP request", labels,
                                 buckets=BUCKETS, registry=self.registry)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetricsMiddleware:
    def __init__(self, app: Any, metrics: RequestMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The router writes the matched route into this same scope dict on its way down.
            route = route_name(scope).partition(" ")[2] if scope.get("route") is not None else UNMATCHED
            self.metrics.observe(method=scope["method"], route=route, status=status,
                                 seconds=time.perf_counter() - started)


def install_request_metrics(app: FastAPI) -> RequestMetrics:
    metrics = RequestMetrics()
    app.state.request_metrics = metrics
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return metrics
