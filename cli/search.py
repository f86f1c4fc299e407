"""`kura search rebuild`: the derived search index, built afresh from the database."""

from __future__ import annotations

import argparse
import time

from cli.helpers import CliError, open_db
from domain.searchindex import IndexBusy, IndexUnusable, rebuild
from common.settings import Settings


def cmd_search_rebuild(settings: Settings, args: argparse.Namespace) -> None:
    db = open_db(settings)  # at the schema's head: the index reads the tables this Kura knows
    started = time.monotonic()
    try:
        index = rebuild(db.path, settings.search_index_path)
    except IndexBusy as exc:
        raise CliError(f"{exc}: stop kura-api first (it rebuilds the index itself at start when the "
                       f"index is missing or damaged)") from None
    except (IndexUnusable, OSError) as exc:
        raise CliError(f"cannot rebuild the search index in {settings.search_index_path}: {exc}") from None
    finally:
        db.dispose()
    try:
        print(f"search index rebuilt in {settings.search_index_path}: {index.document_count} bookmarks "
              f"in {time.monotonic() - started:.1f} s")
    finally:
        index.close()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    search = sub.add_parser("search", help="the derived search index").add_subparsers(dest="action", required=True)
    search.add_parser("rebuild", help="rebuild the search index from the database (with kura-api stopped)"
                      ).set_defaults(func=cmd_search_rebuild)
