"""Import a bookmark file into one user's collection: bulk, merged, and all-or-nothing.

Two phases. `parse_file` reads, validates and normalises the whole file with no write turn and no
transaction held, spooling the prepared batches to a temporary file (memory stays flat, and other
users' writes go on meanwhile); a bad file or, in strict mode, a broken entry ends the import there.
`write_parsed` then writes the batches, each in a handful of statements (look up the URLs the user
already has, insert the new ones in one executemany, update the merged ones, resolve tags in bulk,
link them), all in ONE write transaction: an error anywhere rolls the whole import back.
A large file on disk runs both at once instead, the parse in a child process (childparse).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Protocol

from sqlalchemy import Connection

from common.db import Database
from domain.bookmark_rows import answer_text
from domain.fields import MAX_TAGS_PER_BOOKMARK, has_control, tag_key
from common.memory import give_back_freed_memory
from domain.models import NAME_MAX, to_micros, utcnow
from domain.transfer import store
from domain.transfer.batches import ImportOptions, StrictImportFailed, prepared_batches
from domain.transfer.entries import EntryError, Folder, Item, TagNames
from domain.transfer.reader import Progress
from domain.transfer.rows import Adjusted, Row, Skipped, complete, merge

_CREATED = store.INSERT_COLUMNS.index("created_at")  # in the tuples insert_bookmarks takes
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportResult:
    """created: new bookmarks; updated: ones the file changed (or met twice in it); unchanged: ones
    already there as the file has them; skipped: entries not imported, listed in `errors`;
    `adjusted`: entries imported with a change (a title cut to its cap)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    adjusted: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "errors": self.errors, "adjusted": self.adjusted}

    def summary(self) -> str:
        """The report's last line, as `kura import` prints it and the web import page shows it."""
        return (f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {self.skipped}")

    def entry_lines(self) -> list[str]:
        """One line per skipped or adjusted entry, with its line in the file where known."""
        lines = []
        for verb, entries in (("skipped", self.errors), ("adjusted", self.adjusted)):
            for entry in entries:
                where = f"line {entry['line']}: " if entry["line"] is not None else ""
                lines.append(f"{verb} {where}{entry['reason']}")
        return lines


class ParsedImport:
    """A file read and checked: its prepared batches, pickled in a temporary file."""

    def __init__(self, *, options: ImportOptions, now: int) -> None:
        self.options, self.now = options, now
        self._spool: IO[bytes] = tempfile.TemporaryFile()

    def add(self, batch: list[Any]) -> None:
        pickle.dump(batch, self._spool, protocol=pickle.HIGHEST_PROTOCOL)

    def batches(self) -> Iterator[list[Any]]:
        self._spool.seek(0)
        while True:
            try:
                yield pickle.load(self._spool)
            except EOFError:
                return

    def close(self) -> None:
        self._spool.close()


def parse_file(*, source: BinaryIO, options: ImportOptions = ImportOptions(),
               progress: Progress | None = None) -> ParsedImport:
    """Phase one, holding nothing: the file read, validated and normalised, or BadFile /
    StrictImportFailed before anything is written."""
    parsed = ParsedImport(options=options, now=to_micros(utcnow()))
    try:
        for batch in prepared_batches(source, options=options, now=parsed.now, progress=progress):
            parsed.add(batch)
    except BaseException:
        parsed.close()
        raise
    return parsed


class Parsed(Protocol):
    """What write_parsed reads: a ParsedImport, or childparse.ChildParse."""

    options: ImportOptions
    now: int

    def batches(self) -> Iterator[list[Any]]: ...

    def close(self) -> None: ...


def write_parsed(db: Database, *, user_id: int, parsed: Parsed) -> ImportResult:
    """Phase two, in one write transaction: the parsed batches merged into the user's bookmarks."""
    try:
        with db.write_session() as session:
            conn = session.connection()
            job = _ImportJob(conn, user_id=user_id, options=parsed.options, now=parsed.now)
            with store.page_cache(conn, store.IMPORT_CACHE_KIB), store.indexes_built_after(conn), \
                    store.deferred_triggers(conn, user_id=user_id) as job.index_text:
                for batch in parsed.batches():
                    job.add(batch)
        return job.result
    finally:
        give_back_freed_memory()  # the import's pages and rows, which glibc would keep


def import_parsed(db: Database, *, user_id: int, parsed: Parsed) -> ImportResult:
    """write_parsed for a caller that holds no write turn of its own (the CLI, tests), then the parse
    closed whatever happened (its spool, or its child process)."""
    try:
        return write_parsed(db, user_id=user_id, parsed=parsed)
    finally:
        parsed.close()


def import_file(db: Database, *, user_id: int, source: BinaryIO, options: ImportOptions = ImportOptions(),
                progress: Progress | None = None) -> ImportResult:
    """Both phases in this process."""
    return import_parsed(db, user_id=user_id, parsed=parse_file(source=source, options=options, progress=progress))


class _ImportJob:
    def __init__(self, conn: Connection, *, user_id: int, options: ImportOptions, now: int) -> None:
        self.conn, self.user_id, self.options = conn, user_id, options
        self.result = ImportResult()
        self.now = now
        self.tag_ids: dict[str, tuple[int, str]] = {}  # NOCASE key -> (id, stored name)
        self.collections: dict[tuple[int | None, str], int] = {}
        self.next_position: dict[int | None, int] = {}
        self.paths: dict[tuple[str, ...], int] = {}
        self.index_text: Callable[[Sequence[int]], None] = lambda ids: None
        for cid, parent, name, position in store.load_collections(conn, user_id=user_id):
            self.collections.setdefault((parent, name), cid)
            self.next_position[parent] = max(self.next_position.get(parent, 0), position + 1)

    # --- reporting ------------------------------------------------------------------------------
    def skip(self, line: int | None, reason: str) -> None:
        self.result.skipped += 1
        if len(self.result.errors) < MAX_REPORTED_ERRORS:
            self.result.errors.append({"line": line, "reason": reason})

    def adjust(self, line: int | None, reason: str) -> None:
        if len(self.result.adjusted) < MAX_REPORTED_ERRORS:
            self.result.adjusted.append({"line": line, "reason": reason})

    # --- collections ----------------------------------------------------------------------------
    def collection_for(self, path: tuple[str, ...], folder: Folder | None = None) -> int | None:
        """The collection at this path, made (with its missing parents) if need be; a loop, not
        recursion, so a deep tree never meets Python's stack limit."""
        known = len(path)
        while known and path[:known] not in self.paths:
            known -= 1
        parent = self.paths[path[:known]] if known else None
        for depth in range(known + 1, len(path) + 1):
            parent = self._collection(path[:depth], parent, folder if depth == len(path) else None)
        return parent

    def _collection(self, path: tuple[str, ...], parent: int | None, folder: Folder | None) -> int:
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
                names = [(tag_key(n.strip()), n.strip()) for n in item.names
                         if 0 < len(n.strip()) <= NAME_MAX and not has_control(n.strip())]
                store.resolve_tags(self.conn, user_id=self.user_id, names=names, cache=self.tag_ids)
            elif isinstance(item, (EntryError, Skipped)):
                self.skip(item.line, item.reason)
            elif isinstance(item, Adjusted):
                self.adjust(item.line, item.reason)
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
        if len(row.tags | first.tags) <= MAX_TAGS_PER_BOOKMARK:
            first.tags = row.tags | first.tags
        else:
            self.adjust(row.line, f"tags not added: the bookmark would have more than {MAX_TAGS_PER_BOOKMARK}: "
                                  f"{row.values['url'][:200]}")
        complete(first, self.now)
        self.result.updated += 1

    def _write(self, rows: dict[str, Row]) -> None:
        existing = store.existing_bookmarks(self.conn, user_id=self.user_id, urls=list(rows))
        linked = store.tag_links(self.conn, [found["id"] for found in existing.values()])
        user_id = self.user_id
        # Tags first: a new row is inserted with its stored API JSON, which names them.
        store.resolve_tags(self.conn, user_id=user_id, names=(t for r in rows.values() for t in r.tags.items()),
                           cache=self.tag_ids)
        new, ids = self._insert([row for url, row in rows.items() if url not in existing])
        self.index_text(ids)  # before a later batch can update these rows; it logs them for search too
        new_ids = ids if isinstance(ids, range) else set(ids)
        # url -> (bookmark id, its created_at once this batch is written): what each link needs.
        by_url = {row[1]: (bookmark_id, row[_CREATED]) for row, bookmark_id in zip(new, ids)}
        changes = []
        for url, found in existing.items():
            change = merge(found, rows[url])
            if change:
                changes.append({**change, "id": found["id"]})
            by_url[url] = (found["id"], change.get("created_at", found["created_at"]))
        store.update_bookmarks(self.conn, changes)
        tag_ids = self.tag_ids
        wanted = {url: {tag_ids[key][0] for key in row.tags} for url, row in rows.items()}
        for url, found in existing.items():
            if len(linked.get(found["id"], set()) | wanted[url]) > MAX_TAGS_PER_BOOKMARK:
                wanted[url] = set()  # the API's cap holds for a merge too: the bookmark keeps its tags
                self.adjust(rows[url].line, f"tags not added: the bookmark would have more than "
                                            f"{MAX_TAGS_PER_BOOKMARK}: {url[:200]}")
        links = [(*by_url[url], tag_id) for url, tag_set in wanted.items() for tag_id in tag_set]
        store.link_tags(self.conn, links)
        relinked = [link[0] for link in links if link[0] not in new_ids]
        store.log_for_search(self.conn, relinked)
        # New rows whose ids were not the expected ones carry JSON naming the wrong id: redone here.
        store.store_answers(self.conn, relinked if isinstance(ids, range) else [*ids, *relinked])
        self.result.created += len(new)
        changed = {change["id"] for change in changes}
        unchanged = sum(1 for url, found in existing.items()
                        if found["id"] not in changed and wanted[url] <= linked.get(found["id"], set()))
        self.result.unchanged += unchanged
        self.result.updated += len(existing) - unchanged

    def _insert(self, fresh: list[Row]) -> tuple[list[tuple[Any, ...]], Sequence[int]]:
        """The batch's new bookmarks inserted, each with its stored API JSON made for the id it is
        expected to get (store.insert_bookmarks); their rows and ids."""
        top, user_id, tag_ids = store.last_id(self.conn), self.user_id, self.tag_ids
        new = []
        for offset, row in enumerate(fresh, 1):
            url, title, description, notes, unread, archived, private, created, modified, *_ = row.insert
            collection = row.values["collection_id"]
            answer = answer_text(
                bookmark_id=top + offset, url=url, title=title, description=description, notes=notes,
                tags=[tag_ids[key][1] for key in row.tags], collection=collection, unread=unread,
                archived=archived, private=private, created_at=created, modified_at=modified)
            new.append((user_id, *row.insert, collection, answer))
        return new, store.insert_bookmarks(self.conn, new, top=top)
