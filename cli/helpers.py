"""What the command modules share: the error type, opening the database, asking before a deletion,
and writing an output file safely. Command modules import from here, never from each other."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from domain import accounts, migrate
from common.db import Database, open_database
from common.files import publish, remove_quietly, temp_path
from common.settings import Settings


class CliError(Exception):
    """A failure worth one line on stderr and exit status 1."""


def open_db(settings: Settings, *, at_head: bool = True, create: bool = False) -> Database:
    db = open_database(settings, create=create)
    if at_head:
        try:
            migrate.ensure_at_head(db)
        except BaseException:
            db.dispose()
            raise
    return db


def user_id(db: Database, name: str) -> int:
    with db.read_session() as session:
        return accounts.get_user(session, name=name).id


def confirm(question: str, *, yes: bool, refusal: str) -> None:
    """Go on if ``yes`` or the person at the terminal answers y; otherwise CliError(refusal)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{refusal}: no terminal to ask on, so add --yes to confirm")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CliError(f"{refusal}: not confirmed, nothing changed")


@contextmanager
def safe_output(path: Path) -> Iterator[BinaryIO]:
    """A file to write that appears under ``path`` (mode 0600) only once complete and on disk:
    an error or Ctrl-C leaves whatever was there before, and no temp file."""
    temp = temp_path(path.parent, path.name)
    try:
        with open(temp, "wb") as fh:
            yield fh
        publish(temp, path)  # fsync, os.replace, fsync the directory
    except OSError as exc:
        remove_quietly(temp)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        remove_quietly(temp)
        raise


def quiet_broken_pipe() -> None:
    """The reader (`| head`) went away: that is how a pipe ends, not an error. Point stdout at
    /dev/null so the interpreter's final flush does not fail again (the Python docs' recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
