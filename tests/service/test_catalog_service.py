"""The catalog as clients see it: gRPC on the embedded stack and REST through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from etl.pipeline import run_import
from services.kit import clients
from services.stack import SERVICES, Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import embedded_settings


@pytest.fixture
async def catalog_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    settings = embedded_settings(tmp_path / "data")
    settings.process.data_dir.mkdir(parents=True)
    await run_import(settings.catalog, lc.build_legacy_file(tmp_path / "legacy.db"))
    running = Stack(settings, SERVICES, gateway=True)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def http(catalog_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{catalog_stack.http_address}") as client:
        yield client


async def test_film_list_sorts_filters_and_pages(http: httpx.AsyncClient) -> None:
    first = (await http.get("/v1/films", params={"page_size": 2})).json()
    assert [f["title"] for f in first["films"]] == ["The Matrix", "Heat"]
    assert first["totalSize"] == lc.VALID_FILMS
    second = await http.get(
        "/v1/films", params={"page_size": 2, "page_token": first["nextPageToken"]}
    )
    assert [f["title"] for f in second.json()["films"]] == ["Amélie", "The Matrix Reloaded"]
    drama = await http.get(
        "/v1/films", params={"genre_id": lc.DRAMA, "order_by": "FILM_ORDER_TITLE_ASC"}
    )
    assert [f["title"] for f in drama.json()["films"]] == ["Amélie", "Heat"]


async def test_film_list_token_replayed_with_other_filters_is_invalid_argument(
    http: httpx.AsyncClient,
) -> None:
    first = (await http.get("/v1/films", params={"page_size": 2})).json()
    for other in ({"type": "FILM_TYPE_TV_SHOW"}, {"order_by": "FILM_ORDER_YEAR_DESC"}):
        replayed = await http.get(
            "/v1/films", params={"page_size": 2, "page_token": first["nextPageToken"], **other}
        )
        assert replayed.status_code == 400, other
        assert "page_token" in replayed.text, other


async def test_search_film_detail_genres_and_persons(http: httpx.AsyncClient) -> None:
    found = (await http.get("/v1/films:search", params={"query": "matirx"})).json()
    assert found["films"][0]["id"] in {lc.MATRIX, lc.MATRIX_RELOADED}
    film = (await http.get(f"/v1/films/{lc.MATRIX}")).json()["film"]
    assert [d["fullName"] for d in film["directors"]] == ["Lana Wachowski"]
    genres = (await http.get("/v1/genres")).json()["genres"]
    assert [g["name"] for g in genres] == ["Crime", "Drama", "Sci-Fi"]
    person = (await http.get(f"/v1/persons/{lc.REEVES}")).json()["person"]
    assert {f["film"]["id"] for f in person["films"]} == {lc.MATRIX, lc.MATRIX_RELOADED}
    persons = (await http.get("/v1/persons:search", params={"query": "pacino"})).json()
    assert [p["id"] for p in persons["persons"]] == [lc.PACINO]


async def test_missing_film_is_404_and_bad_request_names_the_field(
    http: httpx.AsyncClient,
) -> None:
    missing = await http.get(f"/v1/films/{lc.NO_TITLE}")
    assert missing.status_code == 404
    bad = await http.get("/v1/films:search", params={"query": "  "})
    assert bad.status_code == 400
    assert "query" in bad.text


async def test_match_titles_grounds_llm_titles_over_grpc(catalog_stack: Stack) -> None:
    async with clients.channel(catalog_stack.grpc_address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        response = await stub.MatchTitles(
            catalog_pb2.MatchTitlesRequest(
                queries=[
                    catalog_pb2.TitleQuery(title="Matrix, The (1999)"),
                    catalog_pb2.TitleQuery(title="Gone with the Wind"),
                ]
            )
        )
        assert response.matches[0].matched and response.matches[0].film.id == lc.MATRIX
        assert not response.matches[1].matched and not response.matches[1].HasField("film")
        batch = await stub.BatchGetFilms(
            catalog_pb2.BatchGetFilmsRequest(film_ids=[lc.HEAT, lc.NO_TITLE, lc.MATRIX])
        )
        assert [f.id for f in batch.films] == [lc.HEAT, lc.MATRIX]
        assert list(batch.missing_ids) == [lc.NO_TITLE]
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.ListFilms(catalog_pb2.ListFilmsRequest(page_size=-1))
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
