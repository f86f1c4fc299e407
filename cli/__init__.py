"""`kura`: the admin CLI. Each command prints a one-line error and exits non-zero on failure.

program.py builds the parser from the command modules (database, users, transfer, deploy), each
of which registers its commands and imports what they share from helpers.py, never from another.
"""

from cli.program import build_parser, main

__all__ = ["build_parser", "main"]
