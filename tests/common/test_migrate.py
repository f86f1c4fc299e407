"""Migrations: the migrated schema is the models' schema, and downgrade/upgrade round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Index, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

from common import migrate
from common.db import Database, open_database
from common.models import Base
from common.settings import Settings

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


def test_an_empty_database_is_not_at_head_and_says_what_to_run(tmp_path: Path, settings: Settings) -> None:
    empty = open_database(settings, path=tmp_path / "empty.db")
    try:
        assert migrate.current_revision(empty) is None
        with pytest.raises(migrate.SchemaNotAtHead, match=r"nothing \(empty database\).*run `kura db upgrade`"):
            migrate.ensure_at_head(empty)
        migrate.upgrade(empty)
        assert migrate.ensure_at_head(empty) == migrate.head_revision()
    finally:
        empty.dispose()


def test_the_quick_head_check_agrees_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    assert [migrate.head_revision()] == ScriptDirectory.from_config(migrate.alembic_config(Path("x"))).get_heads()


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

    code = ("import sys; from common import migrate; from common.db import open_database; "
            "from common.settings import load_settings; "
            f"db = open_database(load_settings(data_dir={str(tmp_path)!r})); "
            "print(migrate.current_revision(db), migrate.head_revision(), 'alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert out == ["None", migrate.head_revision(), "False"]
