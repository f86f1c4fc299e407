"""`kura` itself: the command list, settings and usage mistakes in one line, `--version`."""

from __future__ import annotations

import platform
import tomllib
from pathlib import Path

import pytest

from common.sqlite import sqlite3
from tests.cli.process import ROOT, kura_process, only_line


def test_bad_settings_get_one_line_naming_the_variable(kura, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KURA_SQLITE_SYNCHRONOUS", "SOMETIMES")
    code, _, err = kura("user", "list")
    assert code == 1 and only_line(err).startswith("kura: invalid configuration: KURA_SQLITE_SYNCHRONOUS:")


@pytest.mark.parametrize(("argv", "message"), [
    (["token", "create", "alice"], "kura token create: the following arguments are required: --label "
                                   "(see kura token create --help)"),
    (["user", "list", "--frobnicate"], "kura: unrecognized arguments: --frobnicate (see kura --help)"),
    (["frobnicate"], "kura: argument COMMAND: invalid choice: 'frobnicate' (choose from 'db', 'user', "
                     "'token', 'import', 'export', 'search', 'notify-failure') (see kura --help)"),
], ids=["missing-option", "unknown-option", "unknown-command"])
def test_usage_mistakes_get_one_line_and_exit_2_touching_nothing(tmp_path: Path, argv: list[str],
                                                                 message: str) -> None:
    done = kura_process(tmp_path / "data", *argv)
    assert (done.returncode, done.stdout, only_line(done.stderr)) == (2, b"", message)
    assert not (tmp_path / "data").exists()


def test_help_shows_every_argument_with_its_help_and_defaults(tmp_path: Path) -> None:
    done = kura_process(tmp_path / "data", "import", "--help")
    assert done.returncode == 0 and not (tmp_path / "data").exists()
    usage = done.stdout.decode()
    assert "the file to import; '-' reads standard input" in usage
    assert "(default: skip)" in usage and "(default: False)" not in usage


def test_version_names_kura_and_the_locked_framework_versions_in_use(tmp_path: Path) -> None:
    from tests.deploy.test_lock import TEST_LOCK, read_lock

    locked = {pin.name: pin.version for pin in read_lock(TEST_LOCK)}
    kura_version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = kura_process(tmp_path / "data", "--version")
    assert (done.returncode, done.stderr) == (0, b"")
    assert only_line(done.stdout) == (
        f"kura {kura_version} (FastAPI {locked['fastapi']}, SQLAlchemy {locked['sqlalchemy']}, "
        f"uvicorn {locked['uvicorn']}, SQLite {sqlite3.sqlite_version}, Python {platform.python_version()})")
    assert not (tmp_path / "data").exists()  # it printed and left, touching no database
