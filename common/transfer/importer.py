"""Import a bookmark file into one user's collection: bulk, merged, and all-or-nothing.

Items stream from the parser in batches. Each batch costs a handful of statements (look up the URLs
the user already has, insert the new ones in one executemany, update the merged ones, resolve tags
in bulk, link them). Everything runs in ONE write transaction: an error anywhere, or a broken entry
in strict mode, rolls the whole import back, so a failed import leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from sqlalchemy import Connection

from common.db import Database
from common.errors import BadRequest
from common.models import NAME_MAX, TEXT_MAX, TITLE_MAX, to_micros, utcnow
from common.transfer import store
from common.transfer.entries import Entry, EntryError, Folder, Item, TagNames
from common.transfer.reader import Progress, batches_ahead, read_items
from common.urls import InvalidURL, normalize_url

BATCH = 2000
MAX_REPORTED_ERRORS = 1000
# Browser-internal links (smart folders, bookmarklets, inline data) are not bookmarks to keep.
BROWSER_INTERNAL = {"place", "javascript", "data", "about", "chrome", "edge", "moz-extension",
                    "chrome-extension", "vivaldi", "opera", "brave"}
Mode = Literal["skip", "strict"]


@dataclass(frozen=True)
class ImportOptions:
    folders_as_tags: bool = False
    mode: Mode = "skip"  # skip: broken entries are reported and skipped; strict: one rejects the file


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "errors": self.errors}


class StrictImportFailed(BadRequest):
    code = "import_rejected"


@dataclass
class _Row:
    """A prepared bookmark in storage form; the None flags/dates are those the file did not state."""

    line: int | None
    values: dict[str, Any]
    title_given: bool
    tags: dict[str, str]  # NOCASE key -> the first spelling met


def import_file(db: Database, *, user_id: int, source: BinaryIO, options: ImportOptions = ImportOptions(),
                progress: Progress | None = None) -> ImportResult:
    with db.write_session() as session:
        conn = session.connection()
        job = _ImportJob(conn, user_id=user_id, options=options)
        items = read_items(source, progress=progress)
        with store.deferred_fts(conn) as job.index_text:
            for batch in batches_ahead(items, size=BATCH):
                job.add(batch)
        return job.result


def _scheme(url: str) -> str:
    head, sep, _ = url.partition(":")
    return head.strip().lower() if sep else ""


def prepare(entry: Entry, *, folders_as_tags: bool) -> tuple[_Row, tuple[str, ...]]:
    """Validate one entry and turn it into storage form; BadRequest says what is wrong with it."""
    url = normalize_url(entry.url)
    title = entry.title.strip()
    if len(title) > TITLE_MAX:
        raise BadRequest(f"title is longer than {TITLE_MAX} characters")
    for name in ("description", "notes"):
        if len(getattr(entry, name)) > TEXT_MAX:
            raise BadRequest(f"{name} is longer than {TEXT_MAX} characters")
    unique: dict[str, str] = {}  # one spelling per NOCASE name: the first one met
    for tag in [*entry.tags, *entry.folder] if folders_as_tags else entry.tags:
        if tag.strip():
            unique.setdefault(store.nocase(tag.strip()), tag.strip())
    if any(len(tag) > NAME_MAX for tag in unique.values()):
        raise BadRequest(f"a tag is longer than {NAME_MAX} characters")
    values = {
        "url": url, "title": title or url, "description": entry.description.strip(),
        "notes": entry.notes.strip(), "unread": entry.unread, "archived": entry.archived,
        "private": entry.private, "created_at": entry.created, "modified_at": entry.modified,
    }
    return _Row(entry.line, values, bool(title), unique), (() if folders_as_tags else entry.folder)


def _earlier(new: int, old: int) -> bool:
    # A whole-second date in the same second is the same date written by a format without
    # microseconds (a browser file, Kura's own Netscape export), not an earlier one.
    same_second = new % 1_000_000 == 0 and new // 1_000_000 == old // 1_000_000
    return new < old and not same_second


def merge(base: dict[str, Any], incoming: _Row) -> dict[str, Any]:
    """The fields of `base` that `incoming` changes: the earlier creation date, and when incoming
    is newer, the fields it states. Tags are united elsewhere."""
    new = incoming.values
    changes: dict[str, Any] = {}
    if new["created_at"] is not None and (base["created_at"] is None or _earlier(new["created_at"], base["created_at"])):
        changes["created_at"] = new["created_at"]
    if new["modified_at"] is None or (base["modified_at"] is not None and new["modified_at"] <= base["modified_at"]):
        return changes
    stated = {k: new[k] for k in ("description", "notes") if new[k]}
    stated |= {k: new[k] for k in ("unread", "archived", "private", "collection_id") if new[k] is not None}
    if incoming.title_given:
        stated["title"] = new["title"]
    changes |= {k: v for k, v in stated.items() if base.get(k) != v}
    changes["modified_at"] = new["modified_at"]
    return changes


class _ImportJob:
    def __init__(self, conn: Connection, *, user_id: int, options: ImportOptions) -> None:
        self.conn, self.user_id, self.options = conn, user_id, options
        self.result = ImportResult()
        self.now = to_micros(utcnow())
        self.tag_ids: dict[str, int] = {}
        self.collections: dict[tuple[int | None, str], int] = {}
        self.next_position: dict[int | None, int] = {}
        self.paths: dict[tuple[str, ...], int] = {}
        self.index_text: Callable[[Sequence[int]], None] = lambda ids: None
        for cid, parent, name, position in store.load_collections(conn, user_id=user_id):
            self.collections.setdefault((parent, name), cid)
            self.next_position[parent] = max(self.next_position.get(parent, 0), position + 1)

    # --- reporting ------------------------------------------------------------------------------
    def fail(self, line: int | None, reason: str) -> None:
        if self.options.mode == "strict":
            where = f"line {line}: " if line is not None else ""
            raise StrictImportFailed(f"import rejected, nothing was changed: {where}{reason}",
                                     details={"line": line, "reason": reason})
        self.skip(line, reason)

    def skip(self, line: int | None, reason: str) -> None:
        self.result.skipped += 1
        if len(self.result.errors) < MAX_REPORTED_ERRORS:
            self.result.errors.append({"line": line, "reason": reason})

    # --- collections ----------------------------------------------------------------------------
    def collection_for(self, path: tuple[str, ...], folder: Folder | None = None) -> int | None:
        if not path:
            return None
        if path in self.paths:
            return self.paths[path]
        parent = self.collection_for(path[:-1])
        name = path[-1][:NAME_MAX]
        cid = self.collections.get((parent, name))
        if cid is None:
            position = folder.position if folder and folder.position is not None else self.next_position.get(parent, 0)
            self.next_position[parent] = max(self.next_position.get(parent, 0), position + 1)
            created = folder.created if folder and folder.created is not None else self.now
            cid = store.insert_collection(self.conn, user_id=self.user_id, parent_id=parent, name=name,
                                          position=position, created_at=created)
            self.collections[(parent, name)] = cid
        self.paths[path] = cid
        return cid

    # --- a batch ----------------------------------------------------------------------------------
    def add(self, items: Iterable[Item]) -> None:
        rows: dict[str, _Row] = {}
        for item in items:
            if isinstance(item, Folder):
                if not self.options.folders_as_tags:
                    self.collection_for(item.path, item)
            elif isinstance(item, TagNames):
                names = [(store.nocase(n.strip()), n.strip()) for n in item.names if 0 < len(n.strip()) <= NAME_MAX]
                store.resolve_tags(self.conn, user_id=self.user_id, names=names, cache=self.tag_ids)
            elif isinstance(item, EntryError):
                self.fail(item.line, item.reason)
            else:
                self._take(item, rows)
        if rows:
            self._write(rows)

    def _take(self, entry: Entry, rows: dict[str, _Row]) -> None:
        if _scheme(entry.url) in BROWSER_INTERNAL:
            self.skip(entry.line, f"{_scheme(entry.url)}: link is browser-internal, not a bookmark")
            return
        try:
            row, folder = prepare(entry, folders_as_tags=self.options.folders_as_tags)
        except (InvalidURL, BadRequest) as exc:
            self.fail(entry.line, f"{exc.message}: {entry.url[:200]}")
            return
        row.values["collection_id"] = self.collection_for(folder) if folder else None
        first = rows.get(row.values["url"])
        if first is None:
            rows[row.values["url"]] = row
            return
        # The same URL twice in one file (two folders, say): merge into the first, as a re-import would.
        first.values |= merge(first.values, row)
        first.tags = row.tags | first.tags
        self.result.updated += 1

    def _write(self, rows: dict[str, _Row]) -> None:
        existing = store.existing_bookmarks(self.conn, user_id=self.user_id, urls=list(rows))
        new = [self._complete(row.values) for url, row in rows.items() if url not in existing]
        ids = store.insert_bookmarks(self.conn, user_id=self.user_id, rows=new)
        self.index_text(list(ids.values()))  # before a later batch can update these rows
        changes = []
        for url, found in existing.items():
            change = merge(found, rows[url])
            if change:
                changes.append({**change, "id": found["id"]})
            ids[url] = found["id"]
        store.update_bookmarks(self.conn, changes)
        store.resolve_tags(self.conn, user_id=self.user_id, names=(t for r in rows.values() for t in r.tags.items()),
                           cache=self.tag_ids)
        store.link_tags(self.conn, [(ids[url], self.tag_ids[key])
                                    for url, row in rows.items() for key in row.tags])
        self.result.created += len(new)
        self.result.updated += len(existing)

    def _complete(self, values: dict[str, Any]) -> dict[str, Any]:
        created = values["created_at"] if values["created_at"] is not None else self.now
        return {**values, "created_at": created,
                "modified_at": values["modified_at"] if values["modified_at"] is not None else created,
                "unread": bool(values["unread"]), "archived": bool(values["archived"]),
                "private": bool(values["private"])}
