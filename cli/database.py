"""`kura db upgrade [REVISION]` and `kura db current`: the schema."""

from __future__ import annotations

import argparse

from domain import migrate
from cli.helpers import CliError, open_db
from common.settings import Settings


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    # The one command that may create the database; the unit's ExecStartPre passes --no-create, so a
    # restart after kura.db was deleted fails loudly instead of serving an empty database.
    db = open_db(settings, at_head=False, create=not args.no_create)
    try:
        migrate.upgrade(db, args.revision)  # a newer or foreign database: SchemaNotAtHead, one line
        print(f"database {db.path} is at {migrate.current_revision(db)}")
    except migrate.UnknownRevision as exc:
        raise CliError(str(exc)) from None
    finally:
        db.dispose()


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> None:
    db = open_db(settings, at_head=False)
    try:
        current, head = migrate.current_revision(db), migrate.head_revision()
        print(f"{current or 'empty'} (head {head})")
        if current != head:
            raise CliError("schema is not at head: run `kura db upgrade`")
    finally:
        db.dispose()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    up = db.add_parser("upgrade", help="upgrade the schema (to head by default)")
    up.add_argument("revision", nargs="?", default="head",
                    help="the revision to upgrade to (`kura db current` shows where it is)")
    up.add_argument("--no-create", action="store_true",
                    help="refuse a missing database instead of creating an empty one (the unit uses this)")
    up.set_defaults(func=cmd_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(func=cmd_db_current)
