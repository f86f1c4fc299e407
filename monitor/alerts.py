"""Alert delivery: log every event, keep the history, and mail through a queue that survives outages.

Events and their mail are written in one transaction, then a separate thread hands queued mail to
common.mail. A mail server that is down (or slow to time out) never delays sampling; the message
stays queued in metrics.db and is retried every cycle, in order, until it goes.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

from loguru import logger

from common.dberrors import StorageUnavailable
from common.mail import MailError, send_mail, try_send_mail
from common.settings import Settings
from common.sqlite import sqlite3
from monitor.metricsdb import doors
from monitor.rules import AlertEvent, AlertState
from monitor.store import MetricsFile, to_ms

TITLES = {"alert": "ALERT", "reminder": "STILL FAILING", "recovery": "RECOVERED"}


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def compose(event: AlertEvent, *, host: str) -> tuple[str, str]:
    subject = f"[kura {host}] {TITLES[event.kind]} {event.key}: {event.message}"
    body = "\n".join([
        f"{TITLES[event.kind]}: {event.message}",
        "",
        f"rule:     {event.rule}",
        f"subject:  {event.key}",
        f"severity: {event.severity}",
        f"value:    {event.value if event.value is not None else '-'}",
        f"time:     {event.at.astimezone(UTC).isoformat(timespec='seconds')}",
        f"host:     {host}",
        "",
        "Sent by kura-monitor. History: GET /api/v1/system/alerts.",
    ])
    return subject, body


class AlertLog:
    """History, active alerts (so a restart neither repeats an alert nor loses its recovery), mail queue."""

    def __init__(self, db: MetricsFile, settings: Settings) -> None:
        self.db, self.settings = db, settings  # db as given: a test's common.db Database stays one
        self._doors = doors(db)
        self.host = socket.gethostname() or "localhost"
        self._warned_unconfigured = False

    def record(self, events: Iterable[AlertEvent], states: dict[str, AlertState]) -> int:
        """Log, store and queue ``events``; if metrics.db cannot take them (a full disk is exactly when
        alerts matter), mail them directly instead of losing them."""
        events = list(events)
        if not events:
            return 0
        queue = self.settings.mail_configured
        if not queue and not self._warned_unconfigured:
            logger.warning("alerts are not mailed: set KURA_SMTP_HOST and KURA_MAIL_TO")
            self._warned_unconfigured = True
        for event in events:
            log = logger.info if event.kind == "recovery" else logger.warning
            log("{} {} [{}] {}", TITLES[event.kind].lower(), event.key, event.rule, event.message)
        try:
            with self._doors.write() as conn:
                for event in events:
                    self._store(conn, event, states.get(event.key), queue=queue)
        except (sqlite3.Error, StorageUnavailable, OSError) as exc:
            logger.error("cannot store alerts in {} ({}); mailing them directly", self.db.path, exc)
            for event in events if queue else ():
                subject, body = compose(event, host=self.host)
                try_send_mail(self.settings, subject=subject, body=body)
        return len(events)

    def _store(self, conn: sqlite3.Connection, event: AlertEvent, state: AlertState | None, *, queue: bool) -> None:
        at = to_ms(event.at)
        conn.execute(
            "INSERT INTO alerts (at, kind, rule, key, severity, message, value) "
            "VALUES (:at, :kind, :rule, :key, :sev, :msg, :value)", {"at": at, "kind": event.kind, "rule": event.rule, "key": event.key, "sev": event.severity,
            "msg": event.message, "value": event.value})
        self._save_state(conn, event, state)
        if queue:
            subject, body = compose(event, host=self.host)
            conn.execute("INSERT INTO outbox (created_at, subject, body) VALUES (:at, :s, :b)",
                         {"at": at, "s": subject, "b": body})

    def _save_state(self, conn: sqlite3.Connection, event: AlertEvent, state: AlertState | None) -> None:
        if event.kind == "recovery" or state is None or state.fired_at is None:
            conn.execute("DELETE FROM active_alerts WHERE key = :k", {"k": event.key})
            return
        assert state.last_sent_at is not None
        conn.execute(
            "INSERT OR REPLACE INTO active_alerts (key, rule, severity, fired_at, last_sent_at, message) "
            "VALUES (:k, :r, :s, :f, :l, :m)", {"k": event.key, "r": state.rule, "s": state.severity, "f": to_ms(state.fired_at),
            "l": to_ms(state.last_sent_at), "m": state.message})

    def load_active(self) -> dict[str, AlertState]:
        """Active alerts from a previous run: fired, so not repeated, and recovered only after a full
        window of samples in this run (the engine counts it)."""
        with self._doors.read() as conn:
            rows = conn.execute(
                "SELECT key, rule, severity, fired_at, last_sent_at, message FROM active_alerts").fetchall()
        return {key: AlertState(rule=rule, severity=severity, fired_at=_from_ms(fired_at),
                                last_sent_at=_from_ms(last_sent_at), message=message)
                for key, rule, severity, fired_at, last_sent_at, message in rows}

    def deliver_pending(self) -> int:
        """Send queued mail oldest first; stop at the first failure (the server is down). Returns sent."""
        with self._doors.read() as conn:
            queued = conn.execute(
                "SELECT id, subject, body, attempts FROM outbox WHERE sent_at IS NULL ORDER BY id").fetchall()
        sent = 0
        for mail_id, subject, body, attempts in queued:
            try:
                send_mail(self.settings, subject=subject, body=body)
            except MailError as exc:
                with self._doors.write() as conn:
                    conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = :e WHERE id = :i",
                                 {"e": str(exc), "i": mail_id})
                # Say it once per message, not once per retry cycle, or a long outage floods the journal.
                log = logger.error if attempts == 0 else logger.debug
                log("{}; {} alert mail(s) stay queued and are retried", exc, len(queued) - sent)
                break
            with self._doors.write() as conn:
                conn.execute("UPDATE outbox SET sent_at = :t, attempts = attempts + 1 WHERE id = :i",
                             {"t": to_ms(datetime.now(UTC)), "i": mail_id})
            sent += 1
        return sent


class Deliverer:
    """A thread that flushes the mail queue every ``interval_s`` and whenever it is kicked."""

    def __init__(self, log: AlertLog, *, interval_s: float) -> None:
        self.log, self.interval_s = log, interval_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="kura-alert-mail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 0.5) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.log.deliver_pending()
            except Exception:  # noqa: BLE001 - the queue is in SQLite; try again next cycle
                logger.exception("alert mail delivery failed; retrying next cycle")
            self._wake.wait(self.interval_s)
            self._wake.clear()
