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
from common.models import NAME_MAX, to_micros, utcnow
from common.transfer import store
from common.transfer.entries import EntryError, Folder, Item, TagNames
from common.transfer.reader import Progress, batches_ahead, read_items
from common.transfer.rows import Row, Skipped, complete, merge, prepared

BATCH = 2000
MAX_REPORTED_ERRORS = 1000
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


def import_file(db: Database, *, user_id: int, source: BinaryIO, options: ImportOptions = ImportOptions(),
                progress: Progress | None = None) -> ImportResult:
    try:
        with db.write_session() as session:
            conn = session.connection()
            job = _ImportJob(conn, user_id=user_id, options=options)
            # A generator, so it runs on the parser's thread (batches_ahead): validation and URL
            # normalisation happen there, ahead of the writer.
            items = prepared(read_items(source, progress=progress), folders_as_tags=options.folders_as_tags,
                             now=job.now)
            with store.roomy_cache(conn), store.deferred_fts(conn) as job.index_text:
                for batch in batches_ahead(items, size=BATCH):
                    job.add(batch)
        return job.result
    finally:
        store.give_back_freed_memory()


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
    def add(self, items: Iterable[Item | Row | Skipped]) -> None:
        rows: dict[str, Row] = {}
        for item in items:
            if isinstance(item, Row):
                self._take(item, rows)
            elif isinstance(item, Folder):
                if not self.options.folders_as_tags:
                    self.collection_for(item.path, item)
            elif isinstance(item, TagNames):
                names = [(store.nocase(n.strip()), n.strip()) for n in item.names if 0 < len(n.strip()) <= NAME_MAX]
                store.resolve_tags(self.conn, user_id=self.user_id, names=names, cache=self.tag_ids)
            elif isinstance(item, EntryError):
                self.fail(item.line, item.reason)
            elif isinstance(item, Skipped):
                self.skip(item.line, item.reason)
        if rows:
            self._write(rows)

    def _take(self, row: Row, rows: dict[str, Row]) -> None:
        row.values["collection_id"] = self.collection_for(row.folder) if row.folder else None
        first = rows.get(row.values["url"])
        if first is None:
            rows[row.values["url"]] = row
            return
        # The same URL twice in one file (two folders, say): merge into the first, as a re-import would.
        first.values |= merge(first.values, row)
        first.tags = row.tags | first.tags
        complete(first, self.now)
        self.result.updated += 1

    def _write(self, rows: dict[str, Row]) -> None:
        existing = store.existing_bookmarks(self.conn, user_id=self.user_id, urls=list(rows))
        user_id = self.user_id
        new = [(user_id, *row.insert, row.values["collection_id"]) for url, row in rows.items()
               if url not in existing]
        ids = store.insert_bookmarks(self.conn, new)
        self.index_text(ids)  # before a later batch can update these rows
        by_url = dict(zip((row[1] for row in new), ids))
        changes = []
        for url, found in existing.items():
            change = merge(found, rows[url])
            if change:
                changes.append({**change, "id": found["id"]})
            by_url[url] = found["id"]
        store.update_bookmarks(self.conn, changes)
        store.resolve_tags(self.conn, user_id=user_id, names=(t for r in rows.values() for t in r.tags.items()),
                           cache=self.tag_ids)
        tag_ids = self.tag_ids
        store.link_tags(self.conn, [(by_url[url], tag_ids[key]) for url, row in rows.items() for key in row.tags])
        self.result.created += len(new)
        self.result.updated += len(existing)
