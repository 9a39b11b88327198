"""Errors, as both edges answer them: google.rpc's code mapping and a `google.rpc.Status`
body, `{"code": <number>, "message": ..., "details": [...]}`, whatever refused the request
(the service, the gateway or Envoy itself)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from google.rpc import code_pb2

from tests.fixtures.production import PARTNER_ORIGIN
from tests.rest.conftest import MATRIX, Edge

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
UNKNOWN_FILM = "00000000-0000-4000-8000-000000000000"


def status(response: httpx.Response, http_status: int, code: int) -> dict[str, Any]:
    """The error body, once its status, media type and shape are the contract's."""
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code and body["message"], body
    assert isinstance(body["details"], list)
    return body


async def test_a_missing_film_is_404_with_the_services_message(http: httpx.AsyncClient) -> None:
    body = status(await http.get(f"/v1/films/{UNKNOWN_FILM}"), 404, code_pb2.NOT_FOUND)
    assert UNKNOWN_FILM in body["message"]


async def test_a_route_that_needs_a_token_is_401_without_one(http: httpx.AsyncClient) -> None:
    status(await http.get("/v1/me/ratings"), 401, code_pb2.UNAUTHENTICATED)
    forged = {"Authorization": "Bearer not.a.token"}
    status(await http.get("/v1/auth/me", headers=forged), 401, code_pb2.UNAUTHENTICATED)


async def test_a_broken_rule_is_400_with_a_field_violation_naming_the_field(
    http: httpx.AsyncClient,
) -> None:
    reply = await http.post("/v1/auth/register", json={"login": "ok-login", "password": "short"})
    body = status(reply, 400, code_pb2.INVALID_ARGUMENT)
    (detail,) = body["details"]
    assert detail["@type"] == BAD_REQUEST
    assert [v["field"] for v in detail["fieldViolations"]] == ["password"]


async def test_a_value_that_does_not_fit_its_field_is_400_naming_it(
    http: httpx.AsyncClient,
) -> None:
    reply = await http.get("/v1/films:search", params={"query": "x", "pageSize": "many"})
    body = status(reply, 400, code_pb2.INVALID_ARGUMENT)
    assert "page_size" in body["message"].replace("pageSize", "page_size"), body


async def test_an_unknown_path_is_404(http: httpx.AsyncClient) -> None:
    body = status(await http.get("/v1/nothing-here"), 404, code_pb2.NOT_FOUND)
    assert body["message"] == "no route for GET /v1/nothing-here"


async def test_a_wrong_method_is_405_listing_the_allowed_ones(http: httpx.AsyncClient) -> None:
    reply = await http.post(f"/v1/me/ratings/{MATRIX}", json={})
    body = status(reply, 405, code_pb2.UNIMPLEMENTED)
    assert reply.headers["allow"] == "DELETE, PUT"
    assert (
        body["message"] == f"POST is not allowed on /v1/me/ratings/{MATRIX}; allowed: DELETE, PUT"
    )


async def test_a_taken_login_is_409(http: httpx.AsyncClient) -> None:
    account = {"login": f"taken-{uuid.uuid4().hex[:8]}", "password": "long enough pw"}
    assert (await http.post("/v1/auth/register", json=account)).status_code == 200
    status(await http.post("/v1/auth/register", json=account), 409, code_pb2.ALREADY_EXISTS)


async def test_an_oversized_body_is_413_and_an_oversized_head_431(
    http: httpx.AsyncClient,
) -> None:
    too_big = json.dumps({"queries": [{"title": "x" * 1024}] * 1100})
    reply = await http.post(
        "/v1/films:matchTitles", content=too_big, headers={"content-type": "application/json"}
    )
    status(reply, 413, code_pb2.RESOURCE_EXHAUSTED)
    huge_head = {"x-padding": "x" * 40 * 1024}
    status(await http.get("/v1/genres", headers=huge_head), 431, code_pb2.RESOURCE_EXHAUSTED)


async def test_unknown_query_parameters_are_ignored_on_every_method(
    http: httpx.AsyncClient,
) -> None:
    tracking = {"utm_source": "newsletter", "_": "123"}
    search = await http.get("/v1/films:search", params={"query": "matrix", **tracking})
    assert search.status_code == 200, search.text
    assert search.json()["films"][0]["id"] == MATRIX
    account = {"login": f"utm-{uuid.uuid4().hex[:8]}", "password": "long enough pw"}
    registered = await http.post("/v1/auth/register", params=tracking, json=account)
    assert registered.status_code == 200, registered.text


async def test_every_answer_carries_the_security_headers_and_no_grpc_headers(
    http: httpx.AsyncClient, edge: Edge
) -> None:
    for reply in (
        await http.get(f"/v1/films/{MATRIX}"),
        await http.get(f"/v1/films/{UNKNOWN_FILM}"),
        await http.get("/v1/me/ratings"),
        await http.get("/v1/nowhere"),
    ):
        headers = reply.headers
        assert headers["x-content-type-options"] == "nosniff", (edge.name, reply.url)
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["content-security-policy"].startswith("default-src 'none'")
        assert not [name for name in headers if name.startswith(("grpc-", "x-envoy-"))], headers


async def test_the_request_id_is_answered(http: httpx.AsyncClient) -> None:
    marker = f"rest-{uuid.uuid4().hex}"
    reply = await http.get(f"/v1/films/{MATRIX}", headers={"x-request-id": marker})
    assert reply.headers["x-request-id"] == marker
    made_up = await http.get(f"/v1/films/{MATRIX}")
    assert made_up.headers["x-request-id"]


async def test_a_body_labelled_other_than_json_is_415(http: httpx.AsyncClient) -> None:
    account = json.dumps({"login": "nobody-here", "password": "long enough pw"})
    for label in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        reply = await http.post("/v1/auth/login", content=account, headers={"content-type": label})
        body = status(reply, 415, code_pb2.INVALID_ARGUMENT)
        assert "application/json" in body["message"], body
    charset = {"content-type": "Application/JSON; charset=utf-8"}
    labelled = await http.post("/v1/auth/login", content=account, headers=charset)
    status(labelled, 401, code_pb2.UNAUTHENTICATED)  # read as JSON: a wrong login


async def test_only_the_allowed_origin_may_call_from_a_browser(http: httpx.AsyncClient) -> None:
    preflight = await http.options(
        f"/v1/me/ratings/{MATRIX}",
        headers={
            "Origin": PARTNER_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == PARTNER_ORIGIN
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    simple = await http.get(f"/v1/films/{MATRIX}", headers={"Origin": PARTNER_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == PARTNER_ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    for evil in (
        await http.options(
            "/v1/auth/login",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        ),
        await http.get(f"/v1/films/{MATRIX}", headers={"Origin": "https://evil.example"}),
    ):
        assert "access-control-allow-origin" not in evil.headers, evil.headers
