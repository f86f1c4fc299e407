"""`kura notify-failure UNIT` against a real SMTP server (aiosmtpd on 127.0.0.1).

systemd itself cannot run here (tests/system boots a real one); `systemctl` and `journalctl` are
small scripts on PATH that answer like systemd 252 from files the test writes, so every decision the
command makes (what to mail, whether it was mailed already) runs for real.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from loguru import logger

from cli import main
from common.mail import send_mail
from common.unit_failure import PROGRAM_MAILED, WE_MAILED
from tests.doubles import SmtpInbox
from tests.support import free_port

UNIT = "kura-backup.service"

SYSTEMCTL = """#!/bin/sh
echo "$@" >> "$STUBS/calls"
case "$1" in
  show) cat "$STUBS/show" ;;
  status) cat "$STUBS/status"; exit 3 ;;
esac
"""
# journalctl: the failure entry, the lines of one run, this command's own record, or the tail.
JOURNALCTL = """#!/bin/sh
echo "$@" >> "$STUBS/calls"
case "$*" in
  *MESSAGE_ID=*) cat "$STUBS/failure" ;;
  _SYSTEMD_INVOCATION_ID=*) id="${1#_SYSTEMD_INVOCATION_ID=}"; cat "$STUBS/run-$id" 2>/dev/null || true ;;
  *--grep*) for last; do :; done; grep -F -- "$last" "$STUBS/ours" || exit 1 ;;
  *) cat "$STUBS/tail" ;;
