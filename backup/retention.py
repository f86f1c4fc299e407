"""restic-style retention: each rule keeps its newest backup in each of its last N periods.

Periods are UTC calendar days, ISO weeks and months, counted among the periods that HAVE backups (as
restic does), so a month without runs does not eat into keep_monthly. The rules are ORed. Pruning runs
only after a successful, verified run, and never removes the newest verified backup. Backups taken
with ``--keep`` stand outside the rules: never deleted, and never taking the place of a nightly one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime

from loguru import logger

from backup.manifest import Entry
from common.files import fsync_dir, remove_quietly
from common.settings import Settings

Period = Callable[[datetime], Hashable]

PERIODS: dict[str, Period] = {
    "daily": lambda t: t.date(),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
}


def rules_from(settings: Settings) -> dict[str, int]:
    return {"daily": settings.backup_keep_daily, "weekly": settings.backup_keep_weekly,
            "monthly": settings.backup_keep_monthly}


def select_keep(times: Sequence[datetime], rules: dict[str, int]) -> dict[datetime, list[str]]:
    """Map each kept time to the rules that keep it; times not in the result are to be pruned."""
    kept: dict[datetime, list[str]] = {}
    left = dict(rules)
    last: dict[str, Hashable] = {}
    for when in sorted(times, reverse=True):
        utc = when.astimezone(UTC)
        for rule, period_of in PERIODS.items():
            period = period_of(utc)
            if left.get(rule, 0) > 0 and last.get(rule) != period:
                last[rule] = period
                left[rule] -= 1
                kept.setdefault(when, []).append(rule)
    return kept


def prune(settings: Settings, entries: Sequence[Entry]) -> list[Entry]:
    """Delete the backups no rule keeps; return what was removed."""
    verified = [e for e in entries if e.manifest.verified]
    if not verified:
        return []
    kept = select_keep([e.created_at for e in entries if not e.manifest.kept], rules_from(settings))
    newest = max(verified, key=lambda e: e.created_at)
    removed = []
    for entry in entries:
        if entry.created_at in kept or entry is newest or entry.manifest.kept:
            continue
        # Manifest first: a crash here leaves a manifest-less file, which is not a backup and is
        # swept by the next run, never a manifest pointing at nothing.
        remove_quietly(entry.manifest_path)
        remove_quietly(entry.data_path)
        removed.append(entry)
        logger.info("pruned backup {}", entry.data_path.name)
    if removed:
        fsync_dir(settings.backups_path)
    return removed
