"""The catalog store over each backend, loaded from the same legacy file by the ETL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from etl.pipeline import run_import
from services.catalog.store import CatalogStore, open_store
from services.settings import Settings
from tests.etl.legacy_catalog import build_legacy_file


@pytest.fixture
def embedded_catalog_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", demo_catalog=False)


@pytest.fixture
def production_catalog_settings(
    tmp_path: Path, postgres_dsn: str, elasticsearch_url: str, es_index_prefix: str
) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        catalog_dsn=postgres_dsn,
        search_dsn=elasticsearch_url,
        search_index_prefix=es_index_prefix,
    )


@pytest.fixture(params=["embedded", "production"])
def catalog_settings(request: pytest.FixtureRequest) -> Settings:
    """Embedded: SQLite + FTS5. Production: PostgreSQL, synced to Elasticsearch."""
    settings: Settings = request.getfixturevalue(f"{request.param}_catalog_settings")
    return settings


@pytest.fixture
async def store(catalog_settings: Settings, tmp_path: Path) -> AsyncIterator[CatalogStore]:
    catalog_settings.process.data_dir.mkdir(parents=True, exist_ok=True)
    await run_import(catalog_settings.catalog, build_legacy_file(tmp_path / "legacy.db"))
    opened = await open_store(
        catalog_settings.catalog.search_dsn,
        index_prefix=catalog_settings.catalog.search_index_prefix,
    )
    yield opened
    await opened.close()
