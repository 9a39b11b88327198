"""The read-through film cache: reads are served from it, and the ETL's changes drop it
(and the search answers kept in memory with it)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from cinema.catalog.v1 import catalog_pb2
from etl.pipeline import run_import
from services.catalog.cache import FilmCache, open_cache
from services.catalog.records import Film, FilmSummary, Page
from services.catalog.servicer import CatalogServicer
from services.catalog.store import CatalogStore, open_store
from services.settings import Settings
from tests.etl import legacy_catalog as lc

_NO_CONTEXT = cast(grpc.aio.ServicerContext, None)  # GetFilm never looks at it


class CountingStore:
    """The real store, counting the film reads and searches that reach it."""

    def __init__(self, store: CatalogStore) -> None:
        self.store = store
        self.film_reads = 0
        self.searches = 0

    async def batch_get_films(self, film_ids: Sequence[str]) -> dict[str, Film]:
        self.film_reads += 1
        return await self.store.batch_get_films(film_ids)

    async def search_films(self, query: str, offset: int, limit: int) -> Page[FilmSummary]:
        self.searches += 1
        return await self.store.search_films(query, offset, limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    cache_url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    return Settings(data_dir=tmp_path / "data", demo_catalog=False, cache_url=cache_url)


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    return lc.build_legacy_file(tmp_path / "legacy.db")


@pytest.fixture
async def cache(settings: Settings) -> AsyncIterator[FilmCache]:
    opened = open_cache(settings.catalog.cache_url, settings.catalog.cache_ttl_seconds)
    yield opened
    await opened.close()


@pytest.fixture
async def store(settings: Settings, legacy: Path) -> AsyncIterator[CountingStore]:
    settings.process.data_dir.mkdir(parents=True, exist_ok=True)
    await run_import(settings.catalog, legacy)
    opened = await open_store(
        settings.catalog.search_dsn, index_prefix=settings.catalog.search_index_prefix
    )
    yield CountingStore(opened)
    await opened.close()


async def _title(servicer: CatalogServicer, film_id: str) -> str:
    response = await servicer.GetFilm(catalog_pb2.GetFilmRequest(film_id=film_id), _NO_CONTEXT)
    return response.film.title


async def _search(servicer: CatalogServicer, query: str, page_size: int = 0) -> list[str]:
    request = catalog_pb2.SearchFilmsRequest(query=query, page_size=page_size)
    response = await servicer.SearchFilms(request, _NO_CONTEXT)
    return [film.title for film in response.films]


def _retitle(legacy: Path, film_id: str, title: str) -> None:
    with sqlite3.connect(legacy) as connection:
        connection.execute("UPDATE film_work SET title = ? WHERE id = ?", (title, film_id))
    connection.close()


async def test_second_read_of_a_film_is_served_from_the_cache(
    store: CountingStore, cache: FilmCache
) -> None:
    servicer = CatalogServicer(cast(CatalogStore, store), cache)

    assert await _title(servicer, lc.MATRIX) == "The Matrix"
    assert await _title(servicer, lc.MATRIX) == "The Matrix"

    assert store.film_reads == 1


async def test_film_changed_by_the_etl_is_read_fresh(
    settings: Settings, store: CountingStore, cache: FilmCache, legacy: Path
) -> None:
    servicer = CatalogServicer(cast(CatalogStore, store), cache)
    await _title(servicer, lc.MATRIX)
    _retitle(legacy, lc.MATRIX, "The Matrix (Remastered)")

    # In process, the ETL is handed the service's LRU; Redis is reached by its URL.
    in_process = cache if settings.catalog.cache_url == "memory://" else None
    await run_import(settings.catalog, legacy, cache=in_process)

    assert await _title(servicer, lc.MATRIX) == "The Matrix (Remastered)"
    assert store.film_reads == 2


# An in-process LRU is out of another process's reach: its TTL bounds staleness there.
@pytest.mark.parametrize("settings", ["redis"], indirect=True)
async def test_import_run_as_another_process_drops_the_redis_copy(
    settings: Settings, store: CountingStore, cache: FilmCache, legacy: Path
) -> None:
    servicer = CatalogServicer(cast(CatalogStore, store), cache)
    await _title(servicer, lc.HEAT)
    _retitle(legacy, lc.HEAT, "Heat (Director's Cut)")

    etl = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "services.cli", "etl", "import-sqlite", str(legacy)),
        env={
            **os.environ,
            "CINEMA_DATA_DIR": str(settings.process.data_dir),
            "CINEMA_CACHE_URL": settings.catalog.cache_url,
            "CINEMA_DEMO_CATALOG": "false",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await etl.communicate()
    assert etl.returncode == 0, output.decode()

    assert await _title(servicer, lc.HEAT) == "Heat (Director's Cut)"


async def test_a_repeated_search_is_answered_from_memory(
    store: CountingStore, cache: FilmCache
) -> None:
    servicer = CatalogServicer(cast(CatalogStore, store), cache)

    first = await _search(servicer, "matrix")
    assert "The Matrix" in first
    assert await _search(servicer, "  matrix ") == first  # the same query once stripped
    assert store.searches == 1

    # Another page size is another answer.
    assert await _search(servicer, "matrix", page_size=1) == first[:1]
    assert store.searches == 2


@pytest.mark.parametrize("settings", ["memory"], indirect=True)
async def test_search_after_the_etl_changed_a_film_is_fresh(
    settings: Settings, store: CountingStore, cache: FilmCache, legacy: Path
) -> None:
    servicer = CatalogServicer(cast(CatalogStore, store), cache)
    assert "The Matrix" in await _search(servicer, "matrix")
    _retitle(legacy, lc.MATRIX, "The Matrix (Remastered)")

    await run_import(settings.catalog, legacy, cache=cache)

    assert "The Matrix (Remastered)" in await _search(servicer, "matrix")
    assert store.searches == 2
