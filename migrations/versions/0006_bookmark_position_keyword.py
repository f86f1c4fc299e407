"""Bookmarks keep what a browser file says beyond the API's fields: `position`, the bookmark's place
among its folder's entries (subfolders and bookmarks) as the imported file had them, and `keyword`,
the browser keyword (Netscape SHORTCUTURL). Both are null for a bookmark the API made.

The Netscape export walks a folder's entries in position order through a partial index that only
positioned bookmarks enter, so bookmarks created through the API pay nothing for it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "ix_bookmarks_user_collection_position"


def upgrade() -> None:
    # ADD COLUMN of a nullable column is a plain ALTER in SQLite: no copy of the table (a batch copy
    # would break the other tables' triggers that name bookmarks).
    op.add_column("bookmarks", sa.Column("position", sa.Integer(), nullable=True))
    op.add_column("bookmarks", sa.Column("keyword", sa.String(length=255), nullable=True))
    op.create_index(INDEX, "bookmarks", ["user_id", "collection_id", "position", "id"],
                    sqlite_where=sa.text("position IS NOT NULL"))


def downgrade() -> None:
    op.drop_index(INDEX, "bookmarks")
    # SQLite's own DROP COLUMN (3.35+), not a batch copy: other tables' triggers name bookmarks.
    op.execute("ALTER TABLE bookmarks DROP COLUMN keyword")
    op.execute("ALTER TABLE bookmarks DROP COLUMN position")
