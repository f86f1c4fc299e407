"""loguru set-up shared by all three programs.

Under systemd (JOURNAL_STREAM is set) each line starts with its syslog priority, ``<3>`` for errors
through ``<7>`` for debug, which journald turns into the entry's priority, so ``journalctl -p err``
shows exactly the errors. Elsewhere a readable format for people, or JSON lines by setting.
"""

from __future__ import annotations

import logging
import os
import sys
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


class _InterceptHandler(logging.Handler):
    """Route stdlib logging (uvicorn, alembic, sqlalchemy warnings) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def under_journal() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM"))


def setup_logging(settings: Settings, *, program: str) -> None:
    logger.remove()
    logger.configure(extra={"program": program})
    # diagnose=False: loguru would otherwise print variable values in tracebacks, tokens included.
    common = {"level": settings.log_level, "diagnose": False}
    if under_journal():  # JSON too keeps the priority prefix: journald strips it off
        logger.add(_journal_sink, format="{extra[program]}: {message}", serialize=settings.log_json,
                   colorize=False, **common)
    elif settings.log_json:
        logger.add(_stderr_sink, serialize=True, **common)
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
