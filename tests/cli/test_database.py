"""`kura db upgrade` and `kura db current`: the schema, and one line when it cannot be done."""

from __future__ import annotations

from pathlib import Path

from common.sqlite import sqlite3
from domain import migrate
from tests.cli.process import kura_process, only_line


def test_db_upgrade_and_current(kura) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura("db", "current")
    assert code == 1 and only_line(err).endswith("does not exist: create it with `kura db upgrade`, "
                                                 "or restore a backup with `kura-backup restore`")
    code, out, _ = kura("db", "upgrade")
    head = migrate.head_revision()
    assert code == 0 and out.startswith("database ") and out.strip().endswith(f" is at {head}")
    code, out, _ = kura("db", "current")
    assert code == 0 and out.strip() == f"{head} (head {head})"


def test_db_upgrade_no_create_refuses_a_missing_database(kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura("db", "upgrade", "--no-create")
    assert code == 1 and "does not exist" in only_line(err)
    assert not (tmp_path / "data" / "kura.db").exists()
    assert kura("db", "upgrade")[0] == 0
    assert kura("db", "upgrade", "--no-create")[0] == 0


def test_an_unusable_database_file_gets_one_line(kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "kura.db").write_bytes(b"not a database" * 100)
    code, _, err = kura("db", "upgrade")
    assert code == 1 and only_line(err).startswith("kura: cannot open database ")


def test_upgrading_a_newer_kuras_database_says_so_in_one_line_without_a_traceback(
        upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "data" / "kura.db"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    done = kura_process(tmp_path / "data", "db", "upgrade")
    assert (done.returncode, done.stdout) == (1, b"")
    assert only_line(done.stderr) == (
        f"kura: database {path} was written by a newer Kura (revision 9999, this Kura knows up to "
        f"{migrate.head_revision()}): upgrade Kura or restore a backup")


def test_upgrading_to_an_unknown_revision_names_the_revisions_that_exist(upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = kura_process(tmp_path / "data", "db", "upgrade", "9999")
    assert (done.returncode, done.stdout) == (1, b"")
    assert only_line(done.stderr) == (
        "kura: cannot upgrade to 9999: Can't locate revision identified by '9999'; this Kura knows "
        f"revisions {', '.join(migrate.known_revisions())} (head {migrate.head_revision()})")


def test_upgrading_a_database_kura_did_not_make_refuses_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "kura.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    conn.close()
    done = kura_process(tmp_path / "data", "db", "upgrade")
    assert (done.returncode, done.stdout) == (1, b"")
    assert only_line(done.stderr) == (
        f"kura: database {path} has tables but no schema version: it is not a Kura database, or was not "
        "made by `kura db upgrade`; check KURA_DATABASE_PATH or restore a backup")
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["notes"]
