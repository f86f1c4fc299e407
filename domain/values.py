"""The caps on a bookmark's fields and the one way times become stored integers, with no database
import: the import's parser process (domain/transfer/parse_worker.py) loads these, and starting it
without SQLAlchemy and the models saves about half a second before the first batch can be written.
domain/models.py re-exports them for everyone else.
"""

from __future__ import annotations

from datetime import UTC, datetime

URL_MAX = 4096
TITLE_MAX = 1024
TEXT_MAX = 65536
NAME_MAX = 255


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    seconds, micros = divmod(int(value), 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
