"""Per-request timing shared between the SQL hooks and the API's Server-Timing middleware.

A context variable holds a small mutable record; FastAPI copies the context into the worker thread
that runs a sync route, so the SQL hooks there add to the same record the middleware reads.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestTiming:
    route: str = "-"
    db_seconds: float = 0.0
    statements: int = 0


_current: ContextVar[RequestTiming | None] = ContextVar("kura_request_timing", default=None)


def start(route: str) -> RequestTiming:
    record = RequestTiming(route=route)
    _current.set(record)
    return record


def add_db_time(seconds: float) -> None:
    record = _current.get()
    if record is not None:
        record.db_seconds += seconds
        record.statements += 1


def current_route() -> str:
    record = _current.get()
    return record.route if record is not None else "-"


def in_request() -> bool:
    """Whether this code runs for an API request (the slow-SQL threshold applies only there)."""
    return _current.get() is not None
