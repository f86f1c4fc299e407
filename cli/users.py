"""`kura user add|list|remove|passwd` and `kura token create|list|revoke`: accounts and API tokens."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime

from sqlalchemy import func, select

from domain import accounts, passwords
from cli.helpers import CliError, confirm, open_db
from common.errors import BadRequest
from domain.models import Bookmark, utcnow
from domain.names import clean_name
from common.settings import Settings


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> None:
    name = clean_name(args.name, what="user name")  # before the database: a bad name opens nothing
    with open_db(settings).write_session() as session:
        user = accounts.create_user(session, name=name, is_admin=args.admin)
        print(f"created user {user.name} (id {user.id}{', admin' if user.is_admin else ''})")


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> None:
    with open_db(settings).read_session() as session:
        print("ID\tNAME\tROLE\tCREATED")
        for user in accounts.list_users(session):
            print(f"{user.id}\t{user.name}\t{'admin' if user.is_admin else 'user'}\t{user.created_at:%Y-%m-%d}")


def cmd_user_remove(settings: Settings, args: argparse.Namespace) -> None:
    db = open_db(settings)
    with db.read_session() as session:
        user = accounts.get_user(session, name=args.name)
        count = session.scalar(select(func.count()).select_from(Bookmark).where(Bookmark.user_id == user.id))
    going = f"user {args.name} and their {count} bookmark{'' if count == 1 else 's'}"
    confirm(f"Remove {going}, with their tags, collections and tokens?", yes=args.yes,
            refusal=f"not removing {going}")
    with db.write_session() as session:
        accounts.remove_user(session, name=args.name)
    print(f"removed {going}")


def _new_password(name: str, *, from_stdin: bool) -> str:
    """One line from standard input (`--stdin`, for scripts), or typed twice at the terminal."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password on; pipe it in with --stdin")
    first = getpass.getpass(f"New password for {name}: ")
    if first and getpass.getpass("The same again: ") != first:
        raise CliError("the two passwords differ; nothing changed")
    return first


def cmd_user_passwd(settings: Settings, args: argparse.Namespace) -> None:
    db = open_db(settings)
    with db.read_session() as session:
        user_id = accounts.get_user(session, name=args.name).id  # before asking: a bad name asks nothing
    password = _new_password(args.name, from_stdin=args.stdin)
    if not password:
        raise CliError("the password is empty; nothing changed")
    with db.write_session() as session:
        passwords.set_password(session, user_id=user_id, password=password)
    print(f"password set for {args.name}: they can sign in on the web; their earlier web sessions are ended")


def expiry(duration: str) -> datetime:
    """`--expires 90d`: the moment, or a usage error (exit 2) that says how to write one."""
    try:
        return accounts.expiry_after(duration)
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _moment(at: datetime | None, *, none: str) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else none


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> None:
    with open_db(settings).write_session() as session:
        user = accounts.get_user(session, name=args.name)
        token, plaintext = accounts.create_token(session, user_id=user.id, label=args.label,
                                                 expires=args.expires)
    print(plaintext)
    until = f"expires {args.expires:%Y-%m-%d %H:%M} UTC" if args.expires else "never expires"
    print(f"token {token.id} for {args.name} ({args.label}), {until}; it is shown only once", file=sys.stderr)


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> None:
    with open_db(settings).read_session() as session:
        user_id = accounts.get_user(session, name=args.user).id if args.user else None
        print("ID\tUSER\tLABEL\tSTATE\tLAST USED\tEXPIRES")
        now = utcnow()
        for t in accounts.list_tokens(session, user_id=user_id):
            if t.revoked_at is not None:
                state = f"revoked {t.revoked_at:%Y-%m-%d}"
            else:
                state = "expired" if t.expires_at is not None and t.expires_at <= now else "active"
            used, expires = _moment(t.last_used_at, none="never"), _moment(t.expires_at, none="never")
            print(f"{t.id}\t{t.user.name}\t{t.label}\t{state}\t{used}\t{expires}")


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    with open_db(settings).write_session() as session:
        accounts.revoke_token(session, token_id=args.id)
    print(f"revoked token {args.id}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    user = sub.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("name", help="the user's name (1 to 255 characters, as in the API)")
    add.add_argument("--admin", action="store_true", help="may read the system endpoints")
    add.set_defaults(func=cmd_user_add)
    user.add_parser("list", help="list users").set_defaults(func=cmd_user_list)
    rm = user.add_parser("remove", help="remove a user and all of their data (asks first)")
    rm.add_argument("name", help="the user to remove")
    rm.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    rm.set_defaults(func=cmd_user_remove)
    pw = user.add_parser("passwd", help="set a user's password for the web sign-in (asked twice)")
    pw.add_argument("name", help="the user")
    pw.add_argument("--stdin", action="store_true", help="read the password as one line from standard input")
    pw.set_defaults(func=cmd_user_passwd)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="create a token for a user (printed once)")
    create.add_argument("name", help="the user")
    create.add_argument("--label", required=True, help="what the token is for, e.g. 'firefox'")
    create.add_argument("--expires", type=expiry, metavar="DURATION",
                        help="stop working after this long: a count and m, h, d or w, e.g. 90d (never if not given)")
    create.set_defaults(func=cmd_token_create)
    tl = token.add_parser("list", help="list tokens")
    tl.add_argument("--user", help="only this user's tokens")
    tl.set_defaults(func=cmd_token_list)
    rv = token.add_parser("revoke", help="revoke a token by id")
    rv.add_argument("id", type=int, help="the token's id (`kura token list` shows it)")
    rv.set_defaults(func=cmd_token_revoke)
