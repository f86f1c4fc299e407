"""`kura import` of a large file: parsed in a child process while this one writes.

Reading the file (html.parser, URL checks) and writing it (SQLite) each take about half of an
import, and both run Python code that holds the GIL, so two threads would only take turns; two
processes use both cores (the bench's 100k file: 14-17 s against 19-25 s in one process,
five alternating pairs). The child (parse_worker) sends each prepared batch down a pipe, as
parse_file would spool it; this process writes the batches as they come, inside its one write
transaction, so an error the child meets later (a broken entry in strict mode, a file that is not
bookmarks after all) still rolls everything back. The first message is awaited before the
transaction begins: a file that is not a bookmark file fails before anything is written.

The CLI and the API both do this for a file of MIN_BYTES or more. For the API it also keeps the
parse's Python off the process that answers every other request.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, BinaryIO

from domain.models import to_micros, utcnow
from domain.transfer.importer import ImportOptions, Parsed, parse_file
from domain.transfer.reader import Progress

MIN_BYTES = 1 << 20  # below this a child's start-up (~0.5 s) costs more than the overlap saves
WAIT_S = 60.0  # a batch takes well under a second: a child silent this long is stuck, and the write
# turn it holds must be given back long before api/health.py counts the writer as wedged (300 s)


def _rebuilt(payload: tuple[type[Exception], tuple[Any, ...], dict[str, Any]] | str) -> Exception:
    """The child's error (parse_worker.portable) as an exception of this process."""
    if isinstance(payload, str):
        return RuntimeError(f"reading the import file failed: {payload}")
    cls, args, state = payload
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class ChildParse:
    """The child and its pipe, read as write_parsed reads an importer.ParsedImport (Parsed)."""

    def __init__(self, source: BinaryIO, *, options: ImportOptions, progress: Progress | None = None) -> None:
        """Start reading ``source`` (a file on disk: worth_a_child) in a child; the child's own copy of
        its descriptor reads it from the start, so the caller must not read it meanwhile."""
        self.options, self.now, self._progress = options, to_micros(utcnow()), progress
        self._finished = False
        reading, writing = os.pipe()
        file = os.dup(source.fileno())  # a number of its own: standard input's 0 would be /dev/null there
        try:
            self.process = subprocess.Popen(
                # -P: not the working directory first on the path, where anyone could put a `domain`.
                [sys.executable, "-P", "-m", "domain.transfer.parse_worker", str(file),
                 json.dumps(dataclasses.asdict(options)), str(self.now), str(writing)],
                stdin=subprocess.DEVNULL, pass_fds=(file, writing))
        except BaseException:
            os.close(reading)
            raise
        finally:
            os.close(file)
            os.close(writing)  # the child's copy is its own: the pipe ends (EOFError) when the child does
        self._pipe = Connection(reading, writable=False)
        try:
            self._first = self._next()
        except BaseException:
            self.close()
            raise

    def _next(self) -> tuple[str, Any]:
        """The next batch or "done", progress reported on the way; the child's error raised here."""
        while True:
            if not self._pipe.poll(WAIT_S):
                raise RuntimeError(f"the import's parser process sent nothing for {WAIT_S:.0f} s")
            try:
                kind, value = self._pipe.recv()
            except (EOFError, OSError):  # OSError: it died in the middle of a message
                raise RuntimeError("the import's parser process ended before the end of the file "
                                   f"(exit code {self.process.wait(5)})") from None
            if kind == "progress":
                if self._progress is not None:
                    self._progress(value)
            elif kind == "error":
                raise _rebuilt(value)
            else:
                self._finished = kind == "done"
                return kind, value

    def batches(self) -> Iterator[list[Any]]:
        message, self._first = self._first, ("done", None)
        while message[0] == "batch":
            yield message[1]
            message = self._next()

    def close(self) -> None:
        """Let a child that sent everything exit on its own; stop one that has not (an error here)."""
        if self._finished:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        elif self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        self._pipe.close()


def worth_a_child(source: BinaryIO) -> bool:
    """A file on disk of MIN_BYTES or more (a spooled upload that large is on disk already)."""
    try:
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
        return size >= MIN_BYTES and stat.S_ISREG(os.fstat(source.fileno()).st_mode)
    except (OSError, ValueError):  # a pipe, a socket, an in-memory file
        return False


def read_import(source: BinaryIO, *, options: ImportOptions, progress: Progress | None = None) -> Parsed:
    """The file read for write_parsed, which the caller then closes: by a child process that goes on
    beside the writer when worth_a_child, else whole, here (importer.parse_file). Either way a file
    that is not bookmarks from its start fails here, before any write."""
    if worth_a_child(source):
        return ChildParse(source, options=options, progress=progress)
    return parse_file(source=source, options=options, progress=progress)
