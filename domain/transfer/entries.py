"""What every import format is turned into, before anything touches the database.

A parser yields a stream of :class:`Folder`, :class:`Entry`, :class:`EntryError` (and, from Kura's
own JSON, :class:`TagNames`) items; the
importer does not know which format they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import BadRequest

# A date's unit is told by its size (browsers and services write seconds, Netscape files from some
# tools milliseconds, Kura and Firefox microseconds, Google Bookmarks nanoseconds): each ceiling is
# where the smaller unit would pass the year 5000, and a larger one would fall before 1973.
UNIT_CEILINGS = ((100_000_000_000, 1_000_000), (100_000_000_000_000, 1_000), (100_000_000_000_000_000, 1))
# Folders nest at most this deep (browsers stop far earlier); deeper is refused (Kura JSON) or kept
# at this depth (a browser file), so a hostile file cannot make paths quadratic in its size.
MAX_DEPTH = 100
NANOS_CEILING = 2**63  # past SQLite's INTEGER: no unit makes it a date
# The dates a datetime can hold (years 1 to 9999), in microseconds since the epoch.
MICROS_MIN = -62_135_596_800_000_000
MICROS_MAX = 253_402_300_799_999_999

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
    roots: int = 0  # how many leading folders are the browser's own (toolbar, menu …), not the user's
    created: int | None = None
    modified: int | None = None
    unread: bool | None = None
    archived: bool | None = None
    private: bool | None = None
    position: int | None = None  # its place among its folder's entries (subfolders too) in the file
    keyword: str | None = None  # the browser keyword (Netscape SHORTCUTURL)
    part: str = ""  # which file of several the line is in (Pocket's zip), as a prefix for reports


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
    """ADD_DATE / LAST_MODIFIED / time_added as integer microseconds, the unit told by magnitude.
    None when the file does not say, and for 0, which browsers write for "unknown" (Chrome's
    LAST_MODIFIED="0" on folders): the importer then uses the import's time."""
    if raw is None or not raw.strip():
        return None
    value = int(raw.strip())  # ValueError is the caller's to report
    if value == 0:
        return None
    if value < 0 or value >= NANOS_CEILING:
        raise ValueError(f"impossible date {raw.strip()[:40]}")
    for ceiling, factor in UNIT_CEILINGS:
        if value < ceiling:
            return value * factor
    return value // 1_000  # nanoseconds


def check_micros(value: int | None) -> int | None:
    """A date already in microseconds (Kura's own export): None, or one a datetime can hold."""
    if value is not None and not MICROS_MIN <= value <= MICROS_MAX:
        raise ValueError(f"impossible date {value} (microseconds past the year 9999 or before year 1)")
    return value


def parse_flag(raw: str | None) -> bool | None:
    """TOREAD="1" / PRIVATE="0"; a bare attribute (no value) counts as set."""
    if raw is None:
        return None
    return raw.strip().lower() not in {"0", "false", "no", "off"}


def split_tags(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [tag.strip() for tag in raw.split(",") if tag.strip()]
