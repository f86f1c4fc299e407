"""Sentry, only when KURA_SENTRY_DSN is set, with credentials scrubbed before anything leaves."""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from common.settings import Settings

SENSITIVE_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}
TOKEN_RE = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}")
FILTERED = "[Filtered]"


def _scrub_text(value: Any) -> Any:
    return TOKEN_RE.sub(lambda m: f"{m.group(1)} {FILTERED}", value) if isinstance(value, str) else value


def scrub_event(event: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request") or {}
    headers = request.get("headers")
    if isinstance(headers, dict):
        for key in list(headers):
            if key.lower() in SENSITIVE_HEADERS:
                headers[key] = FILTERED
    if request.get("query_string"):
        request["query_string"] = _scrub_text(request["query_string"])
    for exc in (event.get("exception") or {}).get("values", []):
        exc["value"] = _scrub_text(exc.get("value"))
    if "logentry" in event:
        event["logentry"]["message"] = _scrub_text(event["logentry"].get("message"))
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        crumb["message"] = _scrub_text(crumb.get("message"))
    return event


def init_sentry(settings: Settings, *, program: str) -> bool:
    """Initialise the SDK if a DSN is configured; return whether it is on."""
    if not settings.sentry_dsn:
        return False
    from common.version import VERSION

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=settings.sentry_release or f"kura@{VERSION}",
        environment=settings.sentry_environment,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        send_default_pii=False,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        integrations=[LoggingIntegration(event_level=None)],
    )
    sentry_sdk.set_tag("program", program)
    return True
