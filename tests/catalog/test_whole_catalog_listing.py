"""A catalog past ListFilms' old offset cap (10,000) is listed, and seen by the recommender,
whole, on both backends; the films are bulk-loaded straight into each store."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog import elastic_schema, sqlite_index
from services.catalog.cache import open_cache
from services.catalog.records import Film, FilmType, PartialDate
from services.catalog.servicer import CatalogServicer
from services.catalog.store import CatalogStore
from services.catalog.store_elastic import ElasticCatalogStore
from services.catalog.store_sqlite import SqliteCatalogStore
from services.recommendations.catalog import CatalogClient

FILMS = 12_000
_STAMP = "2024-01-01T00:00:00+00:00"


def _films() -> list[Film]:
    """Many ties on the rating (one decimal) and the year, and some films with neither."""
    rng = random.Random(11)
    return [
        Film(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            title=f"Film {number}",
            description="",
            creation_date=None if rng.random() < 0.05 else PartialDate(rng.randint(1920, 2024)),
            rating=None if rng.random() < 0.05 else round(rng.uniform(1, 10), 1),
            type=FilmType.MOVIE,
            certificate="",
            genres=(),
            directors=(),
            actors=(),
            writers=(),
        )
        for number in range(FILMS)
    ]


async def _sqlite_store(path: Path, films: list[Film]) -> CatalogStore:
    connection = await sqlite_index.connect(str(path))
    await connection.executemany(
        "INSERT INTO film_work (id, title, sort_title, creation_date, year, rating, type,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (f.id, f.title, f.title.lower(), None, f.year, f.rating, str(f.type), _STAMP, _STAMP)
            for f in films
        ],
    )
    await connection.commit()
    await connection.close()
    return SqliteCatalogStore(str(path))


async def _elastic_store(url: str, prefix: str, films: list[Film]) -> CatalogStore:
    es = AsyncElasticsearch(url)
    name = elastic_schema.index_name(prefix, elastic_schema.FILMS)
    try:
        await es.indices.create(
            index=name,
            settings=elastic_schema.SETTINGS,
            mappings=elastic_schema.MAPPINGS[elastic_schema.FILMS],
        )
        await async_bulk(
            es,
            (
                {"_index": name, "_id": f.id, "_source": elastic_schema.film_document(f)}
                for f in films
            ),
            chunk_size=2000,
        )
        await es.indices.refresh(index=name)
    finally:
        await es.close()
    return ElasticCatalogStore(url, prefix)


@pytest.fixture(scope="module")
def films() -> list[Film]:
    return _films()


@pytest.fixture(params=["embedded", "production"])
def elastic(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """Embedded: None (SQLite). Production: Elasticsearch's URL and an index prefix."""
    if request.param == "embedded":
        return None
    return request.getfixturevalue("elasticsearch_url"), request.getfixturevalue("es_index_prefix")


@pytest.fixture
async def catalog_target(
    elastic: tuple[str, str] | None, tmp_path: Path, films: list[Film]
) -> AsyncIterator[str]:
    """A CatalogService on a real port over a store holding ``FILMS`` films."""
    if elastic is None:
        store = await _sqlite_store(tmp_path / "catalog.db", films)
    else:
        store = await _elastic_store(*elastic, films)
    cache = open_cache("memory://", 60)
    server = grpc.aio.server()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(store, cache), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)
    await store.close()
    await cache.close()


# The recommender reads in the default order (highest rating first); every order keyed by
# a number pages the same way.
_ORDERS = {
    catalog_pb2.FILM_ORDER_RATING_DESC: ("rating", True),
    catalog_pb2.FILM_ORDER_RATING_ASC: ("rating", False),
    catalog_pb2.FILM_ORDER_YEAR_DESC: ("year", True),
    catalog_pb2.FILM_ORDER_YEAR_ASC: ("year", False),
}


def _expected(films: list[Film], field: str, descending: bool) -> list[tuple[bool, float]]:
    """The sort keys in order: unknown last, then by value in the order's direction."""
    keys = [getattr(f, field) for f in films]
    known = sorted((k for k in keys if k is not None), reverse=descending)
    return [(False, k) for k in known] + [(True, 0.0)] * keys.count(None)


async def _list_all(stub: catalog_pb2_grpc.CatalogServiceStub, order: int) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListFilms(
            catalog_pb2.ListFilmsRequest(page_size=100, page_token=token, order_by=order)
        )
        assert page.total_size == FILMS
        seen += [f.id for f in page.films]
        token = page.next_page_token
        if not token:
            return seen


async def test_paging_list_films_by_rating_or_year_returns_every_film_once_in_order(
    catalog_target: str, films: list[Film]
) -> None:
    by_id = {f.id: f for f in films}
    async with grpc.aio.insecure_channel(catalog_target) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for order, (field, descending) in _ORDERS.items():
            seen = await _list_all(stub, order)

            assert len(seen) == FILMS, order
            assert set(seen) == set(by_id), order
            keys = [getattr(by_id[i], field) for i in seen]
            assert [(k is None, k or 0.0) for k in keys] == _expected(films, field, descending)


async def test_recommenders_catalog_read_sees_every_film(
    catalog_target: str, films: list[Film]
) -> None:
    client = CatalogClient(lambda: catalog_target)
    try:
        snapshot = await client.snapshot()
    finally:
        await client.close()

    assert len(snapshot.films) == FILMS
    assert {f.id for f in snapshot.films} == {f.id for f in films}
    assert set(snapshot.summaries) == {f.id for f in films}
