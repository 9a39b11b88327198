"""SQLAlchemy async engines for the stores that run on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.kit.config import dsn_scheme

CONNECT_TIMEOUT_SECONDS = 5.0


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
    else:
        # asyncpg waits 60 s for a connection by default: an unreachable PostgreSQL must
        # be answered UNAVAILABLE within seconds, not after the caller's deadline.
        connect_args["timeout"] = CONNECT_TIMEOUT_SECONDS
    return create_async_engine(url, connect_args=connect_args, pool_pre_ping=True)


def upgrade(connection: sa.Connection, migrations: Path, version_table: str, lock_id: int) -> None:
    """Brings a store's schema to the newest of its Alembic ``migrations``.

    Runs on the store's own connection; each store keeps its version in a table of its
    own, so stores may share one PostgreSQL database, where replicas starting together
    take turns on an advisory lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({lock_id})"))
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table
    command.upgrade(config, "head")


async def migrated_engine(
    dsn: str, setting: str, migrations: Path, version_table: str, lock_id: int
) -> AsyncEngine:
    """An engine for ``dsn`` whose schema :func:`upgrade` has brought up to date."""
    engine = create_engine(dsn, setting)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade, migrations, version_table, lock_id)
    except BaseException:
        await engine.dispose()
        raise
    return engine


def run_migrations() -> None:
    """What every store's Alembic ``env.py`` does: migrate on the connection handed over."""
    attributes = context.config.attributes
    context.configure(
        connection=attributes["connection"],
        target_metadata=None,
        version_table=attributes["version_table"],
    )
    with context.begin_transaction():
        context.run_migrations()
