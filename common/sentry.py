"""Sentry, only when KURA_SENTRY_DSN is set, with credentials scrubbed before anything leaves."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from common.settings import Settings

SENSITIVE_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}
TOKEN_RE = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}")
FILTERED = "[Filtered]"
ERROR_LEVEL = 40  # loguru's and logging's ERROR
_sink_id: int | None = None
# The SDK turns on the integration of every library it can import (FastAPI, Starlette, SQLAlchemy...),
# and importing them is most of the cost: +25 MB resident for kura-monitor, which runs none of them.
NO_AUTO_INTEGRATIONS = {"kura-monitor"}


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
    if isinstance(event.get("message"), str):
        event["message"] = _scrub_text(event["message"])
    if "logentry" in event:
        event["logentry"]["message"] = _scrub_text(event["logentry"].get("message"))
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        crumb["message"] = _scrub_text(crumb.get("message"))
    return event


def _loguru_to_sentry(message: Any) -> None:
    """ERROR and above become events, the rest breadcrumbs. Sentry's own loguru integration is off:
    its sink formats tracebacks with loguru's `diagnose`, which prints variable values (tokens)."""
    import sentry_sdk

    record = message.record
    exc = record["exception"]
    if record["level"].no >= ERROR_LEVEL:
        if exc is not None and exc.value is not None:
            sentry_sdk.capture_exception((exc.type, exc.value, exc.traceback))
        else:
            sentry_sdk.capture_message(record["message"], level="error")
    else:
        sentry_sdk.add_breadcrumb(category=record["name"], message=record["message"],
                                  level=record["level"].name.lower())


def scrub_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
    crumb["message"] = _scrub_text(crumb.get("message"))
    return crumb


def init_sentry(settings: Settings, *, program: str) -> bool:
    """Initialise the SDK if a DSN is configured; return whether it is on."""
    if not settings.sentry_dsn:
        return False
    # Imported here: the SDK costs start-up time that a program without a DSN need not pay.
    import sentry_sdk
    from loguru import logger
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.loguru import LoguruIntegration

    from common.version import VERSION

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=settings.sentry_release or f"kura@{VERSION}",
        environment=settings.sentry_environment,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        # No user identity, cookies or bodies. No frame locals either: an ASGI scope or a Request in
        # any frame carries the raw Authorization header. Headers and messages pass scrub_event.
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        integrations=[LoggingIntegration(event_level=None)],
        auto_enabling_integrations=program not in NO_AUTO_INTEGRATIONS,
        disabled_integrations=[LoguruIntegration()],
    )
    sentry_sdk.set_tag("program", program)
    global _sink_id
    if _sink_id is not None:  # initialised again (tests do): one bridge, not two
        with contextlib.suppress(ValueError):
            logger.remove(_sink_id)
    _sink_id = logger.add(_loguru_to_sentry, level="INFO", format="{message}", diagnose=False, backtrace=False)
    return True
