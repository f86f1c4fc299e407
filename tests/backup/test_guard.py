"""The source guard: an emptied, schemaless or gutted database is never backed up as good, and
never costs an earlier good backup."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from backup.cli import main
from backup.errors import StageError
from backup.job import run_job
from backup.manifest import list_backups
from backup.status import check_staleness
from backup.verify import verify_file
from common.db import Database, open_database
from domain.models import BackupRun, Bookmark, Tag, User
from common.settings import Settings
from tests.backup.conftest import add_bookmarks
from tests.doubles import SmtpInbox


pytestmark = pytest.mark.usefixtures("restore_logging")


def _delete_bookmarks(db: Database, count: int) -> None:
    with db.write_session() as session:
        ids = list(session.scalars(select(Bookmark.id).order_by(Bookmark.id).limit(count)))
        session.execute(delete(Bookmark).where(Bookmark.id.in_(ids)))


def _statuses(db: Database) -> list[tuple[str, str | None]]:
    with db.read_session() as session:
        return [(r.status, r.stage) for r in session.scalars(select(BackupRun).order_by(BackupRun.id))]


def _truncate(db: Database) -> None:
    with db.engine.connect() as conn:  # no -wal left to rebuild the file from: it is truly empty
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    os.truncate(db.path, 0)


def _mail_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, port: int) -> None:
    for name, value in {"DATA_DIR": str(settings.data_dir), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                        "SMTP_SECURITY": "none", "MAIL_TO": "ops@example.org"}.items():
        monkeypatch.setenv(f"KURA_{name}", value)


def test_a_database_truncated_to_zero_bytes_is_refused_mailed_and_the_good_backup_is_kept(
    settings: Settings, db: Database, smtp_inbox: SmtpInbox, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_bookmarks(db, 30)
    good = run_job(settings).entry
    _truncate(db)
    _mail_env(monkeypatch, settings, smtp_inbox.port)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        f"kura-backup run: guard failed: database {settings.db_path} is empty (0 bytes): "
        "there is nothing to back up; earlier backups are kept")
    [mail] = smtp_inbox.messages
    assert "kura-backup run failed at guard" in mail["Subject"] and good.data_path.name in mail.get_content()
    assert settings.db_path.stat().st_size == 0  # nothing, not even a header, was written into it
    assert [e.data_path for e in list_backups(settings.backups_path)] == [good.data_path]
    verify_file(good.data_path)
    # check answers about the good backup, which is still there; no backup of the empty file exists
    assert main(["check"]) == 0
    assert good.data_path.name in capsys.readouterr().out


def test_a_database_that_lost_most_bookmarks_is_refused_recorded_as_failed_and_mailed(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database
) -> None:
    settings = mail_settings()
    add_bookmarks(db, 100)
    good = run_job(settings).entry
    _delete_bookmarks(db, 60)
    with pytest.raises(StageError, match=r"lost more than 50% of the rows of bookmarks 100 -> 40") as info:
        run_job(settings)
    assert info.value.stage == "guard" and "--force" in info.value.message
    assert _statuses(db) == [("ok", "done"), ("failed", "guard")]
    [mail] = smtp_inbox.messages
    assert "failed at guard" in mail["Subject"]
    assert [e.data_path for e in list_backups(settings.backups_path)] == [good.data_path]
    assert not [p for p in settings.backups_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_threshold_from_the_setting_and_small_tables_let_ordinary_deletions_pass(
    mail_settings: Callable[..., Settings], smtp_inbox: SmtpInbox, db: Database
) -> None:
    add_bookmarks(db, 100)
    with db.write_session() as session:
        owner = session.scalars(select(User)).one()
        session.add_all([Tag(user_id=owner.id, name=n) for n in ("a", "b", "c")])
    run_job(mail_settings())
    _delete_bookmarks(db, 60)
    with db.write_session() as session:
        session.execute(delete(Tag).where(Tag.name != "a"))  # 3 tags -> 1: below the guard's minimum
    entry = run_job(mail_settings(backup_shrink_limit_percent=70.0)).entry  # 60% lost < 70%
    assert entry.manifest.row_counts["bookmarks"] == 40 and entry.manifest.row_counts["tags"] == 1
    assert smtp_inbox.messages == []


def test_an_fts_index_merging_its_segments_does_not_trip_the_guard(settings: Settings, db: Database) -> None:
    with db.write_session() as session:  # no merging while we add: one FTS segment per transaction
        for option, value in (("automerge", 0), ("crisismerge", 1000)):
            session.connection().exec_driver_sql(
                f"INSERT INTO bookmarks_fts(bookmarks_fts, rank) VALUES ('{option}', {value})")
    for _ in range(40):
        add_bookmarks(db, 1)
    before = run_job(settings).entry.manifest.row_counts["bookmarks_fts_data"]
    with db.write_session() as session:
        session.connection().exec_driver_sql("INSERT INTO bookmarks_fts(bookmarks_fts) VALUES ('optimize')")
    after = run_job(settings).entry.manifest.row_counts["bookmarks_fts_data"]
    assert before >= 20 and after * 2 < before  # the shadow table lost over half its rows: no data did


def test_force_accepts_a_gutted_source_keeps_it_and_prunes_no_earlier_backup(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KURA_BACKUP_KEEP_DAILY", "1")  # a normal run today would prune the older one
    add_bookmarks(db, 100)
    assert main(["run"]) == 0
    _delete_bookmarks(db, 90)
    assert main(["run"]) == 1
    assert main(["run", "--force"]) == 0
    capsys.readouterr()
    first, forced = list_backups(settings.backups_path)
    assert first.manifest.row_counts["bookmarks"] == 100
    assert forced.manifest.row_counts["bookmarks"] == 10
    assert forced.manifest.extra["guard"] == "forced" and "bookmarks 100 -> 10" in forced.manifest.extra["guard_reason"]
    assert _statuses(db) == [("ok", "done"), ("failed", "guard"), ("ok", "done")]
    # The accepted state is the new baseline: the next normal run passes and prunes as usual.
    assert main(["run"]) == 0
    assert [e.manifest.row_counts["bookmarks"] for e in list_backups(settings.backups_path)] == [10]


def test_check_fails_when_the_newest_backup_holds_no_kura_data(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    open_database(settings, create=True).dispose()  # a database file with no tables at all
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    assert main(["run"]) == 1
    assert "guard failed: the database has no tables" in capsys.readouterr().err
    assert main(["run", "--force"]) == 0
    [entry] = list_backups(settings.backups_path)
    assert entry.manifest.verified
    ok, message = check_staleness(settings)
    assert not ok and message == (f"newest verified backup {entry.data_path.name} holds no Kura data: "
                                  "the database has no tables (an empty database)")
    assert main(["check"]) == 1
