"""Every table, the indexes each list filter and sort needs, and the FTS5 index with its triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.models import UTCMicros

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FTS_COLUMNS = "title, description, url, notes"

FTS_SQL = [
    # External-content FTS5: the text lives once, in bookmarks; the index is kept in step by triggers.
    f"""CREATE VIRTUAL TABLE bookmarks_fts USING fts5(
        {FTS_COLUMNS}, content='bookmarks', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER bookmarks_fts_ai AFTER INSERT ON bookmarks BEGIN
        INSERT INTO bookmarks_fts(rowid, {FTS_COLUMNS})
        VALUES (new.id, new.title, new.description, new.url, new.notes);
    END""",
    f"""CREATE TRIGGER bookmarks_fts_ad AFTER DELETE ON bookmarks BEGIN
        INSERT INTO bookmarks_fts(bookmarks_fts, rowid, {FTS_COLUMNS})
        VALUES ('delete', old.id, old.title, old.description, old.url, old.notes);
    END""",
    # Only text changes touch the index; toggling unread or archived does not.
    f"""CREATE TRIGGER bookmarks_fts_au AFTER UPDATE OF {FTS_COLUMNS} ON bookmarks BEGIN
        INSERT INTO bookmarks_fts(bookmarks_fts, rowid, {FTS_COLUMNS})
        VALUES ('delete', old.id, old.title, old.description, old.url, old.notes);
        INSERT INTO bookmarks_fts(rowid, {FTS_COLUMNS})
        VALUES (new.id, new.title, new.description, new.url, new.notes);
    END""",
]


def _micros() -> UTCMicros:
    return UTCMicros()


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", _micros(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _micros(), nullable=False),
        sa.Column("last_used_at", _micros(), nullable=True),
        sa.Column("revoked_at", _micros(), nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("collections.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", _micros(), nullable=False),
    )
    op.create_index("ix_collections_user_parent", "collections", ["user_id", "parent_id"])
    op.create_index("ix_collections_parent_id", "collections", ["parent_id"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255, collation="NOCASE"), nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_tags_user_name"),
    )
    op.create_table(
        "bookmarks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(4096), nullable=False),
        sa.Column("title", sa.String(1024), nullable=False, server_default=sa.text("''")),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("notes", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("unread", sa.Boolean, nullable=False, server_default=sa.text("0")),
        sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.text("0")),
        sa.Column("private", sa.Boolean, nullable=False, server_default=sa.text("0")),
        sa.Column(
            "collection_id", sa.Integer, sa.ForeignKey("collections.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", _micros(), nullable=False),
        sa.Column("modified_at", _micros(), nullable=False),
        sa.UniqueConstraint("user_id", "url", name="uq_bookmarks_user_url"),
    )
    op.create_index("ix_bookmarks_user_created", "bookmarks", ["user_id", "created_at", "id"])
    op.create_index("ix_bookmarks_user_modified", "bookmarks", ["user_id", "modified_at", "id"])
    op.create_index("ix_bookmarks_user_title", "bookmarks", ["user_id", sa.text("title COLLATE NOCASE"), "id"])
    op.create_index("ix_bookmarks_user_unread_created", "bookmarks", ["user_id", "unread", "created_at", "id"])
    op.create_index(
        "ix_bookmarks_user_archived_created", "bookmarks", ["user_id", "archived", "created_at", "id"]
    )
    op.create_index("ix_bookmarks_collection_created", "bookmarks", ["collection_id", "created_at", "id"])
    op.create_table(
        "bookmark_tags",
        sa.Column(
            "bookmark_id", sa.Integer, sa.ForeignKey("bookmarks.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_bookmark_tags_tag_bookmark", "bookmark_tags", ["tag_id", "bookmark_id"])
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", _micros(), nullable=False),
        sa.Column("finished_at", _micros(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(64), nullable=True),
        sa.Column("file", sa.String(1024), nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_backup_runs_started", "backup_runs", ["started_at"])
    for statement in FTS_SQL:
        op.execute(statement)


def downgrade() -> None:
    for trigger in ("bookmarks_fts_au", "bookmarks_fts_ad", "bookmarks_fts_ai"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS bookmarks_fts")
    for table in ("backup_runs", "bookmark_tags", "bookmarks", "tags", "collections", "api_tokens", "users"):
        op.drop_table(table)
