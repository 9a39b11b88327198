"""Alembic migrations of the auth store; applied at startup by :func:`migrate.upgrade`."""
