"""Which films exist: known films cost no catalog call, a burst of unknown ones one call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.kit.errors import NotFound, Unavailable
from services.likes.films import FilmDirectory

FILMS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 21)]
MISSING = "00000000-0000-4000-8000-999999999999"


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def BatchGetFilms(
        self, request: catalog_pb2.BatchGetFilmsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BatchGetFilmsResponse:
        self.asked.append(list(request.film_ids))
        await asyncio.sleep(0.01)
        known = [i for i in request.film_ids if i in FILMS]
        return catalog_pb2.BatchGetFilmsResponse(
            films=[catalog_pb2.Film(id=i, title=f"film {i[-2:]}") for i in known],
            missing_ids=[i for i in request.film_ids if i not in FILMS],
        )


@pytest.fixture
async def catalog() -> AsyncIterator[tuple[FakeCatalog, str]]:
    server = grpc.aio.server()
    fake = FakeCatalog()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield fake, f"127.0.0.1:{port}"
    await server.stop(None)


async def test_a_burst_of_unknown_films_is_one_call_and_known_films_none(
    catalog: tuple[FakeCatalog, str],
) -> None:
    fake, address = catalog
    films = FilmDirectory(lambda: address, 300.0, 10.0)
    try:
        await asyncio.gather(*(films.require(FILMS[n % 10]) for n in range(100)))
        assert len(fake.asked) == 1
        assert sorted(fake.asked[0]) == sorted(FILMS[:10])
        await asyncio.gather(*(films.require(FILMS[n % 10]) for n in range(100)))
        assert len(fake.asked) == 1  # known: no round trip
        with pytest.raises(NotFound):
            await films.require(MISSING)
        found = await films.lookup([FILMS[0], FILMS[15], MISSING])
        assert found[FILMS[0]] is not None and found[FILMS[15]] is not None
        assert found[MISSING] is None
    finally:
        await films.close()


async def test_a_cancelled_caller_leaves_the_answer_to_the_others(
    catalog: tuple[FakeCatalog, str],
) -> None:
    fake, address = catalog
    films = FilmDirectory(lambda: address, 300.0, 10.0)
    try:
        first = asyncio.create_task(films.require(FILMS[0]))
        second = asyncio.create_task(films.require(FILMS[0]))
        await asyncio.sleep(0.003)
        first.cancel()
        await second
        assert first.cancelled()
        assert len(fake.asked) == 1
    finally:
        await films.close()


async def test_catalog_down_is_unavailable_and_a_later_call_asks_again() -> None:
    films = FilmDirectory(lambda: "127.0.0.1:1", 300.0, 10.0)
    try:
        with pytest.raises(Unavailable):
            await films.require(FILMS[0])
        with pytest.raises(Unavailable):
            await films.require(FILMS[0])
    finally:
        await films.close()
