"""Turn an uploaded file into import items: sniff the format, decode, and parse as a stream."""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO

from domain.transfer import services
from domain.transfer.entries import BadFile, Item
from domain.transfer.netscape import NetscapeParser

CHUNK = 1 << 16
Progress = Callable[[int], None]


def _read(source: BinaryIO, progress: Progress | None) -> bytes:
    chunk = source.read(CHUNK)
    if progress is not None and chunk:
        progress(len(chunk))
    return chunk


def sniff(head: bytes) -> str:
    """The kind of file (see READERS, or "netscape"), or BadFile saying what it looks like instead."""
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = head.removeprefix(codecs.BOM_UTF8)
    stripped = text.lstrip()
    if not stripped:
        raise BadFile("the file is empty")
    if b"\x00" in text:
        raise BadFile("it is binary data, not text")
    line = text[: len(text) - len(stripped)].count(b"\n") + 1
    if stripped[:1] == b"{":
        return "json"
    if stripped[:1] == b"[":
        return "json-list"
    if stripped[:1] == b"<":
        return "netscape"
    first = stripped[:300].decode("utf-8", "replace").splitlines()[0]
    if services.is_pocket_csv_header(first):
        return "pocket-csv"
    raise BadFile(
        f"it starts with {first[:30]!r}; a browser export starts with <!DOCTYPE NETSCAPE-Bookmark-file-1>, "
        "a Kura export with { and Pocket's CSV with title,url,time_added",
        line=line,
    )


def _kura_json(whole: IO[bytes]) -> Iterator[Item]:
    # Loaded here: its pydantic models cost the parser process 0.1 s to start, and most files are HTML.
    from domain.transfer import jsonformat

    return jsonformat.read_items(whole)


# Formats read from a seekable file (two passes, or a zip's directory at its end).
READERS = {"json": _kura_json, "json-list": services.read_pinboard,
           "zip": services.read_pocket_zip, "pocket-csv": services.read_pocket_csv}


def read_items(source: BinaryIO, *, progress: Progress | None = None) -> Iterator[Item]:
    head = _read(source, progress)
    kind = sniff(head)
    if kind == "netscape":
        yield from _netscape_items(head, source, progress)
        return
    with _seekable(head, source, progress) as whole:
        yield from READERS[kind](whole)


@contextmanager
def _seekable(head: bytes, source: BinaryIO, progress: Progress | None) -> Iterator[IO[bytes]]:
    """The whole file, seekable: the source itself, or (standard input) a temporary copy on disk."""
    if source.seekable():
        while progress is not None and _read(source, progress):  # the bar counts bytes read
            pass
        yield source
        return
    with tempfile.TemporaryFile() as copy:
        copy.write(head)
        while chunk := _read(source, progress):
            copy.write(chunk)
        yield copy


def _netscape_items(head: bytes, source: BinaryIO, progress: Progress | None) -> Iterator[Item]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    parser = NetscapeParser()
    line, chunk = 1, head
    while True:
        final = not chunk
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            raise BadFile(
                "it is not UTF-8 text; save it again as UTF-8",
                line=line + chunk[: max(exc.start, 0)].count(b"\n"),
            ) from None
        line += text.count("\n")
        parser.feed(text)
        if final:
            parser.close()
        yield from parser.drain()
        if final:
            break
        chunk = _read(source, progress)
    if not parser.looks_like_bookmarks:
        raise BadFile(
            "no <!DOCTYPE NETSCAPE-Bookmark-file-1> and no bookmark list (<DL> with <A HREF>) in it; "
            "it looks like an ordinary web page"
        )