esac
"""


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stub systemctl/journalctl on PATH, answering for a kura-backup.service that timed out."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in (("systemctl", SYSTEMCTL), ("journalctl", JOURNALCTL)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(stat.S_IRWXU)
    (stubs / "show").write_text(f"Id={UNIT}\nLoadState=loaded\nActiveState=failed\nResult=timeout\n"
                                "InvocationID=run2\nNRestarts=0\n")
    (stubs / "status").write_text(f"x {UNIT} - Kura nightly backup\n     Active: failed (Result: timeout)\n")
    (stubs / "failure").write_text('{"UNIT_RESULT":"timeout","INVOCATION_ID":"run2"}\n')
    (stubs / "tail").write_text("2026-11-23T03:00:01 vm kura-backup[42]: kura-backup: snapshot stage started\n")
    (stubs / "ours").write_text("")
    monkeypatch.setenv("STUBS", str(stubs))
    monkeypatch.setenv("PATH", f"{stubs}:/usr/bin:/bin")
    return stubs


@pytest.fixture
def mail_env(smtp_inbox: SmtpInbox, monkeypatch: pytest.MonkeyPatch) -> SmtpInbox:
    for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_inbox.port), "SMTP_SECURITY": "none",
                       "MAIL_TO": "ops@example.org", "SMTP_TIMEOUT_S": "5"}.items():
        monkeypatch.setenv(f"KURA_{key}", value)
    return smtp_inbox


def test_a_failed_unit_is_mailed_with_its_result_status_and_last_journal_lines(
        systemd: Path, mail_env: SmtpInbox, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["notify-failure", UNIT]) == 0
    [mail] = mail_env.messages
    assert mail["Subject"].startswith(f"[kura] {UNIT} failed on ") and mail["Subject"].endswith("(timeout)")
    body = mail.get_content()
    assert "with result 'timeout' (invocation run2)" in body
    assert "Active: failed (Result: timeout)" in body
    assert "kura-backup: snapshot stage started" in body
    assert "mailed the failure of kura-backup.service to ops@example.org" in capfd.readouterr().out


def test_no_mail_when_the_program_already_mailed_about_that_run(systemd: Path, mail_env: SmtpInbox) -> None:
    (systemd / "run-run2").write_text(f"kura-backup: backup failed at stage write\nkura-backup: {PROGRAM_MAILED}ops\n")
    assert main(["notify-failure", UNIT]) == 0
    assert mail_env.messages == []


def test_a_run_is_mailed_once_however_often_systemd_asks(systemd: Path, mail_env: SmtpInbox,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    # Record our own log line the way the journal would (the command logs it to stderr).
    for _ in range(2):
        assert main(["notify-failure", UNIT]) == 0
        with (systemd / "ours").open("a") as ours:
            ours.write(capfd.readouterr().err)
    assert len(mail_env.messages) == 1
    assert WE_MAILED + "run2" in (systemd / "ours").read_text()


def test_a_later_failed_run_is_mailed_again(systemd: Path, mail_env: SmtpInbox) -> None:
    (systemd / "ours").write_text(f"kura: {WE_MAILED}run1 of {UNIT}\n")
    assert main(["notify-failure", UNIT]) == 0
    assert len(mail_env.messages) == 1


def test_the_failed_run_is_named_even_after_a_restart_began_a_new_one(systemd: Path, mail_env: SmtpInbox) -> None:
    (systemd / "show").write_text(f"Id={UNIT}\nLoadState=loaded\nActiveState=active\nResult=success\n"
                                  "InvocationID=run3\n")
    (systemd / "failure").write_text('{"UNIT_RESULT":"watchdog","INVOCATION_ID":"run2"}\n')
    assert main(["notify-failure", UNIT]) == 0
    [mail] = mail_env.messages
    assert mail["Subject"].endswith("(watchdog)") and "(invocation run2)" in mail.get_content()


def test_without_a_failure_entry_the_unit_state_is_reported(systemd: Path, mail_env: SmtpInbox) -> None:
    (systemd / "failure").write_text("")
    assert main(["notify-failure", UNIT]) == 0
    assert mail_env.messages[0]["Subject"].endswith("(timeout)")


def test_a_down_mail_server_fails_the_command_with_one_line(
        systemd: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KURA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KURA_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("KURA_SMTP_SECURITY", "none")
    monkeypatch.setenv("KURA_MAIL_TO", "ops@example.org")
    assert main(["notify-failure", UNIT]) == 1
    err = capfd.readouterr().err.strip().splitlines()
    assert err[-1].startswith("kura: cannot send mail via 127.0.0.1:")


def test_without_mail_settings_nothing_is_sent_and_that_is_said(
        systemd: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["notify-failure", UNIT]) == 0
    assert "set KURA_SMTP_HOST and KURA_MAIL_TO" in capfd.readouterr().out
    assert not (systemd / "calls").exists()


def test_an_unknown_unit_is_refused(systemd: Path, mail_env: SmtpInbox, capfd: pytest.CaptureFixture[str]) -> None:
    (systemd / "show").write_text("Id=nope.service\nLoadState=not-found\n")
    assert main(["notify-failure", "nope.service"]) == 1
    assert "kura: no such unit: nope.service" in capfd.readouterr().err
    assert mail_env.messages == []


def test_without_systemctl_the_command_says_so(
        systemd: Path, mail_env: SmtpInbox, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    (systemd / "systemctl").unlink()
    monkeypatch.setenv("PATH", str(systemd))
    assert main(["notify-failure", UNIT]) == 1
    assert "kura: cannot run systemctl" in capfd.readouterr().err


def test_a_failing_systemctl_is_reported_with_its_message(
        systemd: Path, mail_env: SmtpInbox, capfd: pytest.CaptureFixture[str]) -> None:
    (systemd / "systemctl").write_text("#!/bin/sh\necho 'Failed to connect to bus: No such file' >&2\nexit 1\n")
    assert main(["notify-failure", UNIT]) == 1
    assert "Failed to connect to bus" in capfd.readouterr().err


def test_the_mail_module_logs_the_line_notify_failure_looks_for(smtp_inbox: SmtpInbox) -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m.record["message"])), level="INFO")
    try:
        send_mail(smtp_inbox.settings(), subject="s", body="b")
    finally:
        logger.remove(sink)
    assert any(line.startswith(PROGRAM_MAILED) for line in lines)


def test_a_unit_that_never_ran_is_mailed_without_looking_for_earlier_mail(systemd: Path, mail_env: SmtpInbox) -> None:
    (systemd / "failure").write_text("")
    (systemd / "show").write_text(f"Id={UNIT}\nLoadState=loaded\nActiveState=failed\nResult=start-limit-hit\n"
                                  "InvocationID=\n")
    assert main(["notify-failure", UNIT]) == 0
    assert mail_env.messages[0]["Subject"].endswith("(start-limit-hit)")
    assert "_SYSTEMD_INVOCATION_ID" not in (systemd / "calls").read_text()
