"""The web interface's sign-in (issue 14): `users.password_hash` (Argon2; null means the user cannot
sign in on the web, only use tokens) and `web_sessions`, one row per signed-in browser, keyed by the
SHA-256 of the cookie's random value.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _micros() -> sa.BigInteger:
    return sa.BigInteger()


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN, never a batch copy: other tables' triggers name users' rows.
    op.add_column("users", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _micros(), nullable=False),
        sa.Column("last_seen_at", _micros(), nullable=False),
        sa.Column("expires_at", _micros(), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", "web_sessions")
    op.drop_table("web_sessions")
    # SQLite's own DROP COLUMN (3.35+), not a batch copy: other tables' triggers name users.
    op.execute("ALTER TABLE users DROP COLUMN password_hash")
