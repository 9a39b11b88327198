"""An import into an empty catalog (a first load, in bulk): sync and re-imports miss nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
from elasticsearch import AsyncElasticsearch

from etl.importer import import_legacy
from etl.pipeline import open_writer
from etl.sync import run_sync
from etl.synthetic import generate
from etl.writer_postgres import asyncpg_dsn
from services.catalog.store_elastic import ElasticCatalogStore
from services.settings import Settings
from tests.etl import legacy_catalog as lc


async def _import(settings: Settings, legacy: Path, batch_size: int = 1000) -> dict[str, int]:
    writer = await open_writer(settings.catalog)
    try:
        report = await import_legacy(legacy, writer, batch_size)
    finally:
        await writer.close()
    return {
        f"{table} {outcome}": count
        for table, counts in report.counts.items()
        for outcome, count in counts.items()
        if count
    }


async def test_sync_after_a_first_load_indexes_every_film_person_and_genre(
    production: Settings, tmp_path: Path
) -> None:
    legacy = tmp_path / "synthetic.db"
    generate(legacy, films=700, seed=3)
    await _import(production, legacy)

    await run_sync(production.catalog)

    db = await asyncpg.connect(asyncpg_dsn(production.catalog.catalog_dsn))
    try:
        stored = {
            kind: await db.fetchval(f"SELECT count(*) FROM content.{table}")
            for kind, table in (("films", "film_work"), ("persons", "person"), ("genres", "genre"))
        }
    finally:
        await db.close()
    prefix = production.catalog.search_index_prefix
    async with AsyncElasticsearch(production.catalog.search_dsn) as es:
        indexed = {kind: (await es.count(index=f"{prefix}{kind}"))["count"] for kind in stored}
    assert stored["films"] > 690  # the few rows the synthetic file makes bad are skipped
    assert indexed == stored


async def test_rows_changed_and_added_after_a_first_load_reach_search(
    production: Settings, tmp_path: Path
) -> None:
    legacy = lc.build_legacy_file(tmp_path / "legacy.db")
    await _import(production, legacy)
    await run_sync(production.catalog)
    added = "11111111-1111-4111-8111-000000000099"
    with sqlite3.connect(legacy) as source:
        source.execute("UPDATE film_work SET title = 'Heat: Extended' WHERE id = ?", (lc.HEAT,))
        source.execute(
            "INSERT INTO film_work (id, title, type, created_at) VALUES (?, 'Solaris', 'movie', ?)",
            (added, lc.TS),
        )
    source.close()

    counts = await _import(production, legacy)
    report = await run_sync(production.catalog)

    assert (counts["film_work updated"], counts["film_work inserted"]) == (1, 1)
    assert report.indexed["films"] == 2
    index = ElasticCatalogStore(
        production.catalog.search_dsn, production.catalog.search_index_prefix
    )
    try:
        assert [f.id for f in (await index.search_films("extended", 0, 5)).items] == [lc.HEAT]
        assert [f.id for f in (await index.search_films("solaris", 0, 5)).items] == [added]
    finally:
        await index.close()


async def test_an_id_twice_in_the_file_rolls_the_first_load_back_and_loads_row_by_row(
    target: Settings, tmp_path: Path
) -> None:
    # The legacy file keys ids as text; two spellings of one UUID are one catalog row.
    legacy = lc.build_legacy_file(tmp_path / "legacy.db")
    with sqlite3.connect(legacy) as source:
        source.execute(
            "INSERT INTO genre (id, name, created_at) VALUES (?, 'Crime fiction', ?)",
            (lc.CRIME.replace("-", ""), lc.TS),
        )
    source.close()

    counts = await _import(target, legacy, batch_size=2)

    assert counts["genre inserted"] == 3
    assert counts["genre updated"] == 1  # the later spelling wins, as in any import
    assert counts["film_work inserted"] == lc.VALID_FILMS
    writer = await open_writer(target.catalog)
    try:
        assert await writer.ids("genre") == {lc.SCI_FI, lc.CRIME, lc.DRAMA}
        assert await writer.film_count() == lc.VALID_FILMS
    finally:
        await writer.close()
