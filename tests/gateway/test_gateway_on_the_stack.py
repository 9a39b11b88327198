"""The gateway in front of the real services, as `cinema up` runs them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google.rpc import code_pb2

from services.stack import Stack


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{stack.http_address}", timeout=30) as client:
        yield client


async def test_a_page_watches_its_recommendations_with_a_ticket(http: httpx.AsyncClient) -> None:
    anonymous = await http.get("/v1/me/recommendations:watch")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == code_pb2.UNAUTHENTICATED
    forged = await http.post("/v1/stream-tickets", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    account = {"login": "page", "password": "long enough pw"}
    assert (await http.post("/v1/auth/register", json=account)).status_code == 200
    token = (await http.post("/v1/auth/login", json=account)).json()["tokens"]["accessToken"]
    issued = await http.post("/v1/stream-tickets", headers={"Authorization": f"Bearer {token}"})
    assert issued.status_code == 200, issued.text
    watch = f"/v1/me/recommendations:watch?ticket={issued.json()['ticket']}&pageSize=3"
    async with http.stream("GET", watch) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                break
    assert '"fallback": true' in line


async def test_metrics_are_not_served_on_the_http_port(http: httpx.AsyncClient) -> None:
    for path in ("/metrics", "/metrics/"):
        response = await http.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == code_pb2.NOT_FOUND
