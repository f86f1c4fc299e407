"""Entries in storage form: validated, normalised and ready to insert, and the merge of two of them.

`prepared` runs while the file is parsed, before the write turn is taken (importer.parse_file): the
writer then only runs SQL. Validation is the API's own (domain/fields.py, domain/urls.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from domain import fields
from common.errors import BadRequest
from domain.values import NAME_MAX, TITLE_MAX
from domain.transfer.entries import Entry, EntryError, Folder, Item
from domain.urls import InvalidURL, normalize_url

# Browser-internal links (smart folders, bookmarklets, inline data) are not bookmarks to keep.
BROWSER_INTERNAL = {"place", "javascript", "data", "about", "chrome", "edge", "moz-extension",
                    "chrome-extension", "vivaldi", "opera", "brave"}
ELLIPSIS = "…"
# The columns a Row's `insert` tuple holds, in order (user_id and collection_id are the writer's).
INSERT_FIELDS = tuple(column for column in fields.BOOKMARK_COLUMNS if column != "collection_id")


@dataclass(slots=True)
class Row:
    """A prepared bookmark in storage form; the None flags/dates in `values` are those the file did
    not state (a merge needs to know), `insert` has them filled in for a new bookmark."""

    line: int | None
    values: dict[str, Any]
    title_given: bool
    tags: dict[str, str]  # NOCASE key -> the first spelling met
    folder: tuple[str, ...]  # the collection path, () for none or with folders as tags
    insert: tuple[Any, ...] = ()

    def __reduce__(self) -> tuple[type[Row], tuple[Any, ...]]:
        # Rows are pickled to the import's spool and back (importer.ParsedImport): as a plain tuple
        # of fields, both ways take about half the time of the slots dataclass's default.
        return (Row, (self.line, self.values, self.title_given, self.tags, self.folder, self.insert))


@dataclass(slots=True)
class Skipped:
    """An entry always skipped (even in strict mode), with the reason to report."""

    line: int | None
    reason: str


@dataclass(slots=True)
class Adjusted:
    """An entry imported with a change the user should hear of (a title cut to its cap)."""

    line: int | None
    reason: str


def _scheme(url: str) -> str:
    head, sep, _ = url.partition(":")
    return head.strip().lower() if sep else ""


def prepared(items: Iterator[Item], *, folders_as_tags: bool, now: int) -> Iterator[Item | Row | Skipped | Adjusted]:
    """Each Entry as a Row (after an Adjusted, if it was changed), a Skipped or (broken) an
    EntryError; other items pass through."""
    for item in items:
        if isinstance(item, Folder):
            try:
                item.path = folder_path(item.path)
            except BadRequest as exc:
                yield EntryError(None, f"{exc.message}: {'/'.join(item.path)[:200]!r}")
                continue
        if not isinstance(item, Entry):
            yield item
        elif (scheme := _scheme(item.url)) in BROWSER_INTERNAL:
            yield Skipped(item.line, f"{item.part}{scheme}: link is browser-internal, not a bookmark")
        else:
            try:
                row = prepare(item, folders_as_tags=folders_as_tags)
            except (InvalidURL, BadRequest) as exc:
                yield EntryError(item.line, f"{item.part}{exc.message}: {item.url[:200]}")
                continue
            if len(row.values["title"]) > TITLE_MAX:
                row.values["title"] = row.values["title"][:TITLE_MAX - 1] + ELLIPSIS
                yield Adjusted(item.line,
                               f"{item.part}title cut to {TITLE_MAX} characters: {row.values['url'][:200]}")
            complete(row, now)
            yield row


@lru_cache(maxsize=1024)  # every bookmark of a folder asks again: 7 % of a 100k file's parse
def folder_path(path: tuple[str, ...]) -> tuple[str, ...]:
    """A folder path as collection names, each cut to NAME_MAX; BadRequest for a control character
    (a line break too), which the API refuses in a collection's name."""
    return tuple(fields.clean_name(name.strip()[:NAME_MAX] or "(no name)", what="collection name") for name in path)


def prepare(entry: Entry, *, folders_as_tags: bool) -> Row:
    """Validate one entry as the API validates a bookmark (domain/fields.py) and turn it into storage
    form; BadRequest says what is wrong with it. A title over its cap is left for `prepared` to cut."""
    url = normalize_url(entry.url)
    title = " ".join(entry.title.split())
    values = {
        "url": url, "title": title or url, "description": entry.description.strip(),
        "notes": entry.notes.strip(), "unread": entry.unread, "archived": entry.archived,
        "private": entry.private, "created_at": entry.created, "modified_at": entry.modified,
        # A place in the file's folder means nothing once folders are tags.
        "position": None if folders_as_tags else entry.position, "keyword": fields.clean_keyword(entry.keyword),
    }
    fields.check_text({**values, "title": title[:TITLE_MAX]})
    folder = folder_path(entry.folder)
    names = [*entry.tags, *folder[entry.roots:]] if folders_as_tags else entry.tags
    tags = fields.clean_tags(name for name in names if name.strip())
    unique = {fields.tag_key(tag): tag for tag in tags}
    return Row(entry.line, values, bool(title), unique, () if folders_as_tags else folder)


def complete(row: Row, now: int) -> None:
    """Fill `row.insert`: what a new bookmark gets, the unstated dates and flags defaulted."""
    v = row.values
    created = v["created_at"] if v["created_at"] is not None else now
    modified = v["modified_at"] if v["modified_at"] is not None else created
    # Written out, not looped over INSERT_FIELDS: this runs per imported row (a loop costs 4x), and
    # tests/domain/transfer/test_rows.py holds the tuple to INSERT_FIELDS, field by field.
    row.insert = (v["url"], v["title"], v["description"], v["notes"], bool(v["unread"]),
                  bool(v["archived"]), bool(v["private"]), created, modified, v["position"], v["keyword"])


def _earlier(new: int, old: int) -> bool:
    # A whole-second date in the same second is the same date written by a format without
    # microseconds (a browser file, Kura's own Netscape export), not an earlier one.
    same_second = new % 1_000_000 == 0 and new // 1_000_000 == old // 1_000_000
    return new < old and not same_second


def merge(base: dict[str, Any], incoming: Row) -> dict[str, Any]:
    """The fields of `base` that `incoming` changes: the earlier creation date, and when incoming
    is newer, the fields it states. Tags are united elsewhere."""
    new = incoming.values
    changes: dict[str, Any] = {}
    if new["created_at"] is not None and (base["created_at"] is None or _earlier(new["created_at"], base["created_at"])):
        changes["created_at"] = new["created_at"]
    if new["modified_at"] is None or (base["modified_at"] is not None and new["modified_at"] <= base["modified_at"]):
        return changes
    stated = {k: new[k] for k in ("description", "notes") if new[k]}
    stated |= {k: new[k] for k in ("unread", "archived", "private", "collection_id", "position", "keyword")
               if new[k] is not None}
    if incoming.title_given:
        stated["title"] = new["title"]
    changes |= {k: v for k, v in stated.items() if base.get(k) != v}
    changes["modified_at"] = new["modified_at"]
    return changes
