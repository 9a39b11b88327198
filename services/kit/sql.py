"""SQLAlchemy async engines for the stores that run on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.kit.config import dsn_scheme


def engine_url(dsn: str, setting: str) -> str:
    """The async driver URL of a configured DSN: ``sqlite:///x`` -> aiosqlite, and
    ``postgresql://`` -> asyncpg. ``setting`` names the variable in the error."""
    scheme = dsn_scheme(dsn)
    _, _, rest = dsn.partition("://")
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"{setting}: no store for {scheme}:// (use sqlite:/// or postgresql://)")


def create_engine(dsn: str, setting: str) -> AsyncEngine:
    """An engine for ``dsn``; a SQLite file's folder is created on the way."""
    url = sa.make_url(engine_url(dsn, setting))
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # Concurrent writers wait for the file lock instead of failing at once.
        connect_args["timeout"] = 30
    return create_async_engine(url, connect_args=connect_args, pool_pre_ping=True)
