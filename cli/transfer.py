"""`kura import FILE --user NAME` and `kura export --user NAME [-o FILE]`: the API's importer and
exporter from the command line. A progress bar shows only when stderr is a terminal."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from domain import transfer
from cli.helpers import CliError, open_db, quiet_broken_pipe, safe_output, user_id
from common.settings import Settings

SPOOL_CHUNK = 1 << 20


def _open(path: str) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    try:
        return open(path, "rb"), os.path.getsize(path)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _on_disk(source: BinaryIO) -> tuple[BinaryIO, int]:
    """Standard input from a pipe (as `sudo kura import FILE` hands the file over) copied to a
    temporary file: a file on disk can be read by a second process (transfer.read_import)."""
    try:
        spool = tempfile.TemporaryFile()
        try:
            shutil.copyfileobj(source, spool, SPOOL_CHUNK)
            size = spool.tell()
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
    except OSError as exc:  # a full or read-only temporary folder
        raise CliError(f"cannot copy standard input to a temporary file: {exc.strerror or exc}") from None
    return spool, size


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    source, size = _open(args.file)
    if size is None:  # standard input
        with contextlib.closing(source):
            source, size = _on_disk(source)
    db = open_db(settings)
    # disable=None: tqdm draws only on a terminal, so a pipe or a log stays clean.
    bar = tqdm(total=size, unit="B", unit_scale=True, desc="importing", file=sys.stderr, disable=None,
               leave=False)
    try:
        options = transfer.ImportOptions(folders_as_tags=args.folders_as_tags, mode=args.mode)
        owner = user_id(db, args.user)
        # A large file is read by a second process while this one writes (two cores, not one).
        parsed = transfer.read_import(source, options=options, progress=bar.update)
        result = transfer.import_parsed(db, user_id=owner, parsed=parsed)
    finally:
        bar.close()
        source.close()
        db.dispose()
    for line in result.entry_lines():  # the same report the web import page shows
        print(line, file=sys.stderr)
    print(result.summary())


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    db = open_db(settings)
    try:
        chunks = transfer.EXPORTERS[args.format](db, user_id=user_id(db, args.user))
        with safe_output(args.output) if args.output else contextlib.nullcontext(sys.stdout.buffer) as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
    except BrokenPipeError:
        quiet_broken_pipe()  # `kura export | head`: the reader had enough
    finally:
        db.dispose()
    if args.output:
        print(f"wrote {args.output}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser("import", help="import a browser bookmark file or a Kura JSON export")
    imp.add_argument("file", help="the file to import; '-' reads standard input (`sudo kura import - < FILE`)")
    imp.add_argument("--user", required=True, help="whose bookmarks these become")
    imp.add_argument("--folders-as-tags", action="store_true",
                     help="turn each folder path into tags instead of nested collections")
    imp.add_argument("--mode", choices=["skip", "strict"], default="skip",
                     help="skip: report and skip broken entries; strict: reject the whole file")
    imp.set_defaults(func=cmd_import)
    exp = sub.add_parser("export", help="write a user's bookmarks to standard output or a file")
    exp.add_argument("--user", required=True, help="whose bookmarks to export")
    exp.add_argument("--format", choices=["netscape", "json"], default="netscape",
                     help="netscape: HTML every browser imports; json: everything Kura keeps")
    exp.add_argument("-o", "--output", type=Path, metavar="FILE",
                     help="write to FILE (mode 0600; it appears only once complete) instead of standard output")
    exp.set_defaults(func=cmd_export)
