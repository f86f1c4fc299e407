"""`kura-api`: serve the app with uvicorn. (Being built: sd_notify READY/WATCHDOG/STOPPING.)"""

from __future__ import annotations

import sys

import uvicorn

from api.app import create_app
from common import migrate
from common.db import DatabaseError, open_database, sqlite_version_check
from common.logging import setup_logging
from common.sentry import init_sentry
from common.settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"kura-api: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings, program="kura-api")
    init_sentry(settings, program="kura-api")
    sqlite_version_check()
    try:
        db = open_database(settings)
        migrate.ensure_at_head(db)
    except (DatabaseError, migrate.SchemaNotAtHead) as exc:
        print(f"kura-api: {exc}", file=sys.stderr)
        return 1
    app = create_app(settings, db)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=settings.access_log, log_config=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
