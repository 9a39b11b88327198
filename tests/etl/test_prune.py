"""`import-sqlite --prune`: what vanished from a newer legacy file leaves search; only then."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from etl.pipeline import run_import
from services.catalog.store import CatalogStore, open_store
from services.settings import Settings
from tests.etl import legacy_catalog as lc


@pytest.fixture(params=["embedded", "production"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Embedded: SQLite + FTS5. Production: PostgreSQL, synced to Elasticsearch."""
    if request.param == "embedded":
        return Settings(data_dir=tmp_path / "data", demo_catalog=False)
    return Settings(
        data_dir=tmp_path / "data",
        catalog_dsn=request.getfixturevalue("postgres_dsn"),
        search_dsn=request.getfixturevalue("elasticsearch_url"),
        search_index_prefix=request.getfixturevalue("es_index_prefix"),
    )


@pytest.fixture
async def store(settings: Settings, tmp_path: Path) -> AsyncIterator[CatalogStore]:
    settings.process.data_dir.mkdir(parents=True, exist_ok=True)
    await run_import(settings.catalog, lc.build_legacy_file(tmp_path / "legacy.db"))
    opened = await open_store(
        settings.catalog.search_dsn, index_prefix=settings.catalog.search_index_prefix
    )
    yield opened
    await opened.close()


def _newer_export_without_amelie_and_pacino(tmp_path: Path) -> Path:
    path = lc.build_legacy_file(tmp_path / "newer.db")
    with sqlite3.connect(path) as legacy:
        legacy.execute("DELETE FROM film_work WHERE id = ?", (lc.AMELIE,))
        legacy.execute("DELETE FROM genre_film_work WHERE film_work_id = ?", (lc.AMELIE,))
        legacy.execute("DELETE FROM person_film_work WHERE film_work_id = ?", (lc.AMELIE,))
        legacy.execute("DELETE FROM person_film_work WHERE person_id = ?", (lc.PACINO,))
        legacy.execute("DELETE FROM person WHERE id = ?", (lc.PACINO,))
    legacy.close()
    return path


async def test_import_without_prune_keeps_films_missing_from_the_file(
    settings: Settings, store: CatalogStore, tmp_path: Path
) -> None:
    report = await run_import(settings.catalog, _newer_export_without_amelie_and_pacino(tmp_path))

    assert report.changes == 0
    assert await store.get_film(lc.AMELIE) is not None


async def test_prune_removes_vanished_films_people_and_links_from_search(
    settings: Settings, store: CatalogStore, tmp_path: Path
) -> None:
    newer = _newer_export_without_amelie_and_pacino(tmp_path)

    report = await run_import(settings.catalog, newer, prune=True)

    assert report.counts["film_work"]["deleted"] == 1
    assert report.counts["person"]["deleted"] == 1
    assert report.counts["genre_film_work"]["deleted"] == 1
    assert report.counts["person_film_work"]["deleted"] == 2  # Amélie's and Pacino's
    assert {lc.AMELIE, lc.HEAT} <= report.changed_films
    assert await store.get_film(lc.AMELIE) is None
    assert (await store.search_films("amelie", 0, 10)).items == []
    assert (await store.search_persons("pacino", 0, 10)).items == []
    heat = await store.get_film(lc.HEAT)
    assert heat is not None and heat.actors == ()
    again = await run_import(settings.catalog, newer, prune=True)
    assert again.changes == 0
