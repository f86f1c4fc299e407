"""The command line every Kura program shares: `--help` with defaults shown, `--version`, and a
mistyped argument refused in one line with exit status 2 before anything starts.

Settings come from KURA_* variables (common/settings.py), so the long-running programs take no
other arguments; what they accept is still checked, so `kura-api --help` never starts a server.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

SETTINGS_EPILOG = "Settings come from KURA_* environment variables; README.md, \"Configuration\", lists them."


def version_line() -> str:
    """Kura's version and the versions in use of what its behaviour depends on most: a bug report
    or an upgrade check starts here. SQLite is the system library Python links, not a locked package."""
    import platform
    from common.sqlite import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    def of(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return (f"kura {of('kura')} (FastAPI {of('fastapi')}, SQLAlchemy {of('sqlalchemy')}, "
            f"uvicorn {of('uvicorn')}, SQLite {sqlite3.sqlite_version}, Python {platform.python_version()})")


class _VersionAction(argparse.Action):
    """`--version`, with the line computed only when asked (every other run skips the lookups)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the versions of Kura, FastAPI, "
                         "SQLAlchemy, uvicorn and SQLite in use, and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_line())
        parser.exit()


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default where there is one worth reading: not for flags (False) or unset options."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or isinstance(action, argparse._SubParsersAction):
            return action.help
        return super()._get_help_string(action)


class ProgramParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit status 2."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        # argparse's own prints the whole usage block first; one line says the same, and where to look.
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def program_parser(prog: str, description: str, *, epilog: str | None = SETTINGS_EPILOG) -> ProgramParser:
    """The parser a Kura program starts from: `--help` and `--version` included."""
    parser = ProgramParser(prog=prog, description=description, epilog=epilog)
    parser.add_argument("--version", action=_VersionAction)
    return parser

