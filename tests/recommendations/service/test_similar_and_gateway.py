"""GetSimilarFilms and the REST routes of the recommendation service through the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import httpx
import pytest

from cinema.recommendations.v1 import recommendations_pb2 as pb
from services.stack import Stack
from tests.recommendations.service.conftest import Client, StartStack
from tests.recommendations.service.films import IDS

Connect = Callable[..., Client]


async def test_similar_films_share_genre_and_people(
    start_stack: StartStack, connect: Connect
) -> None:
    user = connect(await start_stack())
    request = pb.GetSimilarFilmsRequest(film_id=IDS["Before Sunrise"], page_size=3)
    answer = await user.recommendations.GetSimilarFilms(request)  # public: no token
    ids = [item.film.id for item in answer.items]
    assert ids[0] == IDS["Before Sunset"]
    assert IDS["Before Sunrise"] not in ids
    assert answer.items[0].reasons[0].text == "Похоже на «Before Sunrise»"


async def test_similar_films_leave_out_what_the_caller_rated(
    start_stack: StartStack, connect: Connect
) -> None:
    user = connect(await start_stack())
    await user.rate(IDS["Before Sunset"])
    request = pb.GetSimilarFilmsRequest(film_id=IDS["Before Sunrise"])
    async with asyncio.timeout(2):
        while True:
            answer = await user.recommendations.GetSimilarFilms(request, metadata=user.metadata)
            if IDS["Before Sunset"] not in [i.film.id for i in answer.items]:
                break
            await asyncio.sleep(0.02)
    anonymous = await user.recommendations.GetSimilarFilms(request)
    assert IDS["Before Sunset"] in [i.film.id for i in anonymous.items]


async def test_similar_films_of_an_unknown_film_is_not_found(
    start_stack: StartStack, connect: Connect
) -> None:
    user = connect(await start_stack())
    missing = pb.GetSimilarFilmsRequest(film_id="aaaaaaaa-0000-4000-8000-999999999999")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await user.recommendations.GetSimilarFilms(missing)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await user.recommendations.GetSimilarFilms(pb.GetSimilarFilmsRequest(film_id="x"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "film_id" in (error.value.details() or "")


async def test_rest_routes_through_the_gateway(start_stack: StartStack, connect: Connect) -> None:
    stack: Stack = await start_stack()
    user = connect(stack)
    headers = {"authorization": dict(user.metadata)["authorization"]}
    async with httpx.AsyncClient(base_url=f"http://{stack.http_address}") as http:
        mine = await http.get("/v1/me/recommendations", params={"pageSize": 2}, headers=headers)
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert body["fallback"] is True and len(body["items"]) == 2
        similar = await http.get(f"/v1/films/{IDS['Heat']}/similar")
        assert similar.status_code == 200
        assert IDS["Collateral"] in [i["film"]["id"] for i in similar.json()["items"]]
        refreshed = await http.post("/v1/me/recommendations:refresh", json={}, headers=headers)
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["items"]
        anonymous = await http.get("/v1/me/recommendations")
        assert anonymous.status_code == 401
