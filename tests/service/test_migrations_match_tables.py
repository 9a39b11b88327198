"""The Alembic migrations create exactly the tables the code declares, on both dialects.

The SQL stores read and write through SQLAlchemy tables (``tables.py``, ``store_sql.py``)
while the schema comes from the migrations: nothing else checks that the two agree.
Autogenerate compares a freshly migrated database with the declared metadata; its diff
must be empty (a column, index, type or nullability missing on either side shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.auth import store_sql as auth_sql
from services.auth import tables as auth_tables
from services.kit.sql import create_engine, upgrade
from services.recommendations import store_sql as recommendations_sql

STORES = {
    "auth": (auth_tables.metadata, auth_sql.MIGRATIONS, "auth_schema_version"),
    "recommendations": (
        recommendations_sql.metadata,
        recommendations_sql.MIGRATIONS,
        "recommendations_schema_version",
    ),
}


def _diff(connection: sa.Connection, metadata: sa.MetaData, version_table: str) -> list[Any]:
    def include_object(obj: Any, name: str | None, kind: str, reflected: bool, _: Any) -> bool:
        return not (kind == "table" and name == version_table)

    context = MigrationContext.configure(
        connection,
        opts={"include_object": include_object, "compare_type": True},
    )
    return list(compare_metadata(context, metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return str(request.getfixturevalue("postgres_dsn"))


@pytest.mark.parametrize("store", sorted(STORES))
async def test_migrated_schema_is_exactly_the_declared_tables(store: str, dsn: str) -> None:
    metadata, migrations, version_table = STORES[store]
    engine = create_engine(dsn, "dsn")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade, migrations, version_table, 1)
        async with engine.connect() as connection:
            diff = await connection.run_sync(_diff, metadata, version_table)
    finally:
        await engine.dispose()
    assert diff == []
