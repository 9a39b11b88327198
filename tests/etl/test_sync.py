"""`cinema etl sync`: PostgreSQL changes reach Elasticsearch, and a crash loses nothing."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from elasticsearch import AsyncElasticsearch

from etl.importer import import_legacy
from etl.pipeline import open_writer
from etl.sync import run_sync
from etl.synthetic import generate
from etl.writer_postgres import asyncpg_dsn
from services.catalog.store_elastic import ElasticCatalogStore
from services.settings import Settings
from tests.etl import legacy_catalog as lc


async def _load(production: Settings, legacy: Path) -> None:
    writer = await open_writer(production.catalog)
    await import_legacy(legacy, writer)
    await writer.close()


async def test_changed_film_appears_in_search_after_sync(
    production: Settings, tmp_path: Path
) -> None:
    await _load(production, lc.build_legacy_file(tmp_path / "legacy.db"))
    await run_sync(production.catalog)
    db = await asyncpg.connect(asyncpg_dsn(production.catalog.catalog_dsn))
    await db.execute(
        "UPDATE content.film_work SET title = 'Heat: Director''s Cut', updated_at = now()"
        " WHERE id = $1::uuid",
        lc.HEAT,
    )
    await db.close()
    report = await run_sync(production.catalog)
    assert report.indexed["films"] == 1
    store = ElasticCatalogStore(
        production.catalog.search_dsn, production.catalog.search_index_prefix
    )
    try:
        found = await store.search_films("director's cut", 0, 5)
        assert [f.id for f in found.items] == [lc.HEAT]
    finally:
        await store.close()


async def test_sync_killed_midway_resumes_without_loss_or_duplicates(
    production: Settings, tmp_path: Path
) -> None:
    legacy = tmp_path / "synthetic.db"
    generate(legacy, films=1200, seed=7)
    await _load(production, legacy)

    async def crash_after_first_batch(batch: int) -> None:
        if batch == 1:
            raise KeyboardInterrupt  # not a transient error: the run dies here

    with pytest.raises(KeyboardInterrupt):
        await run_sync(production.catalog, batch_size=500, after_batch=crash_after_first_batch)
    resumed = await run_sync(production.catalog, batch_size=500)

    db = await asyncpg.connect(asyncpg_dsn(production.catalog.catalog_dsn))
    films = await db.fetchval("SELECT count(*) FROM content.film_work")
    await db.close()
    assert resumed.indexed["films"] == films - 500  # the first batch was not redone
    async with AsyncElasticsearch(production.catalog.search_dsn) as es:
        count = await es.count(index=f"{production.catalog.search_index_prefix}films")
    assert count["count"] == films
