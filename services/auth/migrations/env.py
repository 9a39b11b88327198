"""Alembic environment: runs on the connection handed over by the auth store at startup."""

from services.kit.sql import run_migrations

run_migrations()
