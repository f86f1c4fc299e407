"""`kura import` of a large file parses in a child process while it writes (childparse): the same
result as the import in one process, the child's errors raised as its own, and nothing written when
the file is bad, a late entry breaks strict mode, or the child dies midway."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transfer_data import snapshot, whole_database

from common.db import Database
from domain.transfer import BadFile, ImportOptions, ImportResult, StrictImportFailed, childparse, import_file
from domain.transfer.batches import BATCH
from domain.transfer.importer import import_parsed, write_parsed
from domain.transfer.reader import Progress
from tests.domain.transfer.test_importer import page


def import_in_child(db: Database, *, user_id: int, source: io.BufferedReader,
                    options: ImportOptions = ImportOptions(), progress: Progress | None = None) -> ImportResult:
    """The import as read_import runs a large file, for any file: a ChildParse written by write_parsed."""
    return import_parsed(db, user_id=user_id, parsed=childparse.ChildParse(source, options=options, progress=progress))


FOLDER = '<DT><H3 ADD_DATE="1600000000">{name}</H3>\n<DL><p>'


def mixed_file(path: Path, count: int) -> Path:
    """Folders, tags, a URL met twice, a broken entry and a browser-internal one: every kind of item."""
    rows = [FOLDER.format(name="work")]
    rows += [f'<DT><A HREF="https://w{i}.example/" ADD_DATE="{1700000000 + i}" TAGS="t{i % 7},all">w{i}</A>'
             for i in range(count)]
    rows += ["</DL><p>", FOLDER.format(name="home")]
    rows += ['<DT><A HREF="https://w3.example/" ADD_DATE="1800000000" LAST_MODIFIED="1800000001">again</A>',
             '<DT><A HREF="http://[broken/" ADD_DATE="1700000000">broken</A>',
             '<DT><A HREF="javascript:void(0)" ADD_DATE="1700000000">bookmarklet</A>', "</DL><p>"]
    path.write_bytes(page(*rows))
    return path


def test_a_file_parsed_in_a_child_imports_as_it_does_in_one_process(db: Database, alice, bob,
                                                                     tmp_path: Path) -> None:
    source = mixed_file(tmp_path / "mixed.html", BATCH + 500)  # two batches
    read: list[int] = []
    with open(source, "rb") as file:
        assert childparse.worth_a_child(file) is (source.stat().st_size >= childparse.MIN_BYTES)
        in_child = import_in_child(db, user_id=alice.user_id, source=file, progress=read.append)
    in_process = import_file(db, user_id=bob.user_id, source=io.BytesIO(source.read_bytes()))
    assert in_child.as_dict() == in_process.as_dict()
    assert (in_child.created, in_child.updated, in_child.skipped) == (BATCH + 500, 1, 2)
    assert snapshot(db, user_id=alice.user_id) == snapshot(db, user_id=bob.user_id)
    assert sum(read) == source.stat().st_size  # the child's progress reaches the caller's bar


def test_a_file_that_is_not_bookmarks_fails_with_the_same_error_and_writes_nothing(db: Database, alice,
                                                                                   tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"\n\nshopping list: eggs, milk\n")
    before = whole_database(db)
    with pytest.raises(BadFile) as in_process:
        import_file(db, user_id=alice.user_id, source=io.BytesIO(source.read_bytes()))
    with pytest.raises(BadFile) as in_child, open(source, "rb") as file:
        import_in_child(db, user_id=alice.user_id, source=file)
    assert (in_child.value.message, in_child.value.details, in_child.value.line) == (
        in_process.value.message, in_process.value.details, 3)
    assert str(in_child.value) == str(in_process.value)
    assert whole_database(db) == before


def test_strict_mode_rolls_back_the_batches_written_before_a_late_broken_entry(db: Database, alice,
                                                                               tmp_path: Path) -> None:
    before = whole_database(db)
    rows = [f'<DT><A HREF="https://s{i}.example/">s{i}</A>' for i in range(BATCH + 10)]
    source = tmp_path / "late.html"
    source.write_bytes(page(*rows, '<DT><A HREF="http://[broken/">broken</A>'))
    with pytest.raises(StrictImportFailed) as failed, open(source, "rb") as file:
        import_in_child(db, user_id=alice.user_id, source=file, options=ImportOptions(mode="strict"))
    assert failed.value.details["line"] == BATCH + 13 and "nothing was changed" in failed.value.message
    assert whole_database(db) == before


def test_a_child_that_dies_midway_fails_the_import_and_writes_nothing(db: Database, alice, tmp_path: Path) -> None:
    before = whole_database(db)
    source = mixed_file(tmp_path / "big.html", 3 * BATCH)  # a batch is far larger than a pipe's buffer
    with open(source, "rb") as file:
        parsed = childparse.ChildParse(file, options=ImportOptions())
    try:
        parsed.process.kill()  # the first batch is in hand; the rest will never come
        with pytest.raises(RuntimeError, match="parser process ended before the end of the file"):
            write_parsed(db, user_id=alice.user_id, parsed=parsed)
    finally:
        parsed.close()
    assert parsed.process.returncode == -9
    assert whole_database(db) == before


def test_only_a_file_on_disk_of_a_mebibyte_or_more_is_worth_a_child(tmp_path: Path) -> None:
    big, small = tmp_path / "big", tmp_path / "small"
    big.write_bytes(b"x" * childparse.MIN_BYTES)
    small.write_bytes(b"x" * (childparse.MIN_BYTES - 1))
    with open(big, "rb") as on_disk, open(small, "rb") as too_small:
        assert childparse.worth_a_child(on_disk) and not childparse.worth_a_child(too_small)
        assert on_disk.tell() == 0  # still to be read from the start
    assert not childparse.worth_a_child(io.BytesIO(big.read_bytes()))  # in memory: no descriptor to hand on
    reading, writing = os.pipe()
    with open(reading, "rb") as pipe, open(writing, "wb"):
        assert not childparse.worth_a_child(pipe)  # standard input from a pipe: read once, here


def test_the_parser_process_starts_without_the_database_code() -> None:
    # Its start is on the path to the first write: SQLAlchemy, the models and pydantic cost ~0.7 s.
    loaded = subprocess.run(
        [sys.executable, "-P", "-c", "import sys, domain.transfer.parse_worker; "
         "print(sorted(m for m in ('sqlalchemy', 'domain.models', 'pydantic', 'common.db') if m in sys.modules))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3]).stdout
    assert loaded.strip() == "[]"
