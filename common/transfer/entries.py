"""What every import format is turned into, before anything touches the database.

A parser yields a stream of :class:`Folder`, :class:`Entry`, :class:`EntryError` (and, from Kura's
own JSON, :class:`TagNames`) items; the
importer does not know which format they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import BadRequest

# Past this a value cannot be seconds (it would be after the year 5000): it is microseconds.
SECONDS_CEILING = 100_000_000_000


class BadFile(BadRequest):
    """The upload is not a bookmark file Kura can read; the message says why (and where)."""

    code = "bad_import_file"

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"not a bookmark file Kura can import: {reason}{where}", details={"line": line})
        self.line = line


@dataclass(slots=True)
class Folder:
    """A folder (collection) seen in the file, even an empty one, parent first."""

    path: tuple[str, ...]
    created: int | None = None
    position: int | None = None


@dataclass(slots=True)
class Entry:
    """One bookmark as the file states it. None means "the file does not say"."""

    line: int | None
    url: str
    title: str = ""
    description: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    folder: tuple[str, ...] = ()
    created: int | None = None
    modified: int | None = None
    unread: bool | None = None
    archived: bool | None = None
    private: bool | None = None


@dataclass(slots=True)
class EntryError:
    """An entry that could not be read; reported with its line and skipped."""

    line: int | None
    reason: str


@dataclass(slots=True)
class TagNames:
    """Tags to create even if no bookmark carries them (Kura's JSON export lists every tag)."""

    names: list[str]


Item = Folder | Entry | EntryError | TagNames


def parse_timestamp(raw: str | None) -> int | None:
    """ADD_DATE / LAST_MODIFIED as integer microseconds; seconds and microseconds both occur."""
    if raw is None or not raw.strip():
        return None
    value = int(raw.strip())  # ValueError is the caller's to report
    if value < 0:
        raise ValueError("negative timestamp")
    return value if value >= SECONDS_CEILING else value * 1_000_000


def parse_flag(raw: str | None) -> bool | None:
    """TOREAD="1" / PRIVATE="0"; a bare attribute (no value) counts as set."""
    if raw is None:
        return None
    return raw.strip().lower() not in {"0", "false", "no", "off"}


def split_tags(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [tag.strip() for tag in raw.split(",") if tag.strip()]
