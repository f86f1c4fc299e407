"""The start of kura-api, kura-backup and kura-monitor: settings, logging and Sentry, in that order.

The `kura` admin command starts without Sentry (cli/program.py): its failures are printed to
the person running it.
"""

from __future__ import annotations

import sys

from common.logging import setup_logging
from common.sentry import init_sentry
from common.settings import Settings, SettingsError, load_settings


def boot(program: str) -> Settings | None:
    """Settings ready to pass down, or None after printing the one-line reason they are invalid."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return None
    setup_logging(settings, program=program)
    init_sentry(settings, program=program)
    return settings
