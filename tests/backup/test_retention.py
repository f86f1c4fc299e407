from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backup.errors import StageError
from backup.manifest import list_backups
from backup.pipeline import run_backup
from backup.retention import select_keep
from common.db import Database
from common.settings import Settings, load_settings

RULES = {"daily": 7, "weekly": 4, "monthly": 12}


def nightly(first: date, last: date, hour: int = 2) -> list[datetime]:
    days = (last - first).days + 1
    return [datetime(first.year, first.month, first.day, hour, tzinfo=UTC) + timedelta(days=i) for i in range(days)]


def kept_dates(times: list[datetime], rules: dict[str, int]) -> list[date]:
    return sorted(t.date() for t in select_keep(times, rules))


def test_a_year_of_nightly_backups_keeps_seven_days_four_weeks_twelve_months() -> None:
    kept = kept_dates(nightly(date(2026, 1, 1), date(2026, 12, 31)), RULES)
    month_ends = [date(2026, m, d) for m, d in
                  [(1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30), (7, 31), (8, 31), (9, 30), (10, 31), (11, 30)]]
    weeks = [date(2026, 12, 13), date(2026, 12, 20)]  # Sundays ending ISO weeks 50 and 51; 52 and 53 are daily
    last_seven = [date(2026, 12, d) for d in range(25, 32)]
    assert kept == sorted(month_ends + weeks + last_seven)


def test_each_rule_keeps_the_newest_of_a_period_and_skips_periods_without_backups() -> None:
    times = [datetime(2026, 3, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, 23, tzinfo=UTC),
             datetime(2026, 3, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, 2, tzinfo=UTC)]
    kept = select_keep(times, {"daily": 3, "weekly": 0, "monthly": 0})
    assert sorted(kept) == times[1:]  # Mar 2 and 4-8 had no run, so they do not use up the three days
    both = select_keep(times, {"daily": 1, "weekly": 2, "monthly": 1})
    assert both == {times[3]: ["daily", "weekly", "monthly"], times[2]: ["weekly"]}


def test_periods_are_utc_calendar_days_whatever_the_offset_of_the_time() -> None:
    tokyo_morning = datetime(2026, 5, 2, 1, tzinfo=ZoneInfo("Asia/Tokyo"))  # 16:00 UTC on May 1
    late = datetime(2026, 5, 1, 23, 30, tzinfo=UTC)
    assert list(select_keep([late, tokyo_morning], {"daily": 2})) == [late]


def _nights(settings: Settings, first: date, last: date) -> list[Path]:
    for when in nightly(first, last):
        run_backup(settings, clock=lambda when=when: when)
    return [e.data_path for e in list_backups(settings.backups_path)]


def test_real_nightly_runs_over_a_simulated_calendar_keep_exactly_the_expected_files(
    settings: Settings, db: Database
) -> None:
    settings = load_settings(data_dir=settings.data_dir, backup_keep_daily=3, backup_keep_weekly=2,
                             backup_keep_monthly=2)
    left = _nights(settings, date(2026, 1, 20), date(2026, 2, 8))
    kept = [p.name[5:13] for p in left]
    # Feb 6-8 daily; Feb 1 ends ISO week 5 (Feb 8 ends week 6); Jan 31 is January's newest.
    assert kept == ["20260131", "20260201", "20260206", "20260207", "20260208"]
    assert not [p for p in settings.backups_path.iterdir() if p.name.startswith(".tmp-")]


def test_with_every_rule_at_zero_the_newest_verified_backup_survives(settings: Settings, db: Database) -> None:
    settings = load_settings(data_dir=settings.data_dir, backup_keep_daily=0, backup_keep_weekly=0,
                             backup_keep_monthly=0)
    left = _nights(settings, date(2026, 6, 1), date(2026, 6, 3))
    assert [p.name[5:13] for p in left] == ["20260603"]


def test_a_failed_run_prunes_nothing(settings: Settings, db: Database) -> None:
    settings = load_settings(data_dir=settings.data_dir, backup_keep_daily=1, backup_keep_weekly=0,
                             backup_keep_monthly=0)
    before = _nights(settings, date(2026, 6, 1), date(2026, 6, 1))
    db.dispose()
    for name in ["kura.db-wal", "kura.db-shm"]:
        (settings.data_dir / name).unlink(missing_ok=True)
    settings.db_path.write_bytes(b"not a database" * 100)
    with pytest.raises(StageError):
        run_backup(settings, clock=lambda: datetime(2026, 6, 9, tzinfo=UTC))
    assert [e.data_path for e in list_backups(settings.backups_path)] == before


def test_a_kept_backup_is_never_pruned_and_takes_no_nightly_ones_place(settings: Settings, db: Database) -> None:
    settings = load_settings(data_dir=settings.data_dir, backup_keep_daily=2, backup_keep_weekly=0,
                             backup_keep_monthly=0)

    def run_at(day: int, hour: int, *, keep: bool = False) -> None:
        run_backup(settings, clock=lambda: datetime(2026, 6, day, hour, tzinfo=UTC), keep=keep)

    def left() -> list[str]:
        return [e.data_path.name[5:16] + ("+kept" if e.manifest.kept else "")
                for e in list_backups(settings.backups_path)]

    run_at(1, 2)
    run_at(1, 15, keep=True)  # a manual backup the same day: the night's one stays
    assert left() == ["20260601T02", "20260601T15+kept"]
    for day in (2, 3, 4):
        run_at(day, 2)
    assert left() == ["20260601T15+kept", "20260603T02", "20260604T02"]
