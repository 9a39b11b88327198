"""Deadlines and cancellations: counted for what they are, and carried to the next hop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.auth.keys import new_signing_key
from services.catalog.service import ACCESS, NAME
from services.kit import clients
from services.kit.errors import NotFound
from services.kit.keyring import KeyRing
from services.kit.server import GrpcServer, ServiceSpec
from services.kit.tokens import JwksCache, TokenVerifier


class SlowCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    """GetFilm and ListGenres take their time; ListFilms asks GetPerson for its deadline."""

    def __init__(self) -> None:
        self.target = ""
        self.gave_up = asyncio.Event()
        self.left_for_later: asyncio.Queue[str] = asyncio.Queue()
        self._background: set[asyncio.Task[None]] = set()

    async def GetFilm(self, request: Any, context: Any) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.gave_up.set()
            raise
        return catalog_pb2.GetFilmResponse()

    async def ListGenres(self, request: Any, context: Any) -> Any:
        await asyncio.sleep(30)
        return catalog_pb2.ListGenresResponse()

    async def GetPerson(self, request: Any, context: Any) -> Any:
        raise NotFound(f"{context.time_remaining()}")

    async def ListFilms(self, request: Any, context: Any) -> Any:
        raise NotFound(await self._downstream_remaining())

    async def SearchFilms(self, request: Any, context: Any) -> Any:
        # Work left running after the answer is not bound by the caller's deadline.
        task = asyncio.create_task(self._later())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return catalog_pb2.SearchFilmsResponse()

    async def SearchPersons(self, request: Any, context: Any) -> Any:
        async with clients.channel(self.target) as channel:
            stub = catalog_pb2_grpc.CatalogServiceStub(channel)
            await stub.ListGenres(catalog_pb2.ListGenresRequest(), timeout=60)
        return catalog_pb2.SearchPersonsResponse()

    async def _later(self) -> None:
        await asyncio.sleep(0.5)
        await self.left_for_later.put(await self._downstream_remaining())

    async def _downstream_remaining(self) -> str:
        """What GetPerson, called with a generous timeout of 60 s, says it has left."""
        async with clients.channel(self.target) as channel:
            stub = catalog_pb2_grpc.CatalogServiceStub(channel)
            try:
                await stub.GetPerson(catalog_pb2.GetPersonRequest(person_id="p"), timeout=60)
            except grpc.aio.AioRpcError as error:
                return error.details() or ""
        raise AssertionError("unreachable")


KEYS = KeyRing([new_signing_key(datetime.now(UTC))])


async def _jwks() -> Mapping[str, Any]:
    return KEYS.jwks()


@pytest.fixture
async def served() -> AsyncIterator[tuple[SlowCatalog, catalog_pb2_grpc.CatalogServiceStub]]:
    servicer = SlowCatalog()
    spec = ServiceSpec(
        name=NAME,
        register=lambda server: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(
            servicer, server
        ),
        access=ACCESS,
    )
    verifier = TokenVerifier(JwksCache(_jwks), "cinema-auth", "cinema")
    server = GrpcServer([spec], verifier, "127.0.0.1", 0)
    servicer.target = server.address
    await server.start()
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield servicer, catalog_pb2_grpc.CatalogServiceStub(channel)
    await server.stop(0)


def _handled(method: str, code: str) -> float:
    labels = {"grpc_service": NAME, "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


async def _counted(method: str, code: str, before: float) -> bool:
    """Waits (boundedly) for the server to count the RPC: it finishes after the client."""
    for _ in range(100):
        if _handled(method, code) > before:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_missed_deadline_is_counted_as_deadline_exceeded(
    served: tuple[SlowCatalog, catalog_pb2_grpc.CatalogServiceStub],
) -> None:
    servicer, catalog = served
    before = {code: _handled("GetFilm", code) for code in ("OK", "DEADLINE_EXCEEDED")}
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await catalog.GetFilm(catalog_pb2.GetFilmRequest(film_id="f"), timeout=0.2)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert await _counted("GetFilm", "DEADLINE_EXCEEDED", before["DEADLINE_EXCEEDED"])
    assert _handled("GetFilm", "OK") == before["OK"]
    # The servicer's work stops at the deadline rather than running on for nobody.
    await asyncio.wait_for(servicer.gave_up.wait(), timeout=5)


async def test_a_cancelled_call_is_counted_as_cancelled(
    served: tuple[SlowCatalog, catalog_pb2_grpc.CatalogServiceStub],
) -> None:
    _, catalog = served
    before = {code: _handled("ListGenres", code) for code in ("OK", "CANCELLED")}
    call = catalog.ListGenres(catalog_pb2.ListGenresRequest(), timeout=30)
    await asyncio.sleep(0.3)
    call.cancel()
    assert await _counted("ListGenres", "CANCELLED", before["CANCELLED"])
    assert _handled("ListGenres", "OK") == before["OK"]


async def test_a_downstream_call_gets_no_more_than_the_callers_remaining_time(
    served: tuple[SlowCatalog, catalog_pb2_grpc.CatalogServiceStub],
) -> None:
    _, catalog = served
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await catalog.ListFilms(catalog_pb2.ListFilmsRequest(), timeout=3)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    downstream_remaining = float(raised.value.details() or "inf")
    assert 0 < downstream_remaining <= 3 - (time.monotonic() - started) + 0.5


async def test_work_left_running_after_the_answer_is_not_cut_by_the_deadline(
    served: tuple[SlowCatalog, catalog_pb2_grpc.CatalogServiceStub],
) -> None:
    servicer, catalog = served
    await catalog.SearchFilms(catalog_pb2.SearchFilmsRequest(query="x"), timeout=0.3)
    remaining = float(await asyncio.wait_for(servicer.left_for_later.get(), timeout=10))
    assert remaining > 30


async def test_a_downstream_call_cut_by_the_deadline_is_deadline_exceeded_not_internal(
    served: tuple[SlowCatalog, catalog_pb2_grpc.CatalogServiceStub],
) -> None:
    _, catalog = served
    before = {code: _handled("SearchPersons", code) for code in ("INTERNAL", "DEADLINE_EXCEEDED")}
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await catalog.SearchPersons(catalog_pb2.SearchPersonsRequest(query="x"), timeout=0.5)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert await _counted("SearchPersons", "DEADLINE_EXCEEDED", before["DEADLINE_EXCEEDED"])
    assert _handled("SearchPersons", "INTERNAL") == before["INTERNAL"]
