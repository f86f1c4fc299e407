"""The `kura` parser, built from every command module's `register`, and `main`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from domain import migrate
from cli import database, deploy, search, transfer, users
from cli.helpers import CliError
from common.cmdline import program_parser
from common.db import DatabaseError
from common.errors import KuraError
from common.logging import setup_logging
from common.settings import SettingsError, load_settings

COMMAND_MODULES = (database, users, transfer, search, deploy)


def build_parser() -> argparse.ArgumentParser:
    parser = program_parser("kura", "Kura admin commands")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="`kura COMMAND --help` shows its arguments")
    for module in COMMAND_MODULES:
        module.register(sub)
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
