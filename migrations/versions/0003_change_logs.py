"""Two trigger-kept records of change: the search index's log, and each user's data version.

`search_log` feeds the derived search index (domain/searchindex): every change to what a search can
find appends the bookmark's id in the same transaction. `data_versions` counts, per user, every
change to what their bookmark answers show, so a conditional GET can answer 304 from one row
without reading a bookmark (api/hot.py). Both are kept by triggers, so `kura import` and any other
writer keep them exact too. A version row has no foreign key: a user's deletion cascades to their
bookmarks, whose triggers would write the row again; a stale row is harmless, and kept, it stays
monotonic if SQLite ever reuses the user's id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from domain.searchindex.sql import LOG_DOWNGRADE_SQL, LOG_SQL

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BUMP = ("INSERT INTO data_versions (user_id, version) VALUES ({user}, 1)"
         " ON CONFLICT (user_id) DO UPDATE SET version = version + 1")
_LINK_OWNER = "(SELECT user_id FROM bookmarks WHERE id = {}.bookmark_id)"
VERSION_TRIGGERS = {
    "bookmark_ai": ("AFTER INSERT ON bookmarks", ["new.user_id"]),
    "bookmark_au": ("AFTER UPDATE ON bookmarks", ["new.user_id"]),  # the owner never changes
    "bookmark_ad": ("AFTER DELETE ON bookmarks", ["old.user_id"]),
    "link_ai": ("AFTER INSERT ON bookmark_tags", [_LINK_OWNER.format("new")]),
    "link_ad": ("AFTER DELETE ON bookmark_tags", [_LINK_OWNER.format("old")]),
    "tag_au": ("AFTER UPDATE OF name ON tags", ["new.user_id"]),
}


def _trigger(name: str, when: str, users: list[str]) -> str:
    # A link deleted together with its bookmark finds no owner any more: the bookmark's own trigger
    # counted that change, so a NULL owner is skipped rather than recorded.
    body = " ".join(f"{_BUMP.format(user=user)};" if user.startswith(("new", "old")) else
                    f"INSERT INTO data_versions (user_id, version) SELECT owner, 1 FROM (SELECT {user} AS owner)"
                    " WHERE owner IS NOT NULL ON CONFLICT (user_id) DO UPDATE SET version = version + 1;"
                    for user in users)
    return f"CREATE TRIGGER data_version_{name} {when} BEGIN {body} END"


def upgrade() -> None:
    for statement in LOG_SQL:
        op.execute(statement)
    op.execute("""CREATE TABLE data_versions (
        user_id INTEGER NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL)""")
    for name, (when, users) in VERSION_TRIGGERS.items():
        op.execute(_trigger(name, when, users))


def downgrade() -> None:
    for name in VERSION_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS data_version_{name}")
    op.execute("DROP TABLE IF EXISTS data_versions")
    for statement in LOG_DOWNGRADE_SQL:
        op.execute(statement)
