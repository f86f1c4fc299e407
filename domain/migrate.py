"""Schema upgrades with Alembic, and the check that only a schema at head is served or changed.

The check runs at every start of kura-api, in its readiness probe, and in every `kura` command that
touches data (not `kura db`, which is how a database reaches head), and importing Alembic (with Mako
and Pygments behind it) costs more than the rest of start-up together. So the check reads the
revision graph from the version files' ``revision``/``down_revision`` lines and the current revision
from ``alembic_version`` directly; tests hold both equal to Alembic's own answers. Upgrades and
downgrades use Alembic.

A database that is not at head is one of four things, and each gets its own one-line answer: empty
(run `kura db upgrade`), at an older revision this Kura knows (run `kura db upgrade`), at a revision
this Kura does not know (written by a newer Kura: upgrade Kura or restore a backup), or holding tables
but no version (not a Kura database, or not made by `kura db upgrade`). `upgrade` refuses the last two
before Alembic runs, and names the known revisions when asked for one that does not exist.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from common.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"


class SchemaNotAtHead(RuntimeError):
    """The database schema is missing or older (or newer) than this version of Kura expects."""


class UnknownRevision(ValueError):
    """`upgrade` was asked for a revision this Kura does not have."""


def alembic_config(db_path: Path) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["db_path"] = Path(db_path)
    return cfg


def _revision_lines(path: Path) -> tuple[str, tuple[str, ...]]:
    """A version file's `revision` and the revisions it revises (none, one, or a merge's several)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = ast.literal_eval(value)
    down = found.get("down_revision")
    parents = () if down is None else (down,) if isinstance(down, str) else tuple(down)  # type: ignore[arg-type]
    return str(found["revision"]), parents


def known_revisions() -> list[str]:
    """Every revision this Kura's version files define, sorted."""
    return sorted(revision for revision, _ in _graph())


_graph_lock = threading.Lock()
_graph_cache: dict[tuple[object, ...], list[tuple[str, tuple[str, ...]]]] = {}


def _graph() -> list[tuple[str, tuple[str, ...]]]:
    """The revision graph, parsed once per set of version files. Under a lock: readiness checks run it
    on worker threads, and CPython 3.11 before 3.11.8 can fail ast.parse run in two threads at once
    ("AST constructor recursion depth mismatch")."""
    paths = [p for p in sorted(VERSIONS_DIR.glob("*.py")) if p.name != "__init__.py"]
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    with _graph_lock:
        if key not in _graph_cache:
            _graph_cache[key] = [_revision_lines(path) for path in paths]
        return _graph_cache[key]


def head_revision() -> str:
    revisions, revised = set(), set()
    for revision, parents in _graph():
        revisions.add(revision)
        revised.update(parents)
    heads = sorted(revisions - revised)
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}); merge them")
    return heads[0]


def current_revision(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    except OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return ",".join(sorted(rows)) or None


def _has_tables(db: Database) -> bool:
    """Does the file hold any table besides Alembic's own (which a downgrade to base leaves empty)?"""
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' LIMIT 1").first() is not None


def _refusal(db: Database, current: str | None, head: str) -> str | None:
    """Why `kura db upgrade` must not touch this database, or None if it may."""
    unknown = sorted(set(current.split(",")) - set(known_revisions())) if current else []
    if unknown:
        return (f"database {db.path} was written by a newer Kura (revision {','.join(unknown)}, "
                f"this Kura knows up to {head}): upgrade Kura or restore a backup")
    if current is None and _has_tables(db):
        return (f"database {db.path} has tables but no schema version: it is not a Kura database, or was "
                "not made by `kura db upgrade`; check KURA_DATABASE_PATH or restore a backup")
    return None


def upgrade(db: Database, revision: str = "head") -> None:
    """Upgrade with Alembic, after refusing what it would crash on or damage: a newer Kura's database
    (Alembic cannot find its revision) and a foreign one (creating the tables would collide)."""
    from alembic.util import CommandError

    refusal = _refusal(db, current_revision(db), head_revision())
    if refusal:
        raise SchemaNotAtHead(refusal)
    try:
        _alembic(db, "upgrade", revision)
    except CommandError as exc:  # raised while resolving the target, before any migration runs
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnknownRevision(
            f"cannot upgrade to {revision}: {reason}; this Kura knows revisions "
            f"{', '.join(known_revisions())} (head {head_revision()})") from None


def downgrade(db: Database, revision: str) -> None:
    _alembic(db, "downgrade", revision)


def _alembic(db: Database, action: str, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(db.path)
    with db.write_lock, db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def ensure_at_head(db: Database) -> str:
    """Return the revision, or raise with one line that says what the database is and what fixes it."""
    current, head = current_revision(db), head_revision()
    if current == head:
        return current
    refusal = _refusal(db, current, head)
    if refusal:
        raise SchemaNotAtHead(refusal)
    raise SchemaNotAtHead(
        f"database schema of {db.path} is at {current or 'nothing (empty database)'}, "
        f"this Kura needs {head}: run `kura db upgrade` first"
    )
