"""A one-row table that /readyz rewrites, so readiness means a write can commit now.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.models import UTCMicros

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_probe",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("written_at", UTCMicros(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("health_probe")
