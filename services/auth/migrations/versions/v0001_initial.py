"""Users, refresh token families, login history and signing keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types: a migration must not change when tables.py does.
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("login", sa.String(80), nullable=False),
        sa.Column("login_key", sa.String(80), nullable=False, unique=True),
        sa.Column("email", sa.String(254)),
        sa.Column("password_hash", sa.Text),
        sa.Column("roles", sa.String(100), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "token_families",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(36), sa.ForeignKey("token_families.id"), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "login_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("login_time", TIME, nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.Column("peer_address", sa.String(128), nullable=False),
    )
    op.create_index("ix_login_events_user_id_id", "login_events", ["user_id", "id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("signing_keys", "login_events", "refresh_tokens", "token_families", "users"):
        op.drop_table(table)
