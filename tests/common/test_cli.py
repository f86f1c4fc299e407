"""`kura`: every core command, and one-line errors with a non-zero exit."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from common import cli, migrate
from tests.common.test_logging import fresh_loguru  # noqa: F401 - a fixture

Run = tuple[int, str, str]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kura(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         fresh_loguru: None):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))

    def run(*argv: str) -> Run:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def upgraded(kura):  # type: ignore[no-untyped-def]
    assert kura("db", "upgrade")[0] == 0
    return kura


def only_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_db_upgrade_and_current(kura) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura("db", "current")
    assert code == 1 and only_line(err).endswith("does not exist: create it with `kura db upgrade`, "
                                                 "or restore a backup with `kura-backup restore`")
    code, out, _ = kura("db", "upgrade")
    head = migrate.head_revision()
    assert code == 0 and out.startswith("database ") and out.strip().endswith(f" is at {head}")
    code, out, _ = kura("db", "current")
    assert code == 0 and out.strip() == f"{head} (head {head})"


def test_users_are_added_listed_and_removed(upgraded) -> None:  # type: ignore[no-untyped-def]
    assert upgraded("user", "add", "alice", "--admin")[1].startswith("created user alice (id 1, admin)")
    assert upgraded("user", "add", "bob")[1].startswith("created user bob (id 2)")
    listed = upgraded("user", "list")[1].splitlines()
    assert [line.split("\t")[1:3] for line in listed] == [["alice", "admin"], ["bob", "user"]]
    assert upgraded("user", "remove", "bob")[0] == 0
    assert [line.split("\t")[1] for line in upgraded("user", "list")[1].splitlines()] == ["alice"]


def test_tokens_are_created_once_listed_and_revoked(upgraded) -> None:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "alice")
    code, out, err = upgraded("token", "create", "alice", "--label", "laptop")
    token = out.strip()
    assert code == 0 and len(token) >= 40 and "\n" not in token
    assert "shown only once" in err and token not in err
    listed = upgraded("token", "list", "--user", "alice")[1]
    assert "\talice\tlaptop\tactive\tlast used never" in listed and token not in listed
    token_id = listed.split("\t")[0]
    assert upgraded("token", "revoke", token_id)[1].strip() == f"revoked token {token_id}"
    assert "\trevoked " in upgraded("token", "list")[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("user", "add", "alice"), "kura: user 'alice' already exists"),
        (("user", "remove", "nobody"), "kura: no user named 'nobody'"),
        (("token", "create", "nobody", "--label", "x"), "kura: no user named 'nobody'"),
        (("token", "list", "--user", "nobody"), "kura: no user named 'nobody'"),
        (("token", "revoke", "99"), "kura: no token with id 99"),
    ],
)
def test_mistakes_get_one_line_and_exit_1(upgraded, argv: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "alice")
    code, out, err = upgraded(*argv)
    assert (code, out, only_line(err)) == (1, "", message)


def test_commands_refuse_a_schema_that_is_not_at_head(kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura("user", "add", "alice")
    assert code == 1 and "does not exist" in only_line(err)  # and nothing creates it but `db upgrade`
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "kura.db").touch()
    code, _, err = kura("user", "add", "alice")
    assert code == 1 and only_line(err).endswith("run `kura db upgrade` first")


def test_bad_settings_get_one_line_naming_the_variable(kura, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KURA_SQLITE_SYNCHRONOUS", "SOMETIMES")
    code, _, err = kura("user", "list")
    assert code == 1 and only_line(err).startswith("kura: invalid configuration: KURA_SQLITE_SYNCHRONOUS:")


def test_an_unusable_database_file_gets_one_line(kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "kura.db").write_bytes(b"not a database" * 100)
    code, _, err = kura("db", "upgrade")
    assert code == 1 and only_line(err).startswith("kura: cannot open database ")


def test_usage_errors_exit_2(kura) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as caught:
        kura("token", "create", "alice")  # --label is required
    assert caught.value.code == 2


def kura_process(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kura` as its own process, as an admin or the unit's ExecStartPre runs it."""
    env = {**os.environ, "KURA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "common.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_upgrading_a_newer_kuras_database_says_so_in_one_line_without_a_traceback(
        upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "data" / "kura.db"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    done = kura_process(tmp_path / "data", "db", "upgrade")
    assert (done.returncode, done.stdout) == (1, "")
    assert only_line(done.stderr) == (
        f"kura: database {path} was written by a newer Kura (revision 9999, this Kura knows up to "
        f"{migrate.head_revision()}): upgrade Kura or restore a backup")


def test_upgrading_to_an_unknown_revision_names_the_revisions_that_exist(upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = kura_process(tmp_path / "data", "db", "upgrade", "9999")
    assert (done.returncode, done.stdout) == (1, "")
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
    assert (done.returncode, done.stdout) == (1, "")
    assert only_line(done.stderr) == (
        f"kura: database {path} has tables but no schema version: it is not a Kura database, or was not "
        "made by `kura db upgrade`; check KURA_DATABASE_PATH or restore a backup")
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["notes"]


def test_version_names_kura_and_the_locked_framework_versions_in_use(tmp_path: Path) -> None:
    import platform
    import tomllib

    from tests.deploy.test_lock import TEST_LOCK, read_lock

    locked = {pin.name: pin.version for pin in read_lock(TEST_LOCK)}
    kura_version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = kura_process(tmp_path / "data", "--version")
    assert (done.returncode, done.stderr) == (0, "")
    assert only_line(done.stdout) == (
        f"kura {kura_version} (FastAPI {locked['fastapi']}, SQLAlchemy {locked['sqlalchemy']}, "
        f"uvicorn {locked['uvicorn']}, SQLite {sqlite3.sqlite_version}, Python {platform.python_version()})")
    assert not (tmp_path / "data").exists()  # it printed and left, touching no database


def test_a_write_blocked_by_another_process_fails_in_one_line_and_saves_nothing(
    upgraded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("KURA_SQLITE_BUSY_TIMEOUT_MS", "200")
    other = sqlite3.connect(tmp_path / "data" / "kura.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. the API in the middle of a large import
    try:
        code, _, err = upgraded("user", "add", "erin")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1
    assert only_line(err) == "kura: the database is busy with another writer; nothing was saved, retry shortly"
    assert "erin" not in upgraded("user", "list")[1]


def test_db_upgrade_no_create_refuses_a_missing_database(kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura("db", "upgrade", "--no-create")
    assert code == 1 and "does not exist" in only_line(err)
    assert not (tmp_path / "data" / "kura.db").exists()
    assert kura("db", "upgrade")[0] == 0
    assert kura("db", "upgrade", "--no-create")[0] == 0
