"""`kura-backup run` and `check` with everything around the work: logs, run record, mail, Sentry, sd_notify."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sentry_sdk
from loguru import logger

from backup import runlog
from backup.alerts import LogTail, checkin, send_failure
from backup.errors import StageError
from backup.pipeline import Clock, RunResult, run_backup
from backup.status import check_staleness
from common.notify import Notifier
from common.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


def _success_line(result: RunResult) -> None:
    m = result.entry.manifest
    ratio = m.compressed_size / m.source_size if m.source_size else 0.0
    logger.info(
        "backup ok: {} {:,} bytes ({:.0%} of {:,}), {} rows in {} tables, {:.2f} s, pruned {}{}",
        m.file, m.compressed_size, ratio, m.source_size, sum(m.row_counts.values()), len(m.row_counts),
        result.duration_s, len(result.pruned), "; kept: retention never deletes it" if m.kept else "",
    )


def _report_failure(settings: Settings, exc: Exception, err: StageError, *, run_id: int | None,
                    started: datetime, notifier: Notifier, tail: LogTail) -> None:
    logger.error("backup failed at stage {}: {}", err.stage, err.message)
    sentry_sdk.capture_exception(exc)
    runlog.finish_run(settings, run_id, started_at=started, status="failed", stage=err.stage, error=err.message)
    notifier.status(f"backup failed at {err.stage}")
    send_failure(settings, job="kura-backup run", stage=err.stage, error=err.message, log_lines=list(tail.lines))


def run_job(settings: Settings, *, clock: Clock = _now, notifier: Notifier | None = None,
            force: bool = False, keep: bool = False) -> RunResult:
    """One backup run; on failure log, record, mail and re-raise a StageError."""
    notifier = notifier or Notifier()
    started, t0 = clock(), time.monotonic()
    current: dict[str, str] = {"stage": "prepare"}
    run_id: int | None = None

    def hook(stage: str) -> None:
        current["stage"] = stage
        notifier.status(f"backup: {stage}")

    def on_locked() -> None:
        # Recorded only once the lock is ours: every other `running` row is then a dead run, and a
        # run refused by the lock never shows as running (its failure is recorded whole below).
        nonlocal run_id
        run_id = runlog.start_run(settings, started_at=started, holds_lock=True)

    with LogTail() as tail:
        check_in = checkin(settings, "in_progress")
        try:
            result = run_backup(settings, clock=clock, hook=hook, force=force, keep=keep, on_locked=on_locked)
        except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
            err = exc if isinstance(exc, StageError) else StageError(current["stage"], f"{type(exc).__name__}: {exc}")
            checkin(settings, "error", check_in_id=check_in, duration=time.monotonic() - t0)
            _report_failure(settings, exc, err, run_id=run_id, started=started, notifier=notifier, tail=tail)
            if err is exc:
                raise
            raise err from exc
    _success_line(result)
    m = result.entry.manifest
    runlog.finish_run(settings, run_id, started_at=started, status="ok", stage="done", file=m.file,
                      size_bytes=m.compressed_size, verified=m.verified)
    checkin(settings, "ok", check_in_id=check_in, duration=result.duration_s)
    notifier.status(f"backup done: {m.file}")
    return result


def check_job(settings: Settings, *, now: datetime | None = None) -> tuple[bool, str]:
    """The staleness check; a stale result is logged at ERROR and mailed."""
    ok, message = check_staleness(settings, now=now)
    if ok:
        logger.info("backup check: {}", message)
        return ok, message
    logger.error("backup check failed: {}", message)
    send_failure(settings, job="kura-backup check", stage="stale", error=message, log_lines=[])
    return ok, message
