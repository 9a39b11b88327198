"""Hostile text in catalog requests: limits hold after Unicode normalisation, so a title or
query that expands (U+FDFA becomes 18 characters) is refused at once instead of costing
seconds of CPU; the work of one request is bounded. On both search backends."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from etl.pipeline import run_import
from services.kit import clients
from services.settings import Settings
from services.stack import SERVICES, Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import embedded_settings

EXPANDING = "\ufdfa"  # ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM: 18 characters in NFKD
GENEROUS_SECONDS = 5.0


@pytest.fixture
async def catalog(
    catalog_settings: Settings, tmp_path: Path
) -> AsyncIterator[catalog_pb2_grpc.CatalogServiceStub]:
    """The catalog service on the backend of ``catalog_settings``, with the legacy films."""
    settings = embedded_settings(
        catalog_settings.process.data_dir,
        catalog_dsn=catalog_settings.catalog.catalog_dsn,
        search_dsn=catalog_settings.catalog.search_dsn,
        search_index_prefix=catalog_settings.catalog.search_index_prefix,
    )
    settings.process.data_dir.mkdir(parents=True)
    await run_import(settings.catalog, lc.build_legacy_file(tmp_path / "legacy.db"))
    stack = Stack(settings, SERVICES, gateway=False)
    await stack.start()
    async with clients.channel(stack.grpc_address) as channel:
        yield catalog_pb2_grpc.CatalogServiceStub(channel)
    await stack.stop()


async def _invalid_fields(call: object) -> list[str]:
    """The fields an INVALID_ARGUMENT answer names, in order."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    status = rpc_status.from_call(raised.value)
    assert status is not None
    fields: list[str] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            fields += [violation.field for violation in bad_request.field_violations]
    return fields


def _titles(*titles: str) -> catalog_pb2.MatchTitlesRequest:
    return catalog_pb2.MatchTitlesRequest(
        queries=[catalog_pb2.TitleQuery(title=title) for title in titles]
    )


async def test_titles_that_expand_past_the_limit_are_refused_at_once(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    started = time.monotonic()
    fields = await _invalid_fields(catalog.MatchTitles(_titles(*[EXPANDING * 300] * 100)))
    assert time.monotonic() - started < GENEROUS_SECONDS
    assert fields[0] == "queries[0].title" and set(fields) <= {
        *(f"queries[{i}].title" for i in range(100)),
        "queries",
    }


async def test_the_normalised_text_of_all_titles_together_is_bounded(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    # Each title is within its own limit once normalised (288 characters), the batch is not.
    fields = await _invalid_fields(catalog.MatchTitles(_titles(*[EXPANDING * 16] * 100)))
    assert fields == ["queries"]


async def test_expanding_titles_within_the_limits_do_bounded_work(
    catalog: catalog_pb2_grpc.CatalogServiceStub,
) -> None:
    started = time.monotonic()
    response = await catalog.MatchTitles(
        _titles(*[EXPANDING * 16 + f" {i}" for i in range(30)], "Matrix, The (1999)")
    )
    assert time.monotonic() - started < GENEROUS_SECONDS
    *expanding, matrix = response.matches
    assert not any(match.matched for match in expanding)
    assert matrix.matched and matrix.film.id == lc.MATRIX


@pytest.mark.parametrize("rpc", ["SearchFilms", "SearchPersons"])
async def test_search_text_that_expands_or_has_too_many_words_names_query(
    catalog: catalog_pb2_grpc.CatalogServiceStub, rpc: str
) -> None:
    request = getattr(catalog_pb2, f"{rpc}Request")
    search = getattr(catalog, rpc)
    started = time.monotonic()
    assert await _invalid_fields(search(request(query=EXPANDING * 200))) == ["query"]
    assert time.monotonic() - started < GENEROUS_SECONDS
    many_words = " ".join(f"word{i}" for i in range(40))
    assert await _invalid_fields(search(request(query=many_words))) == ["query"]
    assert (await search(request(query="matrix"))).total_size > 0 or rpc == "SearchPersons"
