"""The catalogs the ETL tests import into."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Each catalog source of truth: SQLite, PostgreSQL."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data", demo_catalog=False)
    return Settings(data_dir=tmp_path / "data", catalog_dsn=request.getfixturevalue("postgres_dsn"))


@pytest.fixture
def production(
    tmp_path: Path, postgres_dsn: str, elasticsearch_url: str, es_index_prefix: str
) -> Settings:
    """The production catalog: PostgreSQL, synced to Elasticsearch."""
    return Settings(
        data_dir=tmp_path,
        catalog_dsn=postgres_dsn,
        search_dsn=elasticsearch_url,
        search_index_prefix=es_index_prefix,
    )
