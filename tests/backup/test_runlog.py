from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backup import runlog
from backup.errors import StageError
from backup.job import run_job
from backup.manifest import list_backups
from backup.status import recent_runs
from common.db import Database, open_database
from common.settings import Settings

STARTED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_a_run_whose_start_was_not_recorded_is_recorded_whole_at_the_end(settings: Settings, db: Database) -> None:
    run_id = runlog.finish_run(settings, None, started_at=STARTED, status="failed", stage="snapshot", error="boom")
    with db.read_session() as session:
        [run] = recent_runs(session)
    assert (run.id, run.started_at, run.status, run.stage, run.error) == (run_id, STARTED, "failed", "snapshot", "boom")
    assert run.finished_at is not None and run.finished_at > STARTED


def test_recording_never_creates_a_database(settings: Settings, warnings_logged: list[str]) -> None:
    assert runlog.start_run(settings, started_at=STARTED) is None
    assert not settings.db_path.exists()
    assert any("does not exist" in line for line in warnings_logged)


def test_an_unmigrated_database_is_refused_and_the_refusal_goes_to_the_log_not_the_table(
    settings: Settings, warnings_logged: list[str]
) -> None:
    open_database(settings, create=True).dispose()  # an empty file: no tables at all
    with pytest.raises(StageError, match="no tables") as info:
        run_job(settings)
    assert info.value.stage == "guard"
    assert list_backups(settings.backups_path) == []
    assert any("could not record the run in backup_runs" in line for line in warnings_logged)
