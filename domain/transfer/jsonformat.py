"""Kura's own JSON export: everything a user has, dates in integer microseconds, and back again.

The file is one object; the bookmarks array is written one bookmark per line as the export streams.
It is read as a stream too (ijson), in two passes over the file: the first checks the syntax and
collects the header, the tags and the collection tree, the second hands out the bookmarks one by
one, so memory does not grow with the number of bookmarks.

Version 2 names the fields as the bookmark API does (`created`, `modified`, `collection`); files of
version 1 (`created_at`, `modified_at`, `collection_id`) are still read. A bookmark's `position` and
`keyword` (what a browser file said) are optional: files written before Kura kept them read as null.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import ijson
import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.transfer.entries import MAX_DEPTH, BadFile, Entry, EntryError, Folder, Item, TagNames, check_micros

FORMAT = "kura-bookmarks"
VERSION = 2
READABLE_VERSIONS = (1, 2)
_LINE_SEARCH_MAX = 16 << 20  # past this a syntax error is reported without its line
_HEADER_KEYS = ("format", "version")
_LISTS = ("collections", "tags", "bookmarks")
POSITION_MAX = 2**31 - 1  # a place in a folder; far past any browser's, well inside SQLite's INTEGER


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CollectionIn(_Loose):
    id: int
    parent_id: int | None = None
    name: str
    position: int | None = None
    created: int | None = Field(None, validation_alias=AliasChoices("created", "created_at"))


class BookmarkIn(_Loose):
    url: str
    title: str = ""
    description: str = ""
    notes: str = ""
    tags: list[str] = []
    collection: int | None = Field(None, validation_alias=AliasChoices("collection", "collection_id"))
    unread: bool | None = None
    archived: bool | None = None
    private: bool | None = None
    created: int | None = Field(None, validation_alias=AliasChoices("created", "created_at"))
    modified: int | None = Field(None, validation_alias=AliasChoices("modified", "modified_at"))
    position: int | None = Field(None, ge=0, le=POSITION_MAX)  # absent in files before migration 0006
    keyword: str | None = None

    _dates = field_validator("created", "modified")(check_micros)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def _syntax_error(source: IO[bytes], exc: Exception) -> BadFile:
    """BadFile for invalid JSON, with the line where a small enough file lets orjson find it."""
    source.seek(0, 2)
    line, reason = None, str(exc).splitlines()[0].removeprefix("parse error: ")
    if source.tell() <= _LINE_SEARCH_MAX:
        source.seek(0)
        try:
            orjson.loads(source.read())
        except orjson.JSONDecodeError as err:
            line, reason = err.lineno, err.msg
    return BadFile(f"it is not valid JSON: {reason}", line=line)


def _build(events: Iterator[tuple[str, str, Any]], event: str, value: Any) -> Any:
    """The value that starts with (event, value), built from the events that follow it."""
    builder = ijson.ObjectBuilder()
    depth = 0
    while True:
        builder.event(event, value)
        depth += event in ("start_map", "start_array")
        depth -= event in ("end_map", "end_array")
        if depth == 0:
            return builder.value
        _, event, value = next(events)


def _scan(source: IO[bytes]) -> dict[str, Any]:
    """Pass one: the header and the small lists, checking the whole file's syntax on the way."""
    found: dict[str, Any] = {"collections": [], "tags": []}
    kinds: dict[str, str] = {}
    source.seek(0)
    events = ijson.parse(source, use_float=True)
    try:
        if next(events, ("", None, None))[1] != "start_map":
            raise BadFile(f'a JSON file, but not a Kura export (no "format": "{FORMAT}")')
        for prefix, event, value in events:
            if prefix in _HEADER_KEYS:
                found[prefix] = _build(events, event, value)
            elif prefix in _LISTS and prefix not in kinds:
                kinds[prefix] = event
                if event == "start_array" and prefix != "bookmarks":
                    found[prefix] = _build(events, event, value)
    except ijson.JSONError as exc:
        raise _syntax_error(source, exc) from None
    if found.get("format") != FORMAT:
        raise BadFile(f'a JSON file, but not a Kura export (no "format": "{FORMAT}")')
    if found.get("version") not in READABLE_VERSIONS:
        raise BadFile(f"Kura export version {found.get('version')!r} is not one this Kura reads "
                      f"({', '.join(map(str, READABLE_VERSIONS))})")
    for key, kind in kinds.items():
        if kind != "start_array":
            raise BadFile(f'"{key}" must be a list')
    return found


def _folders(raw: list[Any]) -> tuple[list[Folder], dict[int, tuple[str, ...]]]:
    """Collections as parent-first folders, and each collection id's path of names. The tree is
    walked without recursion: a chain of any depth costs memory, never the Python stack."""
    by_id: dict[int, CollectionIn] = {}
    for index, item in enumerate(raw):
        try:
            col = CollectionIn.model_validate(item)
        except ValidationError as exc:
            raise BadFile(f"collections[{index}]: {_first_error(exc)}") from None
        by_id[col.id] = col
    paths: dict[int, tuple[str, ...]] = {}
    for start in by_id:
        chain, cid = [], start
        while cid is not None and cid not in paths:
            if cid not in by_id or cid in chain:
                raise BadFile(f"collection {chain[-1] if chain else cid} has a parent that is missing or a cycle")
            chain.append(cid)
            cid = by_id[cid].parent_id
        parent = paths[cid] if cid is not None else ()
        if len(parent) + len(chain) > MAX_DEPTH:
            raise BadFile(f"collection {start} is nested {len(parent) + len(chain)} deep; at most {MAX_DEPTH} "
                          "levels are imported")
        for link in reversed(chain):
            parent = paths[link] = (*parent, by_id[link].name)
    folders = [Folder(paths[c.id], _folder_date(c.created), c.position) for c in by_id.values()]
    folders.sort(key=lambda f: len(f.path))
    return folders, paths


def _folder_date(value: int | None) -> int | None:
    try:
        return check_micros(value)
    except ValueError:
        return None  # a collection's date is not worth refusing its bookmarks over


def read_items(source: IO[bytes]) -> Iterator[Item]:
    """Items from a seekable file, streamed: one bookmark's dict in memory at a time."""
    header = _scan(source)
    folders, paths = _folders(header["collections"])
    yield from folders
    yield TagNames([name for name in header["tags"] if isinstance(name, str)])
    source.seek(0)
    for index, raw in enumerate(ijson.items(source, "bookmarks.item", use_float=True)):
        try:
            b = BookmarkIn.model_validate(raw)
        except ValidationError as exc:
            yield EntryError(None, f"bookmarks[{index}]: {_first_error(exc)}")
            continue
        if b.collection is not None and b.collection not in paths:
            yield EntryError(None, f"bookmarks[{index}]: collection {b.collection} is not in the file")
            continue
        yield Entry(
            line=None, url=b.url, title=b.title, description=b.description, notes=b.notes, tags=b.tags,
            folder=paths[b.collection] if b.collection is not None else (),
            created=b.created, modified=b.modified, unread=b.unread, archived=b.archived, private=b.private,
            position=b.position, keyword=b.keyword, part=f"bookmarks[{index}]: ",
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
