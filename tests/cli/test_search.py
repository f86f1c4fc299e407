"""`kura search rebuild`: the derived search index built afresh from the database, or one line why not."""

from __future__ import annotations

from pathlib import Path

import tantivy

from common.db import open_database
from common.sqlite import sqlite3
from domain.search import parse_query
from domain.searchindex import SearchIndex
from common.settings import load_settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.cli.process import kura_process, only_line


def seeded(kura, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    assert kura("user", "add", "alice")[0] == 0
    settings = load_settings(data_dir=tmp_path / "data")
    db = open_database(settings)
    try:
        seed_bookmarks(db, user_id=1, count=25)
    finally:
        db.dispose()
    return settings.search_index_path


def test_rebuild_indexes_every_bookmark_and_says_so(upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index_dir = seeded(upgraded, tmp_path)
    code, out, _ = upgraded("search", "rebuild")
    assert code == 0 and out.strip().startswith(f"search index rebuilt in {index_dir}: 25 bookmarks in ")
    index = SearchIndex.open(index_dir)
    try:
        with sqlite3.connect(tmp_path / "data" / "kura.db") as conn:
            found = index.search_ids(conn, user_id=1, query=parse_query("python"), limit=100)
        assert len(found) == 7  # "python" in 4 titles (i % 8 == 0) and 3 descriptions (i % 8 == 5)
    finally:
        index.close()


def test_rebuild_while_another_process_writes_the_index_is_one_line(upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index_dir = seeded(upgraded, tmp_path)
    assert upgraded("search", "rebuild")[0] == 0
    writer = tantivy.Index.open(str(index_dir)).writer(heap_size=15_000_000, num_threads=1)  # as kura-api holds it
    try:
        done = kura_process(tmp_path / "data", "search", "rebuild")
    finally:
        del writer
    assert done.returncode == 1
    assert only_line(done.stderr).startswith("kura: another process (kura-api?) is writing the search index: "
                                             "stop kura-api first")
