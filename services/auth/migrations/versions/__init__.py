"""Alembic revisions of the auth store, oldest first."""
