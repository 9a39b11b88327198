"""The auth store's tables as SQLAlchemy Core sees them (the migrations create them)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("login", sa.String(80), nullable=False),
    sa.Column("login_key", sa.String(80), nullable=False, unique=True),
    sa.Column("email", sa.String(254)),
    sa.Column("password_hash", sa.Text),
    sa.Column("roles", sa.String(100), nullable=False),
    sa.Column("created_at", TIME, nullable=False),
)

token_families = sa.Table(
    "token_families",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("revoked_at", TIME),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "family_id", sa.String(36), sa.ForeignKey("token_families.id"), nullable=False, index=True
    ),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("issued_at", TIME, nullable=False),
    sa.Column("expires_at", TIME, nullable=False),
    sa.Column("used_at", TIME),
)

login_events = sa.Table(
    "login_events",
    metadata,
    sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("login_time", TIME, nullable=False),
    sa.Column("user_agent", sa.String(512), nullable=False),
    sa.Column("peer_address", sa.String(128), nullable=False),
    sa.Index("ix_login_events_user_id_id", "user_id", "id"),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("private_key", sa.Text, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
)
