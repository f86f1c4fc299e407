"""Two real kura-backup processes at once: neither touches the other's files, and a killed run is
recorded as interrupted by the next one."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from backup.job import run_job
from backup.manifest import list_backups
from common.db import Database
from domain.models import BackupRun
from common.settings import Settings
from tests.backup.conftest import KURA_BACKUP, ROOT, add_bookmarks, backup_env
from tests.doubles import NotifySocket


def _start(settings: Settings, *argv: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*KURA_BACKUP, *argv], cwd=ROOT, env=backup_env(settings, **env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _run_until(settings: Settings, notify: NotifySocket, status: str) -> subprocess.Popen[str]:
    """A real `kura-backup run`, returned once it has told systemd it reached `status`."""
    proc = _start(settings, "run", NOTIFY_SOCKET=notify.address)
    notify.wait_for(lambda message: message == status, timeout_s=60)
    return proc


def _wait_for_scratch(proc: subprocess.Popen[str], directory: Path) -> None:
    """Stop ``proc`` (SIGSTOP) the moment its verify scratch copy exists."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.endswith(".check.db") for p in directory.glob(".tmp-*")):
            proc.send_signal(signal.SIGSTOP)
            return
        time.sleep(0.001)
    raise AssertionError(f"verify never showed its scratch file: {proc.communicate()}")


def _runs(db: Database) -> list[tuple[str, str | None]]:
    with db.read_session() as session:
        return [(r.status, r.error) for r in session.scalars(select(BackupRun).order_by(BackupRun.id))]


def test_a_run_during_verify_all_leaves_verify_alone_and_both_succeed(
    settings: Settings, db: Database
) -> None:
    add_bookmarks(db, 3000, text_size=1000)
    days = [datetime.now(UTC) - timedelta(days=n) for n in (2, 1)]
    listed = [run_job(settings, clock=lambda day=day: day).entry.data_path.name for day in days]
    verify = _start(settings, "verify", "--all")
    try:
        _wait_for_scratch(verify, settings.backups_path)
        # The whole run happens while verify is stopped; its retention alone would delete both.
        run = subprocess.run([*KURA_BACKUP, "run"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env=backup_env(settings, KURA_BACKUP_KEEP_DAILY="1", KURA_BACKUP_KEEP_WEEKLY="0",
                                            KURA_BACKUP_KEEP_MONTHLY="0"))
    finally:
        verify.send_signal(signal.SIGCONT)
    out, err = verify.communicate(timeout=120)
    assert "Traceback" not in err
    assert (verify.returncode, out) == (0, "".join(f"ok      {name}\n" for name in listed)), err
    assert run.returncode == 0, run.stderr
    assert "not pruning now: another kura-backup command is reading" in run.stderr
    assert len(list_backups(settings.backups_path)) == 3
    assert not list(settings.backups_path.glob(".tmp-*"))  # verify removed its own scratch copy


def test_a_killed_run_is_marked_interrupted_when_the_next_run_takes_the_lock(
    settings: Settings, db: Database, notify_socket: NotifySocket
) -> None:
    add_bookmarks(db, 200)
    killed = _run_until(settings, notify_socket, "STATUS=backup: snapshot")
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert [status for status, _ in _runs(db)] == ["running"]
    second = subprocess.run([*KURA_BACKUP, "run"], cwd=ROOT, env=backup_env(settings), capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    [(status, error), last] = _runs(db)
    assert status == "interrupted" and "ended before the run finished" in (error or "")
    assert last == ("ok", None)


def test_a_run_refused_by_the_lock_exits_1_and_leaves_the_live_run_running(
    settings: Settings, db: Database, notify_socket: NotifySocket
) -> None:
    add_bookmarks(db, 200)
    holder = _run_until(settings, notify_socket, "STATUS=backup: snapshot")
    holder.send_signal(signal.SIGSTOP)  # alive, holding the lock
    try:
        second = subprocess.run([*KURA_BACKUP, "run"], cwd=ROOT, env=backup_env(settings),
                                capture_output=True, text=True, timeout=120)
        during = _runs(db)
    finally:
        holder.send_signal(signal.SIGCONT)
    out, err = holder.communicate(timeout=120)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1].startswith("kura-backup run: prepare failed: another kura-backup")
    assert "Traceback" not in second.stderr
    assert [s for s, _ in during] == ["running", "failed"]  # the live run is not called interrupted
    assert holder.returncode == 0, err
    assert [s for s, _ in _runs(db)] == ["ok", "failed"]
