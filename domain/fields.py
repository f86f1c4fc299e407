"""A bookmark's fields, their limits, and the one validation both write paths run.

BOOKMARK_FIELDS is the one list of what a user keeps on a bookmark: the exporter, the importer's
rows and the round-trip tests take theirs from it, and a test holds it equal to the model's columns,
so a new column that is not listed, or listed but not carried, fails a test instead of being
dropped by an export or an import.

The API (create, update, bulk tag changes) and the importer call the checks, so a file cannot store
what a request may not: the same length caps, the same tag count, the same URL rules
(domain/urls.py), and no control characters outside free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from common.errors import BadRequest
from domain.values import NAME_MAX, TEXT_MAX, TITLE_MAX, URL_MAX


@dataclass(frozen=True, slots=True)
class BookmarkField:
    """One fact on a bookmark: `column` in the bookmarks table, `key` in Kura JSON and (when
    `in_api`) in the API's answers. A flag is stored as 0/1 and written as a JSON boolean."""

    column: str
    key: str
    flag: bool = False
    in_api: bool = True


# Every field a user can see or set, tags aside (a table of their own), in the order an export
# writes them. Not here: the row's id, its owner and the stored API JSON.
BOOKMARK_FIELDS = (
    BookmarkField("url", "url"),
    BookmarkField("title", "title"),
    BookmarkField("description", "description"),
    BookmarkField("notes", "notes"),
    BookmarkField("unread", "unread", flag=True),
    BookmarkField("archived", "archived", flag=True),
    BookmarkField("private", "private", flag=True),
    BookmarkField("collection_id", "collection"),
    BookmarkField("created_at", "created"),
    BookmarkField("modified_at", "modified"),
    # What a browser file said (migration 0006): kept by import and export, not shown by the API.
    BookmarkField("position", "position", in_api=False),
    BookmarkField("keyword", "keyword", in_api=False),
)
BOOKMARK_COLUMNS = tuple(f.column for f in BOOKMARK_FIELDS)
FLAGS = tuple(f.column for f in BOOKMARK_FIELDS if f.flag)

MAX_TAGS_PER_BOOKMARK = 100
# A browser keyword (Netscape SHORTCUTURL): kept by import and export only, one line, capped like a name.
KEYWORD_MAX = NAME_MAX
# Every text field a bookmark has, with its cap in characters.
TEXT_LIMITS = {"url": URL_MAX, "title": TITLE_MAX, "description": TEXT_MAX, "notes": TEXT_MAX}
# Free text keeps line breaks and tabs; every other field (url, title, tag and collection names)
# is one line, and no field may hold NUL or the other C0 controls.
FREE_TEXT = frozenset({"description", "notes"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# SQLite's NOCASE folds ASCII letters only; dedupe the same way so we agree with the unique index.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def tag_key(name: str) -> str:
    """The key SQLite's NOCASE collation compares tag names by."""
    # For an ASCII name str.lower is that key, and a fifth of translate's cost (isascii is O(1)).
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


def has_control(value: str, *, free_text: bool = False) -> bool:
    return (_CONTROL_IN_FREE_TEXT if free_text else _CONTROL).search(value) is not None


def check_text(values: Mapping[str, Any]) -> None:
    """Length caps and control characters for the title, description and notes given."""
    for name in ("title", "description", "notes"):
        value = values.get(name)
        if not value:
            continue
        if len(value) > TEXT_LIMITS[name]:
            raise BadRequest(f"{name} is longer than {TEXT_LIMITS[name]} characters", details={"field": name})
        if has_control(value, free_text=name in FREE_TEXT):
            raise BadRequest(f"{name} contains a control character" +
                             ("" if name in FREE_TEXT else " (such as a line break or NUL)"),
                             details={"field": name})


def clean_keyword(raw: str | None) -> str | None:
    """A bookmark's keyword: stripped, None when empty, BadRequest when over KEYWORD_MAX or holding a
    control character."""
    keyword = (raw or "").strip()
    if not keyword:
        return None
    if len(keyword) > KEYWORD_MAX:
        raise BadRequest(f"keyword is longer than {KEYWORD_MAX} characters", details={"field": "keyword"})
    if has_control(keyword):
        raise BadRequest("keyword contains a control character (such as a line break or NUL)",
                         details={"field": "keyword"})
    return keyword


def clean_name(raw: str, *, what: str = "name", key: str = "name") -> str:
    """A tag or collection name: stripped, non-empty, at most NAME_MAX characters, one line."""
    name = raw.strip()
    if not name:
        raise BadRequest(f"{what}s must not be empty")
    if len(name) > NAME_MAX:
        raise BadRequest(f"{what} is longer than {NAME_MAX} characters", details={key: name[:40]})
    if has_control(name):
        raise BadRequest(f"{what} contains a control character (such as a line break or NUL)",
                         details={key: name[:40]})
    return name


def clean_tags(names: Iterable[str]) -> list[str]:
    """Checked names without case-insensitive duplicates (the first spelling wins), in order, at most
    MAX_TAGS_PER_BOOKMARK of them."""
    seen: dict[str, str] = {}
    for raw in names:
        name = clean_name(raw, what="tag name", key="tag")
        seen.setdefault(tag_key(name), name)
    if len(seen) > MAX_TAGS_PER_BOOKMARK:
        raise BadRequest(f"at most {MAX_TAGS_PER_BOOKMARK} tags per bookmark", details={"tags": len(seen)})
    return list(seen.values())
