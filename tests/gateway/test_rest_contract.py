"""The REST contract as browsers and partner teams meet it: routes, parameters, headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google.rpc import code_pb2

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.gateway.conftest import serving
from tests.gateway.servicers import Received

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


async def test_unknown_query_parameters_on_get_are_ignored(
    client: httpx.AsyncClient, received: Received
) -> None:
    params = {"query": "stalker", "utm_source": "newsletter", "_": "123", "a.b": "c"}
    response = await client.get("/v1/films:search", params=params)
    assert response.status_code == 200, response.text
    assert received.requests["SearchFilms"].query == "stalker"


async def test_a_known_query_parameter_with_a_bad_value_is_still_400(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/films:search", params={"query": "x", "pageSize": "many"})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldViolations"][0]["field"] == "page_size"


async def test_unknown_path_is_404_in_our_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "code": code_pb2.NOT_FOUND,
        "message": "no route for GET /v1/no-such-thing",
        "details": [],
    }


async def test_wrong_method_is_405_listing_every_allowed_method(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/me/ratings/tt42", json={})
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"PUT", "DELETE"}
    body = response.json()
    assert body["code"] == code_pb2.UNIMPLEMENTED and body["details"] == []
    assert "POST" in body["message"] and "DELETE, PUT" in body["message"]
    search = await client.delete("/v1/films:search")
    assert search.status_code == 405
    assert search.headers["allow"] == "GET"


async def test_invalid_enum_value_lists_the_allowed_values(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/me/ratings/tt42", json={"rating": "RATING_LOVE"})
    assert response.status_code == 400
    violation = response.json()["details"][0]["fieldViolations"][0]
    assert violation["field"] == "rating"
    assert "RATING_LIKE, RATING_DISLIKE" in violation["description"], violation
    assert "cinema.likes.v1.Rating" in violation["description"]
    in_query = await client.get("/v1/me/ratings", params={"rating": "LOVE"})
    description = in_query.json()["details"][0]["fieldViolations"][0]["description"]
    assert "RATING_LIKE, RATING_DISLIKE" in description


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/v1/films/f1"),
        await client.get("/v1/films/missing"),
        await client.get("/v1/nowhere"),
        await client.get("/openapi.json"),
        await client.get("/healthz"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", response.url
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    api = await client.get("/v1/films/f1")
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["content-security-policy"].startswith("default-src 'none'")


async def test_login_answers_are_never_cached(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/register", json={"login": "bo", "password": "pw"})
    assert response.headers["cache-control"] == "no-store"


async def test_cross_origin_calls_are_refused_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get("/v1/films/f1", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture(scope="module")
async def cors_gateway(grpc_target: str) -> AsyncIterator[str]:
    settings = GatewaySettings(cors_origins="https://cinema.example, https://partner.example")
    async with serving(create_app(grpc_target, settings=settings)) as url:
        yield url


async def test_configured_origins_may_call_and_read_the_request_id(cors_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=cors_gateway) as http:
        preflight = await http.options(
            "/v1/me/ratings/tt42",
            headers={
                "Origin": "https://partner.example",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://partner.example"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        simple = await http.get("/v1/films/f1", headers={"Origin": "https://cinema.example"})
        assert simple.headers["access-control-allow-origin"] == "https://cinema.example"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
        other = await http.get("/v1/films/f1", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_metrics_are_not_on_the_public_port(client: httpx.AsyncClient) -> None:
    for path in ("/metrics", "/metrics/"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert response.json()["code"] == code_pb2.NOT_FOUND
