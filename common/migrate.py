"""Schema upgrades with Alembic, and the check that the API only serves a schema at head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from common.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaNotAtHead(RuntimeError):
    """The database schema is missing or older (or newer) than this version of Kura expects."""


def alembic_config(db_path: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["db_path"] = Path(db_path)
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config(Path("unused"))).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}); merge them")
    return heads[0]


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config(db.path)
    with db.write_lock, db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config(db.path)
    with db.write_lock, db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def ensure_at_head(db: Database) -> str:
    """Return the revision, or raise with the command that fixes it."""
    current, head = current_revision(db), head_revision()
    if current != head:
        raise SchemaNotAtHead(
            f"database schema of {db.path} is at {current or 'nothing (empty database)'}, "
            f"this Kura needs {head}: run `kura db upgrade` first"
        )
    return current
