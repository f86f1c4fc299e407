"""Migrations: the migrated schema is the models' schema, and downgrade/upgrade round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Index, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

from common.sqlite import sqlite3
from domain import migrate
from common.db import Database, open_database
from domain.bookmark_rows import session_sql, stale_rows
from domain.models import Base
from common.settings import Settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account

FTS_TABLES = {"bookmarks_fts", "bookmarks_fts_data", "bookmarks_fts_idx", "bookmarks_fts_docsize",
              "bookmarks_fts_config", "bookmarks_fts_content"}


def schema_differences(db: Database) -> list[object]:
    """compare_metadata's findings, minus FTS5's own tables and minus expression indexes (SQLite
    reflection drops `COLLATE NOCASE`), which are compared by their stored CREATE INDEX instead."""
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        stored = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
    out = []
    for kind, thing, *_ in diffs:
        if kind == "remove_table" and thing.name in FTS_TABLES:
            continue
        if kind in ("add_index", "remove_index") and _same_ddl(thing, stored.get(thing.name)):
            continue
        out.append((kind, thing.name))
    return out


def _same_ddl(index: Index, stored_sql: str | None) -> bool:
    model = next((i for i in Base.metadata.tables[index.table.name].indexes if i.name == index.name), None)
    return model is not None and str(CreateIndex(model).compile(dialect=sqlite.dialect())).strip() == stored_sql


def user_tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_the_migrated_schema_matches_the_models(db: Database) -> None:
    assert schema_differences(db) == []
    assert set(Base.metadata.tables) <= user_tables(db)


def test_the_fts_index_is_kept_in_sync_by_triggers(db: Database) -> None:
    with db.write_session() as session:
        session.execute(text("INSERT INTO users (name, is_admin, created_at) VALUES ('a', 0, 0)"))
        session.execute(text(
            "INSERT INTO bookmarks (user_id, url, title, description, notes, unread, archived, private, "
            "created_at, modified_at) VALUES (1, 'https://example.org/', 'Kura notes', '', '', 1, 0, 0, 0, 0)"))
    with db.read_session() as session:
        hits = session.execute(text("SELECT rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH 'kura'")).all()
    assert hits == [(1,)]


def test_downgrade_to_base_and_upgrade_again_round_trips(db: Database) -> None:
    head = migrate.head_revision()
    migrate.downgrade(db, "base")
    assert migrate.current_revision(db) is None
    assert user_tables(db) == set()
    migrate.upgrade(db)
    assert migrate.current_revision(db) == head
    assert schema_differences(db) == []


def test_migration_0010_gives_the_links_of_existing_bookmarks_their_tag_sets_and_takes_them_back(
        db: Database, alice: Account) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=30, tags_per=3, tag_pool=6)
    migrate.downgrade(db, "0009")
    with db.read_session() as session:
        columns = [row[1] for row in session.connection().exec_driver_sql("PRAGMA table_info(bookmark_tags)")]
    assert "tag_ids" not in columns
    migrate.upgrade(db)
    with db.read_session() as session:
        assert stale_rows(session_sql(session)) == []
        empty = session.connection().exec_driver_sql("SELECT count(*) FROM bookmark_tags WHERE tag_ids IS NULL")
        assert empty.scalar_one() == 0
    assert schema_differences(db) == []


def sqlite_file(path: Path, *statements: str) -> Path:
    """A real SQLite file made without Kura (so nothing Kura does shapes it), holding `statements`."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()
    return path


def test_an_empty_database_is_not_at_head_and_says_what_to_run(tmp_path: Path, settings: Settings) -> None:
    empty = open_database(settings, path=sqlite_file(tmp_path / "empty.db"))
    try:
        assert migrate.current_revision(empty) is None
        with pytest.raises(migrate.SchemaNotAtHead, match=r"nothing \(empty database\).*run `kura db upgrade`"):
            migrate.ensure_at_head(empty)
        migrate.upgrade(empty)
        assert migrate.ensure_at_head(empty) == migrate.head_revision()
    finally:
        empty.dispose()


