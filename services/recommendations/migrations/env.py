"""Alembic environment: runs on the connection handed over by the recommendation store."""

from services.kit.sql import run_migrations

run_migrations()
