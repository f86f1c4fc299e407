"""Every failure kind fails cleanly, keeps earlier backups, and mails exactly once; success mails nothing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backup.cli import main
from backup.errors import StageError
from backup.job import check_job, run_job
from backup.manifest import list_backups, manifest_path_for
from backup.verify import verify_file
from common.db import Database
from common.files import is_temp
from common.sqlite import sqlite3
from domain.models import BackupRun
from common.settings import Settings
from tests.backup.conftest import KURA_BACKUP, ROOT, add_bookmarks, backup_env
from tests.doubles import SmtpInbox
from tests.support import free_port


def _checkpoint(db: Database) -> int:
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.path.stat().st_size


def _only_final_files(directory: Path) -> list[str]:
    assert not [p.name for p in directory.iterdir() if is_temp(p)]
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def _runs(db: Database) -> list[BackupRun]:
    with db.read_session() as session:
        return list(session.scalars(select(BackupRun).order_by(BackupRun.id)))


def test_success_sends_no_mail_and_records_the_run(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database, populated: list[int]
) -> None:
    result = run_job(mail_settings())
    assert smtp_inbox.messages == []
    [run] = _runs(db)
    assert (run.status, run.stage, run.file, run.verified) == ("ok", "done", result.entry.data_path.name, True)
    assert run.size_bytes == result.entry.data_path.stat().st_size and run.finished_at is not None


def test_space_check_refuses_to_start_and_mails_once(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database,
    tmpfs: Callable[[int], Path],
) -> None:
    add_bookmarks(db, 400, text_size=1000)
    small = tmpfs(64 * 1024)
    settings = mail_settings(backup_dir=small)
    with pytest.raises(StageError, match="bytes free") as info:
        run_job(settings)
    assert info.value.stage == "space"
    assert _only_final_files(small) == []
    [message] = smtp_inbox.messages
    assert "kura-backup run failed at space" in message["Subject"]
    assert "Newest good backup: none" in message.get_content()
    assert [(r.status, r.stage) for r in _runs(db)] == [("failed", "space")]


def test_disk_filling_up_mid_run_removes_the_partial_file_and_keeps_old_backups(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database,
    tmpfs: Callable[[int], Path], tmp_path: Path,
) -> None:
    add_bookmarks(db, 5)
    staging = mail_settings(backup_dir=tmp_path / "staging")
    old = run_job(staging).entry
    add_bookmarks(db, 600, text_size=1000)  # random hex: compresses to about half, no more
    size = _checkpoint(db)
    # Room for the raw snapshot (the space check passes) but not for its compressed copy as well.
    disk = tmpfs(size + 128 * 1024)
    for path in (old.data_path, old.manifest_path):
        shutil.copy2(path, disk / path.name)
    assert size <= shutil.disk_usage(disk).free < size * 1.2
    with pytest.raises(StageError, match="No space left") as info:
        run_job(mail_settings(backup_dir=disk))
    assert info.value.stage == "compress"
    assert _only_final_files(disk) == sorted([old.data_path.name, old.manifest_path.name])
    verify_file(disk / old.data_path.name)
    [message] = smtp_inbox.messages
    assert "failed at compress" in message["Subject"]
    assert old.data_path.name in message.get_content()


def test_file_size_limit_mid_snapshot_fails_cleanly_with_exit_status_1(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    add_bookmarks(db, 5)
    old = run_job(settings).entry
    add_bookmarks(db, 300, text_size=1000)
    limit = _checkpoint(db) // 2
    # SIGXFSZ ignored, so write() fails with EFBIG instead of the signal killing the job.
    wrapper = ("import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
               f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))")
    cmd = [KURA_BACKUP[0], "-c", wrapper + "; " + KURA_BACKUP[2]]
    proc = subprocess.run([*cmd, "run"], cwd=ROOT, env=backup_env(settings), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("kura-backup run: snapshot failed:")
    assert "backup failed at stage snapshot" in proc.stderr
    assert [e.data_path for e in list_backups(settings.backups_path)] == [old.data_path]
    assert _only_final_files(settings.backups_path) == sorted([old.data_path.name, old.manifest_path.name])
    verify_file(old.data_path)


def test_unreadable_database_fails_at_snapshot_and_mails_once(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox
) -> None:
    settings = mail_settings()
    settings.db_path.parent.mkdir(parents=True)
    settings.db_path.write_bytes(b"this is not a database" * 500)
    with pytest.raises(StageError) as info:
        run_job(settings)
    assert info.value.stage == "snapshot"
    [message] = smtp_inbox.messages
    assert "failed at snapshot" in message["Subject"]
    body = message.get_content()
    assert "Error:" in body and "Last log lines:" in body and "backup failed at stage snapshot" in body


def _break_an_index_entry(db: Database) -> None:
    """Change one URL in the bookmarks table page only: the unique index no longer matches the row."""
    with db.engine.connect() as conn:
        root = conn.exec_driver_sql("SELECT rootpage FROM sqlite_master WHERE name = 'bookmarks'").scalar()
        page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    _checkpoint(db)
    db.dispose()
    raw = bytearray(db.path.read_bytes())
    start = (root - 1) * page_size
    at = raw.index(b"https://example.org/alice/3", start, start + page_size)
    raw[at + 8] = ord("X")
    db.path.write_bytes(bytes(raw))


def test_a_copy_failing_integrity_check_is_never_published_and_mails_once(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database
) -> None:
    add_bookmarks(db, 5)
    settings = mail_settings()
    good = run_job(settings).entry
    _break_an_index_entry(db)
    with pytest.raises(StageError, match="integrity_check failed") as info:
        run_job(settings)
    assert info.value.stage == "verify"
    assert [e.data_path for e in list_backups(settings.backups_path)] == [good.data_path]
    assert _only_final_files(settings.backups_path) == sorted([good.data_path.name, good.manifest_path.name])
    [message] = smtp_inbox.messages
    assert "failed at verify" in message["Subject"]
    assert [(r.status, r.stage) for r in _runs(db)] == [("ok", "done"), ("failed", "verify")]


def test_stale_check_mails_once_and_a_fresh_one_not_at_all(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database
) -> None:
    settings = mail_settings()
    entry = run_job(settings).entry
    assert check_job(settings, now=entry.created_at + timedelta(hours=25))[0]
    assert smtp_inbox.messages == []
    ok, message = check_job(settings, now=entry.created_at + timedelta(hours=27))
    assert not ok and "limit 26 h" in message
    [mail] = smtp_inbox.messages
    assert "kura-backup check failed at stale" in mail["Subject"]
    assert message in mail.get_content()


def test_a_down_mail_server_still_logs_the_failure_and_exits_non_zero(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.db_path.parent.mkdir(parents=True)
    settings.db_path.write_bytes(b"garbage" * 1000)
    for name, value in {"DATA_DIR": str(settings.data_dir), "SMTP_HOST": "127.0.0.1",
                        "SMTP_PORT": str(free_port()), "SMTP_SECURITY": "none", "MAIL_TO": "ops@example.org"}.items():
        monkeypatch.setenv(f"KURA_{name}", value)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "backup failed at stage snapshot" in err
    assert "cannot send mail via 127.0.0.1" in err
    assert err.strip().splitlines()[-1].startswith("kura-backup run: snapshot failed:")


def test_without_mail_settings_a_failure_says_no_mail_was_sent(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "no failure mail sent" in err
    assert err.strip().splitlines()[-1] == f"kura-backup check: no verified backup in {settings.backups_path}"


def test_manifest_of_a_published_backup_matches_its_file(settings: Settings, db: Database) -> None:
    entry = run_job(settings).entry
    assert manifest_path_for(entry.data_path) == entry.manifest_path
    assert sqlite3.sqlite_version == entry.manifest.sqlite_version
