"""`cinema etl sync` sees every committed change: late commits, deleted films, removed links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from etl.importer import import_legacy
from etl.pipeline import open_writer
from etl.sync import run_sync
from etl.writer_postgres import asyncpg_dsn
from services.catalog.cache import open_cache
from services.catalog.settings import CatalogSettings
from services.catalog.store_elastic import ElasticCatalogStore
from services.settings import Settings
from tests.etl import legacy_catalog as lc


@pytest.fixture
async def synced(
    tmp_path: Path, postgres_dsn: str, elasticsearch_url: str, es_index_prefix: str
) -> CatalogSettings:
    settings = Settings(
        data_dir=tmp_path,
        catalog_dsn=postgres_dsn,
        search_dsn=elasticsearch_url,
        search_index_prefix=es_index_prefix,
    )
    writer = await open_writer(settings.catalog)
    await import_legacy(lc.build_legacy_file(tmp_path / "legacy.db"), writer)
    await writer.close()
    await run_sync(settings.catalog)
    return settings.catalog


@pytest.fixture
async def index(synced: CatalogSettings) -> AsyncIterator[ElasticCatalogStore]:
    store = ElasticCatalogStore(synced.search_dsn, synced.search_index_prefix)
    yield store
    await store.close()


async def _execute(catalog: CatalogSettings, sql: str, *args: object) -> None:
    db = await asyncpg.connect(asyncpg_dsn(catalog.catalog_dsn))
    try:
        await db.execute(sql, *args)
    finally:
        await db.close()


async def _titles(index: ElasticCatalogStore, query: str) -> list[str]:
    return [f.title for f in (await index.search_films(query, 0, 10)).items]


async def test_change_committed_after_a_later_one_was_synced_is_still_indexed(
    synced: CatalogSettings, index: ElasticCatalogStore
) -> None:
    slow = await asyncpg.connect(asyncpg_dsn(synced.catalog_dsn))
    try:
        late = slow.transaction()
        await late.start()
        # Stamped now, committed last: an updated_at cursor would pass it by.
        await slow.execute(
            "UPDATE content.film_work SET title = 'Heat: Late Cut', updated_at = now()"
            " WHERE id = $1::uuid",
            lc.HEAT,
        )
        await _execute(
            synced,
            "UPDATE content.film_work SET title = 'The Matrix: Early Cut', updated_at = now()"
            " WHERE id = $1::uuid",
            lc.MATRIX,
        )
        await run_sync(synced)
        assert await _titles(index, "early cut") == ["The Matrix: Early Cut"]
        assert await _titles(index, "late cut") == []
        await late.commit()
    finally:
        await slow.close()

    report = await run_sync(synced)

    assert report.indexed["films"] == 1
    assert await _titles(index, "late cut") == ["Heat: Late Cut"]


async def test_film_deleted_in_postgres_leaves_search_and_its_people(
    synced: CatalogSettings, index: ElasticCatalogStore
) -> None:
    await _execute(synced, "DELETE FROM content.film_work WHERE id = $1::uuid", lc.AMELIE)

    report = await run_sync(synced)

    assert report.deleted["films"] == 1
    assert await index.get_film(lc.AMELIE) is None
    assert await _titles(index, "amelie") == []
    tautou = await index.get_person(lc.TAUTOU)
    assert tautou is not None and tautou.films == ()


async def test_removed_link_leaves_the_film_document(
    synced: CatalogSettings, index: ElasticCatalogStore
) -> None:
    await _execute(
        synced,
        "DELETE FROM content.person_film_work WHERE film_work_id = $1::uuid"
        " AND person_id = $2::uuid",
        lc.HEAT,
        lc.PACINO,
    )

    await run_sync(synced)

    heat = await index.get_film(lc.HEAT)
    assert heat is not None and heat.actors == ()
    pacino = await index.get_person(lc.PACINO)
    assert pacino is not None and pacino.films == ()


async def test_sync_drops_the_cached_copy_of_a_film_changed_in_postgres(
    synced: CatalogSettings, redis_url: str
) -> None:
    synced.cache_url = redis_url
    cache = open_cache(redis_url, 300)
    try:
        await cache.put_many({lc.HEAT: b"stale"})
        await _execute(
            synced, "UPDATE content.film_work SET rating = 9 WHERE id = $1::uuid", lc.HEAT
        )

        await run_sync(synced)

        assert await cache.get_many([lc.HEAT]) == {}
    finally:
        await cache.close()
