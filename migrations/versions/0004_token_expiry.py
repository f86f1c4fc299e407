"""API tokens may expire: `expires_at`, null for a token that never does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.models import UTCMicros

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN of a nullable column is a plain ALTER in SQLite: no copy of the table.
    op.add_column("api_tokens", sa.Column("expires_at", UTCMicros(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
