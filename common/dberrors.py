"""What a failed SQLite call means for the caller, decided once from the driver's error name.

Storage failures (a full disk, an I/O error, a read-only or damaged file, another writer holding the
lock past the busy timeout) are not bugs in the request: they answer 503 with the reason, and the
reason is logged at ERROR so the admin sees it in `journalctl -u kura-api -p err`. Anything else is
left alone and stays a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from loguru import logger

from common.errors import Unavailable
from common.sqlite import sqlite3

RETRY_AFTER_S = 1  # the write turn frees within milliseconds; a storage fault needs the admin anyway

# (SQLite error-name prefix, kind, what the client is told)
_KINDS = (
    ("SQLITE_BUSY", "busy", "the database is busy with another writer; nothing was saved, retry shortly"),
    ("SQLITE_LOCKED", "busy", "the database is busy with another writer; nothing was saved, retry shortly"),
    ("SQLITE_FULL", "full", "the disk holding the database is full; nothing was saved"),
    ("SQLITE_IOERR", "io", "the database had a disk I/O error; nothing was saved"),
    ("SQLITE_READONLY", "readonly", "the database is read-only; nothing was saved"),
    ("SQLITE_CORRUPT", "corrupt", "the database file is damaged; restore it from a backup"),
    ("SQLITE_NOTADB", "corrupt", "the database file is damaged; restore it from a backup"),
    ("SQLITE_CANTOPEN", "missing", "the database file cannot be opened (missing or not readable)"),
)


class StorageUnavailable(Unavailable):
    """The database cannot serve this now; `kind` says why (busy, full, io, readonly, corrupt, missing)."""

    code = "storage_unavailable"

    def __init__(self, message: str, *, kind: str, retry_after: int | None = RETRY_AFTER_S) -> None:
        super().__init__(message, details={"reason": kind}, retry_after=retry_after)
        self.kind = kind


class WriteBusy(StorageUnavailable):
    """The write turn could not be had in time."""

    code = "busy"

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="busy")


def classify(exc: BaseException) -> StorageUnavailable | None:
    """The 503 an SQLite error (raw or wrapped by SQLAlchemy) stands for, or None for other errors."""
    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, sqlite3.Error):
        return None
    name = getattr(orig, "sqlite_errorname", "") or ""
    for prefix, kind, message in _KINDS:
        if name.startswith(prefix):
            if kind == "busy":
                return WriteBusy(message)
            return StorageUnavailable(message, kind=kind)
    return None


@contextmanager
def storage_errors(on_failure=None) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Turn SQLite storage failures into StorageUnavailable, log them at ERROR, tell `on_failure`."""
    try:
        yield
    except StorageUnavailable as err:
        if on_failure is not None:
            on_failure(err)
        raise
    except Exception as exc:
        err = classify(exc)
        if err is None:
            raise
        if err.kind != "busy":
            logger.error("database error ({}): {}", err.kind, getattr(exc, "orig", None) or exc)
        if on_failure is not None:
            on_failure(err)
        raise err from exc
