"""`kura notify-failure UNIT`: mail what systemd knows about a failed Kura unit, once per failure.

systemd starts kura-notify-failure@UNIT.service when a Kura unit fails (OnFailure=) and, for the
services that restart themselves, after every abnormal exit (ExecStopPost=). That catches what a
program cannot report itself: a crash, an OOM or watchdog kill, a timeout. The mail carries the
unit's state, `systemctl status` and its last journal lines.

One mail per failed run (invocation): none when the program already mailed about that run itself
(the backup mails its own failures), none when this command already did (OnFailure= and
ExecStopPost= may both fire for the last crash of a crash loop). The journal is the record of both.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from loguru import logger

from common.mail import send_mail
from common.settings import Settings

PROPERTIES = (
    "Id", "Description", "LoadState", "ActiveState", "SubState", "Result", "ExecMainCode", "ExecMainStatus",
    "NRestarts", "InvocationID", "StateChangeTimestamp",
)
# What common.mail logs after handing a message over (tests/deploy pins the two together).
PROGRAM_MAILED = "mail sent to "
# What this command logs after mailing; searched for in its own journal to mail only once.
WE_MAILED = "failure mail sent for invocation "
NOTIFY_TEMPLATE = "kura-notify-failure@{unit}.service"
# systemd's structured "UNIT: Failed with result 'RESULT'." entry (fields UNIT_RESULT, INVOCATION_ID):
# it names the failed run even when Restart= has started a new one by the time we look.
FAILURE_MESSAGE_ID = "d9b373ed55a64feb8242e02dbe79a49c"


class UnitFailureError(RuntimeError):
    """systemctl or journalctl could not tell us about the unit."""


@dataclass(frozen=True)
class Tools:
    """The systemd command-line tools, by name on PATH."""

    systemctl: str = "systemctl"
    journalctl: str = "journalctl"

    def run(self, argv: Sequence[str], *, ok_codes: Sequence[int] = (0,)) -> str:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UnitFailureError(f"cannot run {argv[0]}: {exc}") from exc
        if done.returncode not in ok_codes:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise UnitFailureError(f"{' '.join(argv[:2])} failed: {detail[-1] if detail else done.returncode}")
        return done.stdout


@dataclass(frozen=True)
class UnitReport:
    unit: str
    properties: dict[str, str]
    status: str
    journal: str
    result: str  # of the failed run: exit-code, signal, watchdog, timeout, oom-kill, start-limit-hit...
    invocation: str  # of the failed run; "" when systemd never logged one

    def subject(self, host: str) -> str:
        return f"[kura] {self.unit} failed on {host} ({self.result})"

    def body(self, host: str) -> str:
        facts = "\n".join(f"  {key}: {self.properties.get(key, '')}" for key in PROPERTIES)
        return (
            f"systemd reports that {self.unit} failed on {host} with result '{self.result}' "
            f"(invocation {self.invocation or 'unknown'}).\n\nIts state now:\n{facts}\n\n"
            f"--- systemctl status {self.unit}\n{self.status.rstrip()}\n\n"
            f"--- last journal lines (journalctl -u {self.unit})\n{self.journal.rstrip()}\n\n"
            f"More: journalctl -u {self.unit} -p err    systemctl status {self.unit}\n"
        )


def collect(unit: str, *, lines: int, tools: Tools) -> UnitReport:
    shown = tools.run([tools.systemctl, "show", unit, "--no-pager", "-p", ",".join(PROPERTIES)])
    properties = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    if properties.get("LoadState") == "not-found":
        raise UnitFailureError(f"no such unit: {unit}")
    # `systemctl status` exits 3 for a unit that is not running, which is the usual case here.
    status = tools.run([tools.systemctl, "status", unit, "--no-pager", "--full", "--lines=0"],
                       ok_codes=(0, 3, 4))
    journal = tools.run([tools.journalctl, "-u", unit, "-n", str(lines), "--no-pager", "-o", "short-iso"])
    result, invocation = last_failure(unit, tools=tools)
    return UnitReport(unit=unit, properties=properties, status=status, journal=journal,
                      result=result or properties.get("Result") or "failed",
                      invocation=invocation or properties.get("InvocationID", ""))


def last_failure(unit: str, *, tools: Tools) -> tuple[str, str]:
    """(result, invocation id) of the unit's newest failure entry in the journal, or ("", "")."""
    out = tools.run([tools.journalctl, f"UNIT={unit}", f"MESSAGE_ID={FAILURE_MESSAGE_ID}", "-n", "1",
                     "--no-pager", "-o", "json", "--output-fields=UNIT_RESULT,INVOCATION_ID"])
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        return "", ""
    entry = json.loads(lines[-1])
    return str(entry.get("UNIT_RESULT", "")), str(entry.get("INVOCATION_ID", ""))


def already_reported(report: UnitReport, *, tools: Tools) -> str | None:
    """Why no mail is due for this run, or None when one is."""
    if not report.invocation:
        return None
    run_lines = tools.run([tools.journalctl, f"_SYSTEMD_INVOCATION_ID={report.invocation}",
                           "-o", "cat", "--no-pager"])
    if PROGRAM_MAILED in run_lines:
        return f"{report.unit} already mailed about this failure itself"
    ours = tools.run([tools.journalctl, "-u", NOTIFY_TEMPLATE.format(unit=report.unit), "-o", "cat",
                      "--no-pager", "--grep", WE_MAILED + report.invocation], ok_codes=(0, 1))
    if ours.strip():
        return f"the failure of {report.unit} (invocation {report.invocation}) was mailed already"
    return None


def notify_failure(settings: Settings, *, unit: str, lines: int = 40, tools: Tools | None = None) -> str:
    """Mail the failure of `unit` unless it is already reported; return what was done.

    Raises UnitFailureError when systemd cannot be asked and MailError when the mail fails, so the
    notifying unit fails too and its own journal shows why.
    """
    tools = tools or Tools()
    if not settings.mail_configured:
        return f"{unit} failed; no mail sent: set KURA_SMTP_HOST and KURA_MAIL_TO to be told"
    report = collect(unit, lines=lines, tools=tools)
    reason = already_reported(report, tools=tools)
    if reason:
        return f"no mail: {reason}"
    host = socket.gethostname()
    send_mail(settings, subject=report.subject(host), body=report.body(host))
    logger.info("{}{} of {}", WE_MAILED, report.invocation or "(none)", unit)
    return f"mailed the failure of {unit} to {', '.join(settings.mail_to)}"
