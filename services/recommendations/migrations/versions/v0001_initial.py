"""Stored lists, event cursors, the likes projection and the GigaChat cache.

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

# Frozen copies of the column types: a migration must not change when store_sql.py does.
MICROS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "recommendation_lists",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("generate_us", MICROS, nullable=False),
        sa.Column("fallback", sa.Boolean, nullable=False),
        sa.Column("sources", sa.String(200), nullable=False),
        sa.Column("llm_used", sa.Boolean, nullable=False),
    )
    op.create_index("ix_recommendation_lists_generate_us", "recommendation_lists", ["generate_us"])
    op.create_table(
        "event_cursors",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("sequence", MICROS, nullable=False),
    )
    op.create_table(
        "interactions",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("film_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.SmallInteger, nullable=False),
        sa.Column("excluded", sa.Boolean, nullable=False),
        sa.Column("updated_us", MICROS, nullable=False),
    )
    op.create_table(
        "llm_cache",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_us", MICROS, nullable=False),
    )


def downgrade() -> None:
    for table in ("llm_cache", "interactions", "event_cursors", "recommendation_lists"):
        op.drop_table(table)
