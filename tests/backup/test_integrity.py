"""The integrity check of a copy runs in parts side by side; together they must still find everything
one whole `PRAGMA integrity_check` finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from backup.errors import StageError
from backup.integrity import check_database, plan
from common.sqlite import sqlite3


def _database(path: Path) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    # Freed space zeroed: a page split otherwise leaves stale copies of rows in free space, and a
    # test that edits the first copy of a row it finds must hit a live one.
    conn.execute("PRAGMA secure_delete = ON")
    conn.executescript("""
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
        CREATE INDEX ix_notes_body ON notes (body);
        CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    """)
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [(f"note {i} " + "x" * 200,) for i in range(500)])
    conn.executemany("INSERT INTO scratch (body) VALUES (?)", [("y" * 300,) for _ in range(200)])
    conn.close()
    return path


def _forget_a_table(path: Path, name: str) -> None:
    """Remove a table from the schema but not its pages: they belong to no b-tree any more."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("DELETE FROM sqlite_master WHERE name = ?", (name,))
    conn.close()


def _answer(path: Path, pragma: str) -> list[tuple[str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(pragma).fetchall()
    finally:
        conn.close()


def test_a_sound_copy_passes_with_its_row_counts(tmp_path: Path) -> None:
    found = check_database(_database(tmp_path / "copy.db"))
    assert found.row_counts == {"notes": 500, "scratch": 200}


def test_the_parts_are_the_indexed_tables_then_the_whole_file_then_the_plain_tables(tmp_path: Path) -> None:
    parts = plan(_database(tmp_path / "copy.db"), split_above=0).parts
    assert parts == ['PRAGMA integrity_check("notes")', "PRAGMA quick_check", 'PRAGMA integrity_check("scratch")']


def test_a_small_copy_is_checked_whole_in_one_part(tmp_path: Path) -> None:
    path = _database(tmp_path / "copy.db")
    assert plan(path, split_above=path.stat().st_size).parts == ["PRAGMA integrity_check"]
    assert len(plan(path, split_above=path.stat().st_size - 1).parts) == 3


def test_pages_no_table_owns_fail_the_check(tmp_path: Path) -> None:
    # Only the whole-file part sees this: every table's own check passes.
    path = _database(tmp_path / "copy.db")
    _forget_a_table(path, "scratch")
    assert _answer(path, 'PRAGMA integrity_check("notes")') == [("ok",)]
    with pytest.raises(StageError, match="integrity_check failed: .*never used"):
        check_database(path, split_above=0)


def test_an_index_that_disagrees_with_its_table_fails_the_check(tmp_path: Path) -> None:
    # Only the per-table part sees this: the file's structure is sound.
    path = _database(tmp_path / "copy.db")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"note 7 ")  # the row or its index entry: either way the two no longer agree
    raw[at + 5] = ord("9")
    path.write_bytes(bytes(raw))
    assert _answer(path, "PRAGMA quick_check") == [("ok",)]
    with pytest.raises(StageError, match="integrity_check failed: .*ix_notes_body"):
        check_database(path, split_above=0)
