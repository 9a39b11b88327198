"""The likes projection remembers "more like this": ``interactions.seeded_us``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("seeded_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as table:  # SQLite: rebuilds the table
        table.drop_column("seeded_us")
