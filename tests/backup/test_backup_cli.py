"""`kura-backup` commands in-process: output, exit status, one-line errors, sd_notify and Sentry."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk
from loguru import logger

from backup.cli import main
from backup.errors import StageError
from backup.job import run_job
from backup.manifest import list_backups
from common.db import Database
from common.sentry import init_sentry
from common.settings import Settings, load_settings
from tests.backup.conftest import KURA_BACKUP, ROOT, backup_env
from tests.doubles import NotifySocket, SentryStandIn


@pytest.fixture(autouse=True)
def _env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    yield
    # main() pointed loguru at this test's captured stderr and stdlib logging at loguru: undo both
    logger.remove()
    logger.add(sys.__stderr__, level="INFO")
    logging.getLogger().handlers.clear()
    logging.getLogger().setLevel(logging.WARNING)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_list_verify_and_check_succeed_on_a_fresh_backup(
    db: Database, populated: list[int], capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    code, out, err = run(capsys, "run")
    assert code == 0, err
    path = Path(out.strip())
    assert path.parent == settings.backups_path and path.is_file()
    assert "backup ok:" in err and "25 rows" not in err  # the rows of every table, not just bookmarks
    code, out, _ = run(capsys, "list")
    assert code == 0 and path.name in out and "verified" in out
    code, out, _ = run(capsys, "list", "--json")
    [row] = json.loads(out)
    assert row["file"] == str(path) and row["verified"] is True and row["size_bytes"] == path.stat().st_size
    assert run(capsys, "verify", path.name)[:2] == (0, f"ok      {path.name}\n")
    assert run(capsys, "verify", "--all")[0] == 0
    code, out, _ = run(capsys, "check")
    assert code == 0 and "limit 26 h" in out


def test_verify_reports_a_damaged_backup_and_exits_1(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "run")[0] == 0
    path = list_backups(load_settings().backups_path)[0].data_path
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # always a different last byte
    code, out, err = run(capsys, "verify", "--all")
    assert code == 1
    assert out.startswith(f"FAILED  {path.name}: ")
    assert err.strip().splitlines()[-1] == "kura-backup verify: 1 of 1 backup(s) failed verification"


@pytest.mark.parametrize("argv, message", [
    (["verify"], "give one backup FILE or --all"),
    (["verify", "x", "--all"], "give one backup FILE or --all"),
    (["verify", "--all"], "no backups to verify"),
    (["restore", "nothing.db.zst"], "restore failed: no backup file nothing.db.zst"),
    (["check"], "no verified backup"),
])
def test_every_command_fails_with_one_line_and_exit_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert message in err.strip().splitlines()[-1]


def test_bad_settings_are_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KURA_BACKUP_KEEP_DAILY", "-1")
    code, _, err = run(capsys, "list")
    assert code == 1
    assert err.count("\n") == 1 and "KURA_BACKUP_KEEP_DAILY" in err


def test_restore_command_restores_and_says_how_to_start_the_api(
    db: Database, populated: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(capsys, "run")
    name = Path(out.strip()).name
    code, out, err = run(capsys, "restore", name, "--to", str(tmp_path / "copy.db"))
    assert code == 0, err
    assert (tmp_path / "copy.db").is_file() and "systemctl start" not in out
    db.dispose()
    code, out, err = run(capsys, "restore", name)
    assert code == 0, err
    assert "systemctl start kura-api" in out


def test_a_second_run_the_same_day_keeps_a_backup_taken_with_keep(settings: Settings, db: Database) -> None:
    def backup(*argv: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*KURA_BACKUP, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env=backup_env(settings, KURA_BACKUP_KEEP_DAILY="1", KURA_BACKUP_KEEP_WEEKLY="0",
                                             KURA_BACKUP_KEEP_MONTHLY="0"))
        assert proc.returncode == 0, proc.stderr
        return proc

    first = backup("run", "--keep")
    assert "kept: retention never deletes it" in first.stderr
    kept = Path(first.stdout.strip())
    backup("run")
    newest = Path(backup("run").stdout.strip())  # the second and third run today, one daily backup to keep
    assert [e.data_path for e in list_backups(settings.backups_path)] == [kept, newest]
    listed = [line.split() for line in backup("list").stdout.splitlines()]
    assert listed[0][-3:] == ["verified", "kept", kept.name] and listed[1][-2:] == ["verified", newest.name]
    assert [row["keep"] for row in json.loads(backup("list", "--json").stdout)] == [True, False]


def test_run_reports_each_stage_to_systemd(settings: Settings, db: Database, notify_socket: NotifySocket) -> None:
    proc = subprocess.run([*KURA_BACKUP, "run"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=backup_env(settings, NOTIFY_SOCKET=notify_socket.address))
    assert proc.returncode == 0, proc.stderr
    messages = notify_socket.drain()
    stages = [m.removeprefix("STATUS=backup: ") for m in messages[:-1]]
    assert stages == ["prepare", "space", "snapshot", "compress", "verify", "publish", "prune"]
    assert messages[-1] == f"STATUS=backup done: {Path(proc.stdout.strip()).name}"
    assert "compress:" not in proc.stderr  # no progress bar in a pipe or the journal


def test_sentry_gets_a_check_in_per_run_and_the_exception_of_a_failure(
    settings: Settings, db: Database, sentry: SentryStandIn
) -> None:
    settings = load_settings(data_dir=settings.data_dir, sentry_dsn=sentry.dsn)
    assert init_sentry(settings, program="kura-backup")
    run_job(settings)
    db.dispose()
    settings.db_path.write_bytes(b"broken" * 1000)
    for side in ("-wal", "-shm"):
        settings.db_path.with_name(settings.db_path.name + side).unlink(missing_ok=True)
    with pytest.raises(StageError):
        run_job(settings)
    sentry_sdk.flush(timeout=5)
    items = sentry.items
    checkins = [i for i in items if "monitor_slug" in i]
    assert [(i["monitor_slug"], i["status"]) for i in checkins] == [
        ("kura-backup", s) for s in ["in_progress", "ok", "in_progress", "error"]]
    ids = [i["check_in_id"] for i in checkins]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    exceptions = [v["type"] for i in items for v in (i.get("exception") or {}).get("values", [])]
    assert "StageError" in exceptions and "DatabaseError" in exceptions  # the failure and its cause


def _stderr_on_a_terminal(settings: Settings, *argv: str) -> str:
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    with subprocess.Popen([*KURA_BACKUP, *argv], cwd=ROOT, env=backup_env(settings), stdout=subprocess.DEVNULL,
                          stderr=child_fd) as proc:
        os.close(child_fd)
        chunks = []
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0
    os.close(main_fd)
    return b"".join(chunks).decode(errors="replace")


def test_progress_bars_show_on_a_terminal(settings: Settings, db: Database) -> None:
    err = _stderr_on_a_terminal(settings, "run")
    assert "compress:" in err and "decompress:" in err  # the run's own verification unpacks the file
