"""Likes through the REST gateway, as a browser calls it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google.rpc import code_pb2

from services.stack import Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import mint_token


@pytest.fixture
async def http(likes_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    token = mint_token(likes_stack, user_id="user-web")
    async with httpx.AsyncClient(
        base_url=f"http://{likes_stack.http_address}",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def test_rate_exclude_and_list_through_rest(http: httpx.AsyncClient) -> None:
    liked = await http.put(f"/v1/me/ratings/{lc.MATRIX}", json={"rating": "RATING_LIKE"})
    assert liked.status_code == 200 and liked.json()["changed"] is True
    assert liked.json()["rating"]["rating"] == "RATING_LIKE"
    again = await http.put(f"/v1/me/ratings/{lc.MATRIX}", json={"rating": "RATING_LIKE"})
    assert again.json().get("changed", False) is False
    await http.put(f"/v1/me/ratings/{lc.HEAT}", json={"rating": "RATING_DISLIKE"})

    ratings = (await http.get("/v1/me/ratings", params={"rating": "RATING_LIKE"})).json()
    assert [(r["filmId"], r["film"]["title"]) for r in ratings["ratings"]] == [
        (lc.MATRIX, "The Matrix")
    ]
    cleared = await http.delete(f"/v1/me/ratings/{lc.MATRIX}")
    assert cleared.json()["changed"] is True
    remaining = (await http.get("/v1/me/ratings")).json()["ratings"]
    assert [r["filmId"] for r in remaining] == [lc.HEAT]

    assert (await http.put(f"/v1/me/exclusions/{lc.AMELIE}")).json()["changed"] is True
    exclusions = (await http.get("/v1/me/exclusions")).json()["exclusions"]
    assert [x["filmId"] for x in exclusions] == [lc.AMELIE]
    assert (await http.delete(f"/v1/me/exclusions/{lc.AMELIE}")).json()["changed"] is True
    assert (await http.get("/v1/me/exclusions")).json().get("exclusions", []) == []

    asked = await http.post("/v1/me/more-like-this", json={"filmId": lc.MATRIX})
    assert asked.status_code == 200 and asked.json()["requestTime"]


async def test_film_stats_are_public(likes_stack: Stack, http: httpx.AsyncClient) -> None:
    await http.put(f"/v1/me/ratings/{lc.HEAT}", json={"rating": "RATING_DISLIKE"})
    async with httpx.AsyncClient(base_url=f"http://{likes_stack.http_address}") as anonymous:
        reply = await anonymous.get("/v1/films:stats", params={"film_ids": [lc.HEAT, lc.MATRIX]})
    assert reply.status_code == 200
    assert [(s["filmId"], s.get("dislikes")) for s in reply.json()["stats"]] == [
        (lc.HEAT, "1"),
        (lc.MATRIX, "0"),
    ]


async def test_rest_errors_name_the_problem(likes_stack: Stack, http: httpx.AsyncClient) -> None:
    missing = await http.put(f"/v1/me/ratings/{lc.NO_TITLE}", json={"rating": "RATING_LIKE"})
    assert missing.status_code == 404 and missing.json()["code"] == code_pb2.NOT_FOUND
    invalid = await http.put("/v1/me/exclusions/not-a-uuid")
    assert invalid.status_code == 400 and "film_id" in invalid.text
    async with httpx.AsyncClient(base_url=f"http://{likes_stack.http_address}") as anonymous:
        assert (await anonymous.get("/v1/me/ratings")).status_code == 401
