"""`kura import FILE --user NAME` and `kura export --user NAME --format …`: the API's importer and
exporter from the command line. A progress bar shows only when stderr is a terminal."""

from __future__ import annotations

import argparse
import os
import sys
from typing import BinaryIO

from tqdm import tqdm

from common import accounts, transfer
from common.db import Database
from common.settings import Settings


def _open(path: str) -> tuple[BinaryIO, int | None]:
    from common.cli import CliError  # common.cli imports this module to register it

    if path == "-":
        return sys.stdin.buffer, None
    try:
        return open(path, "rb"), os.path.getsize(path)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _user_id(db: Database, name: str) -> int:
    with db.read_session() as session:
        return accounts.get_user(session, name=name).id


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    from common.cli import _db

    source, size = _open(args.file)
    db = _db(settings)
    # disable=None: tqdm draws only on a terminal, so a pipe or a log stays clean.
    bar = tqdm(total=size, unit="B", unit_scale=True, desc="importing", file=sys.stderr, disable=None,
               leave=False)
    try:
        options = transfer.ImportOptions(folders_as_tags=args.folders_as_tags, mode=args.mode)
        result = transfer.import_file(db, user_id=_user_id(db, args.user), source=source, options=options,
                                      progress=bar.update)
    finally:
        bar.close()
        source.close()
        db.dispose()
    for error in result.errors:
        where = f"line {error['line']}: " if error["line"] is not None else ""
        print(f"skipped {where}{error['reason']}", file=sys.stderr)
    print(f"created {result.created}, updated {result.updated}, skipped {result.skipped}")


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    from common.cli import CliError, _db

    db = _db(settings)
    try:
        chunks = transfer.EXPORTERS[args.format](db, user_id=_user_id(db, args.user))
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader (`| head`, say) went away: say so once, not with a traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise CliError("the output was closed before the export finished") from None
    finally:
        db.dispose()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser("import", help="import a browser bookmark file or a Kura JSON export")
    imp.add_argument("file", help="the file to import ('-' reads standard input)")
    imp.add_argument("--user", required=True, help="whose bookmarks these become")
    imp.add_argument("--folders-as-tags", action="store_true",
                     help="turn each folder path into tags instead of nested collections")
    imp.add_argument("--mode", choices=["skip", "strict"], default="skip",
                     help="skip (default): report and skip broken entries; strict: reject the whole file")
    imp.set_defaults(func=cmd_import)
    exp = sub.add_parser("export", help="write a user's bookmarks to standard output")
    exp.add_argument("--user", required=True, help="whose bookmarks to export")
    exp.add_argument("--format", choices=["netscape", "json"], default="netscape",
                     help="netscape: HTML every browser imports; json: everything Kura keeps")
    exp.set_defaults(func=cmd_export)
