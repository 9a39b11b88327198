"""Server-sent event routes: refused like any route before they start; tickets for pages."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from google.rpc import code_pb2

from tests.gateway.servicers import GOOD_TOKEN, Received, sse_events

WATCH = "/v1/me/recommendations:watch"
ANN = {"Authorization": f"Bearer {GOOD_TOKEN}"}


async def test_stream_without_a_token_is_401_before_it_starts(client: httpx.AsyncClient) -> None:
    response = await client.get(WATCH, params={"pageSize": "3"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "code": code_pb2.UNAUTHENTICATED,
        "message": "missing access token",
        "details": [],
    }


async def test_invalid_stream_request_is_400_before_it_starts(client: httpx.AsyncClient) -> None:
    response = await client.get(WATCH, params={"pageSize": "-1"}, headers=ANN)
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldViolations"][0]["field"] == "page_size"


async def test_ticket_opens_a_stream_for_a_page_that_cannot_send_headers(
    client: httpx.AsyncClient, received: Received
) -> None:
    issued = await client.post("/v1/stream-tickets", headers=ANN)
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    ticket = issued.json()["ticket"]
    expires = datetime.fromisoformat(issued.json()["expireTime"])
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 61
    # EventSource sends no Authorization: the ticket in the URL stands for it.
    response = await client.get(WATCH, params={"pageSize": "2", "ticket": ticket})
    assert response.status_code == 200, response.text
    assert [kind for kind, _ in sse_events(response.text)] == ["message", "message"]
    assert received.metadata["WatchMyRecommendations"]["authorization"] == ANN["Authorization"]
    assert received.requests["WatchMyRecommendations"].page_size == 2


async def test_ticket_is_single_use(client: httpx.AsyncClient) -> None:
    ticket = (await client.post("/v1/stream-tickets", headers=ANN)).json()["ticket"]
    assert (await client.get(WATCH, params={"pageSize": "1", "ticket": ticket})).status_code == 200
    again = await client.get(WATCH, params={"pageSize": "1", "ticket": ticket})
    assert again.status_code == 401 and again.json()["code"] == code_pb2.UNAUTHENTICATED


async def test_unknown_ticket_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(WATCH, params={"ticket": "made-up"}, headers=ANN)
    assert response.status_code == 401
    assert "ticket" in response.json()["message"]


async def test_ticket_is_not_a_credential_on_other_routes(
    client: httpx.AsyncClient, received: Received
) -> None:
    ticket = (await client.post("/v1/stream-tickets", headers=ANN)).json()["ticket"]
    response = await client.get("/v1/auth/me", params={"ticket": ticket})
    assert response.status_code == 401
    assert "authorization" not in received.metadata["GetMe"]


async def test_tickets_are_issued_only_for_a_valid_token(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v1/stream-tickets")
    assert missing.status_code == 401 and missing.json()["code"] == code_pb2.UNAUTHENTICATED
    wrong = await client.post("/v1/stream-tickets", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == code_pb2.UNAUTHENTICATED
