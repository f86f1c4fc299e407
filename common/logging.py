"""loguru set-up shared by every program: kura, kura-api, kura-backup and kura-monitor.

Under systemd (JOURNAL_STREAM is set) each line starts with its syslog priority, ``<3>`` for errors
through ``<7>`` for debug, which journald turns into the entry's priority, so ``journalctl -p err``
shows exactly the errors. Elsewhere a readable format for people, or JSON lines by setting:
one flat object a line (``ts, level, program, msg`` and every bound extra such as ``route, status,
ms``), the shape jq and log shippers read, not loguru's nested ~1 KB record.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import UTC
from typing import Any

from loguru import logger

from common.settings import Settings

# loguru level -> syslog priority (sd-daemon(3) prefixes)
PRIORITY = {"TRACE": 7, "DEBUG": 7, "INFO": 6, "SUCCESS": 5, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}

# loguru level -> the standard library's number (uvicorn's TRACE is 5)
STDLIB_LEVEL = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

HUMAN_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <8}</level> "
    "<cyan>{extra[program]}</cyan> {message}"
)


# Both sinks look sys.stderr up on every line rather than holding the stream they were given, so
# whoever swaps stderr (a test capturing it, say) never leaves loguru writing to a closed file.
def _journal_sink(message: Any) -> None:
    # Every line gets the prefix, traceback lines included, so `journalctl -p err` shows whole traces.
    prio = PRIORITY.get(message.record["level"].name, 6)
    sys.stderr.write("".join(f"<{prio}>{line}\n" for line in str(message).rstrip("\n").splitlines()))
    sys.stderr.flush()


def _stderr_sink(message: Any) -> None:
    sys.stderr.write(str(message))
    sys.stderr.flush()


def json_line(record: dict[str, Any]) -> str:
    """One log record as a flat JSON object: ts (UTC), level, program, msg, then the bound extras."""
    ts = record["time"].astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line: dict[str, Any] = {"ts": ts, "level": record["level"].name,
                            "program": record["extra"].get("program"), "msg": record["message"]}
    for key, value in record["extra"].items():
        line.setdefault(key, value)
    if (exc := record["exception"]) is not None and exc.type is not None:
        # The stdlib's traceback never prints local values, so no token can leak through it.
        line["exc"] = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback)).rstrip("\n")
    return json.dumps(line, ensure_ascii=False, default=str)


def _json_sink(message: Any) -> None:
    record = message.record
    prefix = f"<{PRIORITY.get(record['level'].name, 6)}>" if under_journal() else ""
    sys.stderr.write(f"{prefix}{json_line(record)}\n")
    sys.stderr.flush()


LOGGED_MARK = "_kura_logged"


def mark_logged(exc: BaseException) -> None:
    """Kura has logged this exception with its traceback; a server's later line for it is dropped."""
    setattr(exc, LOGGED_MARK, True)


class _InterceptHandler(logging.Handler):
    """Route stdlib logging (uvicorn, alembic, sqlalchemy warnings) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and getattr(record.exc_info[1], LOGGED_MARK, False):
            return  # uvicorn's "Exception in ASGI application" for an error Kura's handler logged: once is enough
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.bind(**_access_fields(record)).opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """uvicorn's access line as fields too (its args: client, method, path, HTTP version, status), so a
    JSON line carries `status` for jq and log shippers to filter on."""
    if record.name != "uvicorn.access" or not isinstance(record.args, tuple) or len(record.args) != 5:
        return {}
    client, method, path, _version, status = record.args
    return {"client": client, "method": method, "path": path, "status": status}


def under_journal() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM"))


def setup_logging(settings: Settings, *, program: str) -> None:
    logger.remove()
    logger.configure(extra={"program": program})
    # diagnose=False: loguru would otherwise print variable values in tracebacks, tokens included.
    common = {"level": settings.log_level, "diagnose": False}
    if settings.log_json:  # under the journal too, with the priority prefix that journald strips off
        logger.add(_json_sink, format="{message}", colorize=False, **common)
    elif under_journal():
        logger.add(_journal_sink, format="{extra[program]}: {message}", colorize=False, **common)
    else:
        logger.add(_stderr_sink, format=HUMAN_FORMAT, colorize=sys.stderr.isatty(), **common)
    # The standard library's level must follow ours: uvicorn wraps the app in a per-message trace
    # logger whenever its logger is enabled for TRACE, which cost ~15% of a request's CPU.
    logging.basicConfig(handlers=[_InterceptHandler()], level=STDLIB_LEVEL[settings.log_level], force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        std = logging.getLogger(name)
        std.handlers = [_InterceptHandler()]
        std.propagate = False
    # Alembic narrates every connection at INFO ("Context impl SQLiteImpl"); keep only its warnings.
    logging.getLogger("alembic").setLevel(logging.WARNING)
