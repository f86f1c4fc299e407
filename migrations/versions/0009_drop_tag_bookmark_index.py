"""Drop `ix_bookmark_tags_tag_bookmark` (tag_id, bookmark_id): every query it served, another index
serves as well.

A tag's links by tag (list filters, counts, a tag's rename, merge or delete) read
`ix_bookmark_tags_tag_created` (tag_id, created_at, bookmark_id), which holds the same bookmark ids;
a link by bookmark and tag reads the primary key (bookmark_id, tag_id). Kept, it cost every link
written an index entry, every backup its check (the bench's 1.8 million links: 4.1-5.0 CPU seconds
with it, 2.2-2.5 without) and 29 MB of a 1.1 GB database.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_bookmark_tags_tag_bookmark", "bookmark_tags")


def downgrade() -> None:
    op.create_index("ix_bookmark_tags_tag_bookmark", "bookmark_tags", ["tag_id", "bookmark_id"])
