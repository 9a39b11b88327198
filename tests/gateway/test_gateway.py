"""The REST-JSON edge, driven over HTTP against real gRPC servicers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import structlog
from google.api import annotations_pb2
from google.rpc import code_pb2

from gateway.discovery import discover_services
from tests.gateway.servicers import GOOD_TOKEN, Received, sse_events

ANN = {"Authorization": f"Bearer {GOOD_TOKEN}"}
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"


async def test_every_annotated_rpc_is_listed_in_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    listed = 0
    for service in discover_services():
        for method in service.methods:
            options: Any = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            verb = rule.WhichOneof("pattern")
            operation = document["paths"][getattr(rule, verb)][verb]
            assert operation["operationId"] == f"{service.name}_{method.name}"
            assert method.input_type.full_name in document["components"]["schemas"]
            assert method.output_type.full_name in document["components"]["schemas"]
            listed += 1
    assert listed > 20
    assert "/v1/auth/register" in document["paths"]


async def test_openapi_describes_parameters_and_proto3_json_types(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    get_film = document["paths"]["/v1/films/{film_id}"]["get"]
    assert {"name": "film_id", "in": "path"}.items() <= get_film["parameters"][0].items()
    batch = document["paths"]["/v1/films:batchGet"]["get"]["parameters"]
    assert batch[0]["name"] == "film_ids" and batch[0]["schema"]["type"] == "array"
    schemas = document["components"]["schemas"]
    stats = schemas["cinema.likes.v1.FilmStats"]["properties"]
    assert {"type": "string", "format": "int64"}.items() <= stats["likes"].items()
    rating = schemas["cinema.likes.v1.FilmRating"]["properties"]
    assert {"type": "string", "format": "date-time"}.items() <= rating["updateTime"].items()
    assert "RATING_LIKE" in rating["rating"]["enum"]
    register = document["paths"]["/v1/auth/register"]["post"]
    assert "200" in register["responses"]
    watch = document["paths"]["/v1/me/recommendations:watch"]["get"]
    assert "text/event-stream" in watch["responses"]["200"]["content"]
    assert "/v1/me/recommendations:refresh" in document["paths"]
    assert "StreamEvents" not in json.dumps(document["paths"])


async def test_swagger_ui_and_health_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_path_parameter_reaches_servicer(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.get("/v1/films/tt0069293")
    assert response.status_code == 200
    assert response.json()["film"] == {
        "id": "tt0069293",
        "title": "Solaris",
        "year": 1972,
        "description": "",
        "type": "FILM_TYPE_UNSPECIFIED",
        "certificate": "",
        "genres": [],
        "directors": [],
        "actors": [],
        "writers": [],
    }
    assert received.requests["GetFilm"].film_id == "tt0069293"


async def test_custom_verb_route_wins_over_path_parameter(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.get("/v1/films:search", params={"query": "stalker", "pageSize": "5"})
    assert response.status_code == 200
    assert response.json()["films"][0]["title"] == "Stalker"
    assert response.json()["totalSize"] == 1
    request = received.requests["SearchFilms"]
    assert (request.query, request.page_size) == ("stalker", 5)


async def test_repeated_query_parameter_collects_every_value(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.get("/v1/films:batchGet?film_ids=a&film_ids=b&filmIds=c")
    assert response.status_code == 200
    assert list(received.requests["BatchGetFilms"].film_ids) == ["a", "b", "c"]
    assert response.json()["missingIds"] == ["a", "b", "c"]


async def test_path_and_body_fill_one_request(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.put("/v1/me/ratings/tt42", json={"rating": "RATING_LIKE"})
    assert response.status_code == 200
    assert response.json() == {
        "rating": {"filmId": "tt42", "rating": "RATING_LIKE"},
        "changed": True,
    }
    request = received.requests["RateFilm"]
    assert (request.film_id, request.rating) == ("tt42", 1)


async def test_nested_body_with_proto_names_reaches_servicer(
    client: httpx.AsyncClient, received: Received
) -> None:
    body = {"queries": [{"title": "Solaris", "year": 1972}], "min_confidence": 0.5}
    response = await client.post("/v1/films:matchTitles", json=body)
    assert response.status_code == 200
    request = received.requests["MatchTitles"]
    assert request.queries[0].title == "Solaris" and request.queries[0].year == 1972
    assert request.min_confidence == 0.5


async def test_credentials_and_the_real_client_address_reach_servicer_metadata(
    client: httpx.AsyncClient, received: Received
) -> None:
    headers = {
        "Authorization": "Bearer token-123",
        "X-Request-Id": "req-42",
        "User-Agent": "cinema-web/1.0",
        "X-Forwarded-For": "203.0.113.9",
    }
    response = await client.get("/.well-known/jwks.json", headers=headers)
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert response.json()["keys"][0]["kid"] == "k1"
    metadata = received.metadata["GetJwks"]
    assert metadata["authorization"] == "Bearer token-123"
    assert metadata["x-request-id"] == "req-42"
    assert metadata["x-forwarded-user-agent"] == "cinema-web/1.0"
    # A client cannot pass itself off as another address.
    assert metadata["x-forwarded-for"] == "127.0.0.1"


async def test_cookies_pass_only_to_and_from_the_session_cookie_rpcs(
    client: httpx.AsyncClient, received: Received
) -> None:
    cookie = {"Cookie": "__Host-cinema_refresh=abc; theme=dark"}
    assert (await client.get("/.well-known/jwks.json", headers=cookie)).status_code == 200
    assert "cookie" not in received.metadata["GetJwks"]
    logout = await client.post("/v1/auth/logout", json={"sessionCookie": True}, headers=cookie)
    assert logout.status_code == 200, logout.text
    assert received.metadata["Logout"]["cookie"] == cookie["Cookie"]
    assert received.requests["Logout"].session_cookie is True
    # `set-cookie` comes back as Set-Cookie; no other metadata becomes a header.
    assert logout.headers.get_list("set-cookie") == ["__Host-cinema_refresh=; Max-Age=0"]
    assert "x-internal" not in logout.headers


async def test_request_id_is_generated_when_absent(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.get("/.well-known/jwks.json")
    generated = response.headers["x-request-id"]
    assert generated and received.metadata["GetJwks"]["x-request-id"] == generated


async def test_register_answers_200_created(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/register", json={"login": "ann", "password": "pw"})
    assert response.status_code == 200
    assert response.json()["user"]["login"] == "ann"
    assert response.json()["user"]["roles"] == ["ROLE_USER"]


async def test_invalid_argument_is_400_with_field_violation(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/films:matchTitles", json={"queries": []})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code_pb2.INVALID_ARGUMENT
    assert body["message"] == "no titles to match"
    assert body["details"] == [
        {
            "@type": BAD_REQUEST_TYPE,
            "fieldViolations": [
                {"field": "queries", "description": "at least one title is required"}
            ],
        }
    ]


async def test_unknown_json_field_is_400_naming_it(client: httpx.AsyncClient) -> None:
    body = {"login": "ann", "password": "pw", "nickname": "annie"}
    response = await client.post("/v1/auth/register", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code_pb2.INVALID_ARGUMENT
    violation = response.json()["details"][0]
    assert violation["@type"] == BAD_REQUEST_TYPE
    assert violation["fieldViolations"][0]["field"] == "nickname"


async def test_wrongly_typed_value_is_400_naming_the_nested_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/films:matchTitles", json={"queries": [{"title": "Solaris", "year": "soon"}]}
    )
    assert response.status_code == 400
    violation = response.json()["details"][0]["fieldViolations"][0]
    assert violation["field"] == "queries[0].year"


async def test_malformed_json_and_bad_query_values_are_400(client: httpx.AsyncClient) -> None:
    malformed = await client.post(
        "/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == code_pb2.INVALID_ARGUMENT
    bad_int = await client.get("/v1/films:search", params={"query": "x", "page_size": "many"})
    assert bad_int.status_code == 400
    assert bad_int.json()["details"][0]["fieldViolations"][0]["field"] == "page_size"


async def test_missing_film_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/films/missing")
    assert response.status_code == 404
    assert response.json() == {
        "code": code_pb2.NOT_FOUND,
        "message": "film missing not found",
        "details": [],
    }


async def test_resource_exhausted_is_429_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/films")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json()["details"] == [{"@type": RETRY_INFO_TYPE, "retryDelay": "2.000000001s"}]


async def test_unexpected_server_error_hides_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/films/crash")
    assert response.status_code == 500
    assert response.json() == {"code": code_pb2.UNKNOWN, "message": "internal error", "details": []}
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


async def test_an_upstream_failure_is_logged_as_a_structured_line_with_the_request_id(
    client: httpx.AsyncClient,
) -> None:
    with structlog.testing.capture_logs() as logged:
        response = await client.get("/v1/films/crash", headers={"x-request-id": "req-7"})
    assert response.status_code == 500
    (line,) = [e for e in logged if e["event"] == "upstream_error"]
    assert line["request_id"] == "req-7" and line["code"] == "UNKNOWN"
    assert line["log_level"] == "error"


async def test_unimplemented_rpc_is_501(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/genres")
    assert response.status_code == 501
    assert response.json()["code"] == code_pb2.UNIMPLEMENTED


async def test_wrong_verb_is_405(client: httpx.AsyncClient) -> None:
    assert (await client.delete("/v1/films:search")).status_code == 405


async def test_watch_streams_updates_in_order_as_server_sentsse_events(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.get("/v1/me/recommendations:watch?pageSize=3", headers=ANN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    titles = [data["items"][0]["film"]["title"] for _, data in events]  # type: ignore[index]
    assert titles == ["Film 0", "Film 1", "Film 2"]
    assert {kind for kind, _ in events} == {"message"}
    assert received.requests["WatchMyRecommendations"].page_size == 3


async def test_stream_failure_is_sent_as_error_event(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me/recommendations:watch?pageSize=13", headers=ANN)
    events = sse_events(response.text)
    assert [kind for kind, _ in events] == ["message", "error"]
    assert events[-1][1] == {
        "code": code_pb2.UNAVAILABLE,
        "message": "service unavailable",
        "details": [],
    }


async def test_client_disconnect_cancels_the_stream(
    client: httpx.AsyncClient, received: Received
) -> None:
    watch = "/v1/me/recommendations:watch?pageSize=1000"
    async with client.stream("GET", watch, headers=ANN) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                break
    for _ in range(100):
        if received.cancelled.is_set():
            break
        await asyncio.sleep(0.05)
    assert received.cancelled.is_set()
