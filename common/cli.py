"""`kura`: the admin CLI. Each command prints a one-line error and exits non-zero on failure.

Command groups live in their own modules and register themselves here through REGISTRARS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from common import accounts, migrate
from common.db import Database, DatabaseError, open_database
from common.errors import KuraError
from common.logging import setup_logging
from common.settings import Settings, SettingsError, load_settings


class CliError(Exception):
    """A failure worth one line on stderr and exit status 1."""


def _db(settings: Settings, *, at_head: bool = True, create: bool = False) -> Database:
    db = open_database(settings, create=create)
    if at_head:
        migrate.ensure_at_head(db)
    return db


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    # The one command that may create the database; the unit's ExecStartPre passes --no-create, so a
    # restart after kura.db was deleted fails loudly instead of serving an empty database.
    db = _db(settings, at_head=False, create=not args.no_create)
    try:
        migrate.upgrade(db, args.revision)  # a newer or foreign database: SchemaNotAtHead, one line
        print(f"database {db.path} is at {migrate.current_revision(db)}")
    except migrate.UnknownRevision as exc:
        raise CliError(str(exc)) from None
    finally:
        db.dispose()


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> None:
    db = _db(settings, at_head=False)
    try:
        current, head = migrate.current_revision(db), migrate.head_revision()
        print(f"{current or 'empty'} (head {head})")
        if current != head:
            raise CliError("schema is not at head: run `kura db upgrade`")
    finally:
        db.dispose()


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> None:
    db = _db(settings)
    with db.write_session() as session:
        user = accounts.create_user(session, name=args.name, is_admin=args.admin)
        print(f"created user {user.name} (id {user.id}{', admin' if user.is_admin else ''})")


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> None:
    with _db(settings).read_session() as session:
        for user in accounts.list_users(session):
            print(f"{user.id}\t{user.name}\t{'admin' if user.is_admin else 'user'}\t{user.created_at:%Y-%m-%d}")


def cmd_user_remove(settings: Settings, args: argparse.Namespace) -> None:
    with _db(settings).write_session() as session:
        accounts.remove_user(session, name=args.name)
    print(f"removed user {args.name} and all of their data")


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> None:
    with _db(settings).write_session() as session:
        user = accounts.get_user(session, name=args.name)
        token, plaintext = accounts.create_token(session, user_id=user.id, label=args.label)
    print(plaintext)
    print(f"token {token.id} for {args.name} ({args.label}); it is shown only once", file=sys.stderr)


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> None:
    with _db(settings).read_session() as session:
        user_id = accounts.get_user(session, name=args.user).id if args.user else None
        for t in accounts.list_tokens(session, user_id=user_id):
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            print(f"{t.id}\t{t.user.name}\t{t.label}\t{state}\tlast used {used}")


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    with _db(settings).write_session() as session:
        accounts.revoke_token(session, token_id=args.id)
    print(f"revoked token {args.id}")


def _register_core(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    up = db.add_parser("upgrade", help="upgrade the schema (to head by default)")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--no-create", action="store_true",
                    help="refuse a missing database instead of creating an empty one (the unit uses this)")
    up.set_defaults(func=cmd_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(func=cmd_db_current)

    user = sub.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may read the system endpoints")
    add.set_defaults(func=cmd_user_add)
    user.add_parser("list", help="list users").set_defaults(func=cmd_user_list)
    rm = user.add_parser("remove", help="remove a user and all of their data")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_user_remove)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="create a token for a user (printed once)")
    create.add_argument("name", help="the user")
    create.add_argument("--label", required=True, help="what the token is for, e.g. 'firefox'")
    create.set_defaults(func=cmd_token_create)
    tl = token.add_parser("list", help="list tokens")
    tl.add_argument("--user", help="only this user's tokens")
    tl.set_defaults(func=cmd_token_list)
    rv = token.add_parser("revoke", help="revoke a token by id")
    rv.add_argument("id", type=int)
    rv.set_defaults(func=cmd_token_revoke)


Registrar = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]
REGISTRARS: list[Registrar] = [_register_core]
REGISTRARS.append(__import__("common.cli_deploy", fromlist=["register"]).register)  # kura notify-failure
REGISTRARS.append(__import__("common.cli_transfer", fromlist=["register"]).register)  # kura import/export


def version_line() -> str:
    """Kura's version and the versions in use of what its behaviour depends on most: a bug report
    or an upgrade check starts here. SQLite is the system library Python links, not a locked package."""
    import platform
    import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    def of(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return (f"kura {of('kura')} (FastAPI {of('fastapi')}, SQLAlchemy {of('sqlalchemy')}, "
            f"uvicorn {of('uvicorn')}, SQLite {sqlite3.sqlite_version}, Python {platform.python_version()})")


class _VersionAction(argparse.Action):
    """`--version`, with the line computed only when asked (every other command skips the lookups)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the versions of Kura, FastAPI, "
                         "SQLAlchemy, uvicorn and SQLite in use, and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kura", description="Kura admin commands")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings, program="kura")
        args.func(settings, args)
    except (CliError, KuraError, SettingsError, DatabaseError, migrate.SchemaNotAtHead) as exc:
        print(f"kura: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
