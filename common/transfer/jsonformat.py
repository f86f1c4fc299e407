"""Kura's own JSON export: everything a user has, dates in integer microseconds, and back again.

The file is one object; the bookmarks array is written one bookmark per line as the export streams.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from common.transfer.entries import BadFile, Entry, EntryError, Folder, Item, TagNames

FORMAT = "kura-bookmarks"
VERSION = 1


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CollectionIn(_Loose):
    id: int
    parent_id: int | None = None
    name: str
    position: int | None = None
    created_at: int | None = None


class BookmarkIn(_Loose):
    url: str
    title: str = ""
    description: str = ""
    notes: str = ""
    tags: list[str] = []
    collection_id: int | None = None
    unread: bool | None = None
    archived: bool | None = None
    private: bool | None = None
    created_at: int | None = None
    modified_at: int | None = None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def _document(chunks: list[bytes]) -> dict[str, Any]:
    data = b"".join(chunks)
    chunks.clear()  # the file's bytes once, not twice, while the document is built
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadFile(f"it is not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadFile(f'a JSON file, but not a Kura export (no "format": "{FORMAT}")')
    if doc.get("version") != VERSION:
        raise BadFile(f"Kura export version {doc.get('version')!r} is not one this Kura reads ({VERSION})")
    for key in ("bookmarks", "collections", "tags"):
        if not isinstance(doc.get(key, []), list):
            raise BadFile(f'"{key}" must be a list')
    return doc


def _folders(raw: list[Any]) -> tuple[list[Folder], dict[int, tuple[str, ...]]]:
    """Collections as parent-first folders, and each collection id's path of names."""
    by_id: dict[int, CollectionIn] = {}
    for index, item in enumerate(raw):
        try:
            col = CollectionIn.model_validate(item)
        except ValidationError as exc:
            raise BadFile(f"collections[{index}]: {_first_error(exc)}") from None
        by_id[col.id] = col
    paths: dict[int, tuple[str, ...]] = {}

    def path_of(cid: int, seen: tuple[int, ...] = ()) -> tuple[str, ...]:
        if cid in paths:
            return paths[cid]
        if cid in seen or cid not in by_id:
            raise BadFile(f"collection {seen[-1] if seen else cid} has a parent that is missing or a cycle")
        col = by_id[cid]
        parent = path_of(col.parent_id, (*seen, cid)) if col.parent_id is not None else ()
        paths[cid] = (*parent, col.name)
        return paths[cid]

    folders = [Folder(path_of(c.id), c.created_at, c.position) for c in by_id.values()]
    folders.sort(key=lambda f: len(f.path))
    return folders, paths


def read_items(chunks: list[bytes]) -> Iterator[Item]:
    """Items from the file's chunks (which it empties). One document in memory, not a stream:
    the upload cap bounds it, and each bookmark's dict is let go as soon as it is read."""
    doc = _document(chunks)
    folders, paths = _folders(doc.get("collections", []))
    yield from folders
    yield TagNames([name for name in doc.get("tags", []) if isinstance(name, str)])
    bookmarks = doc.pop("bookmarks", [])
    for index in range(len(bookmarks)):
        raw, bookmarks[index] = bookmarks[index], None
        try:
            b = BookmarkIn.model_validate(raw)
        except ValidationError as exc:
            yield EntryError(None, f"bookmarks[{index}]: {_first_error(exc)}")
            continue
        if b.collection_id is not None and b.collection_id not in paths:
            yield EntryError(None, f"bookmarks[{index}]: collection_id {b.collection_id} is not in the file")
            continue
        yield Entry(
            line=None, url=b.url, title=b.title, description=b.description, notes=b.notes, tags=b.tags,
            folder=paths.get(b.collection_id, ()) if b.collection_id is not None else (),
            created=b.created_at, modified=b.modified_at, unread=b.unread, archived=b.archived,
            private=b.private,
        )


def write(*, exported_at: int, tags: list[str], collections: list[dict[str, Any]],
          batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """The export as chunks: the small header at once, then the bookmarks batch by batch."""
    head = {"format": FORMAT, "version": VERSION, "exported_at": exported_at, "tags": tags,
            "collections": collections}
    yield orjson.dumps(head)[:-1] + b',\n"bookmarks":['
    first = True
    for batch in batches:
        lines = []
        for bookmark in batch:
            lines.append(("\n" if first else ",\n").encode() + orjson.dumps(bookmark))
            first = False
        yield b"".join(lines)
    yield b"\n]}\n"
