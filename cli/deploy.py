"""`kura notify-failure UNIT`: the command kura-notify-failure@.service runs (see common.unit_failure)."""

from __future__ import annotations

import argparse

from cli.helpers import CliError
from common.mail import MailError
from common.settings import Settings
from common.unit_failure import UnitFailureError, notify_failure


def cmd_notify_failure(settings: Settings, args: argparse.Namespace) -> None:
    try:
        print(notify_failure(settings, unit=args.unit, lines=args.lines))
    except (UnitFailureError, MailError) as exc:
        raise CliError(str(exc)) from exc


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("notify-failure", help="mail the status and last log lines of a failed unit")
    cmd.add_argument("unit", help="the failed systemd unit, e.g. kura-backup.service")
    cmd.add_argument("--lines", type=int, default=40, help="journal lines to include")
    cmd.set_defaults(func=cmd_notify_failure)
