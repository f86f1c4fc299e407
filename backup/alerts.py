"""Telling people: failure mail with the last log lines, and Sentry cron check-ins."""

from __future__ import annotations

import socket
from collections import deque
from typing import Any

import sentry_sdk
from loguru import logger
from sentry_sdk.crons import capture_checkin

from backup.status import newest_verified_backup
from common.mail import try_send_mail
from common.settings import Settings


class LogTail:
    """An in-memory loguru sink holding the last lines of this run, for the failure mail."""

    def __init__(self, size: int = 40) -> None:
        self.lines: deque[str] = deque(maxlen=size)
        self._id: int | None = None

    def _sink(self, message: Any) -> None:
        self.lines.append(str(message).rstrip("\n"))

    def __enter__(self) -> LogTail:
        fmt = "{time:YYYY-MM-DD HH:mm:ss} {level} {message}"
        self._id = logger.add(self._sink, level="DEBUG", format=fmt, colorize=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._id is not None:
            logger.remove(self._id)


def failure_mail(settings: Settings, *, job: str, stage: str, error: str, log_lines: list[str]) -> tuple[str, str]:
    host = socket.gethostname()
    newest = newest_verified_backup(settings)
    good = (f"{newest.path} ({newest.created_at:%Y-%m-%d %H:%M} UTC, {newest.size_bytes:,} bytes)"
            if newest else "none: there is no verified backup")
    subject = f"[kura] {host}: {job} failed at {stage}"
    body = "\n".join([
        f"{job} failed on {host} at stage '{stage}'.", "", f"Error: {error}", "",
        f"Newest good backup: {good}", "", "Last log lines:", *log_lines, "",
    ])
    return subject, body


def send_failure(settings: Settings, *, job: str, stage: str, error: str, log_lines: list[str]) -> bool:
    """Mail the failure; a down or missing mail server is logged and never hides the failure."""
    if not settings.mail_configured:
        logger.warning("no failure mail sent: set KURA_SMTP_HOST and KURA_MAIL_TO to get one")
        return False
    subject, body = failure_mail(settings, job=job, stage=stage, error=error, log_lines=log_lines)
    return try_send_mail(settings, subject=subject, body=body)


def checkin(settings: Settings, status: str, *, check_in_id: str | None = None,
            duration: float | None = None) -> str | None:
    """A Sentry cron check-in (in_progress, ok, error) when Sentry is on, so a missing run shows there."""
    if not sentry_sdk.get_client().is_active():
        return None
    return capture_checkin(monitor_slug=settings.sentry_backup_monitor_slug, check_in_id=check_in_id,
                           status=status, duration=duration)
