"""Backup fixtures: a database with bookmarks (the SMTP inbox, mail settings and tmpfs mounts come from
tests/conftest.py)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from backup.integrity import check_database
from backup.verify import decompress
from common.db import Database
from common.sqlite import sqlite3
from domain.models import Bookmark, User
from common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def add_bookmarks(db: Database, count: int, *, user: str = "alice", text_size: int = 40) -> list[int]:
    with db.write_session() as session:
        owner = session.query(User).filter_by(name=user).one_or_none()
        if owner is None:
            owner = User(name=user)
            session.add(owner)
            session.flush()
        start = session.query(Bookmark).count()
        rows = [Bookmark(user_id=owner.id, url=f"https://example.org/{user}/{start + i}",
                         title=f"page {start + i}", description=os.urandom(text_size).hex())
                for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


@pytest.fixture
def populated(db: Database) -> list[int]:
    return add_bookmarks(db, 25)


def open_backup(path: Path, dest: Path) -> sqlite3.Connection:
    """Decompress a backup and check it the way a restore would; return a connection to the copy."""
    decompress(path, dest)
    check_database(dest)
    return sqlite3.connect(dest)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests calling main(): it points loguru at the captured stderr and stdlib logging at loguru."""
    yield
    logger.remove()
    logger.add(sys.__stderr__, level="INFO")
    logging.getLogger().handlers.clear()
    logging.getLogger().setLevel(logging.WARNING)


def backup_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") and k != "NOTIFY_SOCKET"}
    env.update(KURA_DATA_DIR=str(settings.data_dir), PYTHONPATH=str(ROOT), **extra)
    return env


KURA_BACKUP = [sys.executable, "-c", "import sys; from backup.cli import main; sys.exit(main(sys.argv[1:]))"]