def test_a_database_from_a_newer_kura_is_told_to_upgrade_kura_and_is_left_alone(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    line = (f"database {db.path} was written by a newer Kura (revision 9999, this Kura knows up to "
            f"{migrate.head_revision()}): upgrade Kura or restore a backup")
    with pytest.raises(migrate.SchemaNotAtHead) as checked:
        migrate.ensure_at_head(db)
    assert str(checked.value) == line
    with pytest.raises(migrate.SchemaNotAtHead) as upgraded:
        migrate.upgrade(db)
    assert str(upgraded.value) == line
    assert migrate.current_revision(db) == "9999"


@pytest.mark.parametrize("version_table", [False, True], ids=["no-version-table", "empty-version-table"])
def test_tables_without_a_version_row_are_not_called_empty_and_are_not_upgraded(
        tmp_path: Path, settings: Settings, version_table: bool) -> None:
    statements = ["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO notes (body) VALUES ('x')"]
    if version_table:  # what a Kura database looks like after someone deleted its version row
        statements.append("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    foreign = open_database(settings, path=sqlite_file(tmp_path / "foreign.db", *statements))
    try:
        line = (f"database {foreign.path} has tables but no schema version: it is not a Kura database, or "
                "was not made by `kura db upgrade`; check KURA_DATABASE_PATH or restore a backup")
        with pytest.raises(migrate.SchemaNotAtHead) as checked:
            migrate.ensure_at_head(foreign)
        assert str(checked.value) == line and "empty" not in line
        with pytest.raises(migrate.SchemaNotAtHead) as upgraded:
            migrate.upgrade(foreign)
        assert str(upgraded.value) == line
        assert user_tables(foreign) == {"notes"}
    finally:
        foreign.dispose()


def test_an_older_revision_this_kura_knows_is_told_to_run_kura_db_upgrade(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    monkeypatch.setattr(migrate, "VERSIONS_DIR", versions)
    older = open_database(settings, path=sqlite_file(
        tmp_path / "older.db", "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('a')", "CREATE TABLE users (id INTEGER PRIMARY KEY)"))
    try:
        with pytest.raises(migrate.SchemaNotAtHead) as checked:
            migrate.ensure_at_head(older)
        assert str(checked.value) == (f"database schema of {older.path} is at a, this Kura needs b: "
                                      "run `kura db upgrade` first")
    finally:
        older.dispose()


def test_upgrading_to_a_revision_that_does_not_exist_names_the_ones_that_do(db: Database) -> None:
    known = migrate.known_revisions()
    with pytest.raises(migrate.UnknownRevision) as refused:
        migrate.upgrade(db, "9999")
    assert str(refused.value) == (f"cannot upgrade to 9999: Can't locate revision identified by '9999'; "
                                  f"this Kura knows revisions {', '.join(known)} (head {migrate.head_revision()})")
    assert migrate.current_revision(db) == migrate.head_revision()


def test_the_quick_head_check_agrees_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(Path("x")))
    assert [migrate.head_revision()] == script.get_heads()
    assert migrate.known_revisions() == sorted(rev.revision for rev in script.walk_revisions())


def test_the_quick_current_revision_agrees_with_alembic(db: Database) -> None:
    with db.engine.connect() as conn:
        assert migrate.current_revision(db) == MigrationContext.configure(conn).get_current_revision()


def test_a_merge_revision_is_understood_and_two_heads_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision: str = "b"\ndown_revision = "a"\n')
    (versions / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    monkeypatch.setattr(migrate, "VERSIONS_DIR", versions)
    with pytest.raises(RuntimeError, match=r"2 heads \(b, c\); merge them"):
        migrate.head_revision()
    (versions / "d.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n')
    assert migrate.head_revision() == "d"


def test_checking_the_schema_does_not_import_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from domain import migrate; from common.db import open_database; "
            "from common.settings import load_settings; "
            f"db = open_database(load_settings(data_dir={str(tmp_path)!r}), create=True); "
            "print(migrate.current_revision(db), migrate.head_revision(), 'alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert out == ["None", migrate.head_revision(), "False"]
