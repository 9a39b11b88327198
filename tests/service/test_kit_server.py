"""The kit around any servicer: what a client sees on failure, request ids, identity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.auth.keys import new_signing_key
from services.catalog.service import ACCESS, NAME
from services.kit import clients
from services.kit.context import current_caller, current_request_id
from services.kit.errors import InvalidArgument, NotFound, ResourceExhausted
from services.kit.keyring import AccessTokenRules, KeyRing
from services.kit.server import GrpcServer, ServiceSpec
from services.kit.tokens import JwksCache, TokenVerifier


class FailingCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    """Each RPC fails in its own way."""

    def __init__(self) -> None:
        self.target = ""

    async def GetFilm(self, request: Any, context: Any) -> Any:
        raise NotFound(f"film {request.film_id} not found")

    async def SearchFilms(self, request: Any, context: Any) -> Any:
        raise InvalidArgument({"query": "must not be empty", "page_size": "must be <= 100"})

    async def ListGenres(self, request: Any, context: Any) -> Any:
        raise RuntimeError("connection to postgresql://admin:hunter2@db failed")

    async def SearchPersons(self, request: Any, context: Any) -> Any:
        raise ResourceExhausted("slow down", retry_after_seconds=2.5)

    async def GetPerson(self, request: Any, context: Any) -> Any:
        raise NotFound(f"seen request id {current_request_id.get()}")

    async def BatchGetFilms(self, request: Any, context: Any) -> Any:
        who = current_caller.get()
        raise NotFound(f"caller {who.user_id if who else 'anonymous'}")

    async def ListFilms(self, request: Any, context: Any) -> Any:
        # One hop further: the request id must reach the next service unchanged.
        async with clients.channel(self.target) as channel:
            stub = catalog_pb2_grpc.CatalogServiceStub(channel)
            try:
                await stub.GetPerson(catalog_pb2.GetPersonRequest(person_id="p"))
            except grpc.aio.AioRpcError as error:
                raise NotFound(error.details() or "") from error
        raise AssertionError("unreachable")


KEYS = KeyRing([new_signing_key(datetime.now(UTC))])
RULES = AccessTokenRules("cinema-auth", "cinema", timedelta(minutes=15))


async def _jwks() -> Mapping[str, Any]:
    return KEYS.jwks()


@pytest.fixture
async def catalog() -> AsyncIterator[catalog_pb2_grpc.CatalogServiceStub]:
    servicer = FailingCatalog()
    spec = ServiceSpec(
        name=NAME,
        register=lambda server: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(
            servicer, server
        ),
        access=ACCESS,
    )
    server = GrpcServer(
        [spec], TokenVerifier(JwksCache(_jwks), RULES.issuer, RULES.audience), "127.0.0.1", 0
    )
    servicer.target = server.address
    await server.start()
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield catalog_pb2_grpc.CatalogServiceStub(channel)
    await server.stop(0)


async def _error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def test_not_found_keeps_its_message(catalog: catalog_pb2_grpc.CatalogServiceStub) -> None:
    error = await _error(catalog.GetFilm(catalog_pb2.GetFilmRequest(film_id="f9")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "film f9 not found"


async def test_invalid_argument_names_every_wrong_field(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    error = await _error(catalog.SearchFilms(catalog_pb2.SearchFilmsRequest()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["query", "page_size"]


async def test_resource_exhausted_says_when_to_retry(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    error = await _error(catalog.SearchPersons(catalog_pb2.SearchPersonsRequest(query="x")))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(error)
    assert status is not None
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert retry.retry_delay.ToMilliseconds() == 2500


async def test_unexpected_failure_leaks_nothing_internal(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    call = catalog.ListGenres(
        catalog_pb2.ListGenresRequest(), metadata=(("x-request-id", "req-42"),)
    )
    error = await _error(call)
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error (request id req-42)"
    assert "hunter2" not in (error.debug_error_string() or "")


async def test_request_id_travels_to_the_next_hop(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    call = catalog.ListFilms(catalog_pb2.ListFilmsRequest(), metadata=(("x-request-id", "req-7"),))
    error = await _error(call)
    assert error.details() == "seen request id req-7"


async def _caller_seen(catalog: catalog_pb2_grpc.CatalogServiceStub, token: str | None) -> str:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
    call = catalog.BatchGetFilms(catalog_pb2.BatchGetFilmsRequest(), metadata=metadata)
    return (await _error(call)).details() or ""


async def test_public_rpc_knows_a_signed_in_caller(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    token, _ = KEYS.issue_access_token("u-5", ["user"], RULES, datetime.now(UTC))
    assert await _caller_seen(catalog, token) == "caller u-5"


async def test_public_rpc_serves_anonymous_and_stale_tokens_alike(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=1)
    expired, _ = KEYS.issue_access_token("u-5", ["user"], RULES, long_ago)
    assert await _caller_seen(catalog, None) == "caller anonymous"
    assert await _caller_seen(catalog, expired) == "caller anonymous"
