"""What a hostile or careless client sends the edge: huge, deep or mislabelled requests.

Each is refused early with the `{code, message, details}` body, never a 500 or a word
from the transport underneath. Sizes go over a bare socket through a real uvicorn: an
ordinary client would not send half a body, or a header in pieces.
"""

from __future__ import annotations

import json

import httpx
from google.rpc import code_pb2

from gateway.settings import GatewaySettings
from tests.gateway.rawhttp import exchange, request_head

LIMIT = GatewaySettings().http_max_body_bytes
TRANSPORT_WORDS = ("h11", "uvicorn", "Invalid HTTP", "Traceback", "grpc", "larger than max")


def _assert_ours(status: int, body: bytes, expected_status: int, code: int) -> None:
    assert status == expected_status, body[:500]
    document = json.loads(body)
    assert document["code"] == code and document["message"], document
    assert isinstance(document["details"], list)
    assert not [word for word in TRANSPORT_WORDS if word in body.decode()], body


async def test_declared_oversized_body_is_413_before_it_is_read(gateway_url: str) -> None:
    head = request_head(
        "POST",
        "/v1/auth/register",
        ("Content-Type", "application/json"),
        ("Content-Length", str(50 * 1024 * 1024)),
    )
    # Only the first few KiB of the announced 50 MiB are ever sent.
    reply = await exchange(gateway_url, head, b'{"login": "' + b"a" * 4096)
    _assert_ours(reply.status, reply.body, 413, code_pb2.RESOURCE_EXHAUSTED)
    assert str(LIMIT) in reply.json()["message"]


async def test_streamed_body_is_413_as_soon_as_it_passes_the_limit(gateway_url: str) -> None:
    head = request_head(
        "POST",
        "/v1/auth/register",
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
    # Never the closing chunk: the gateway must not wait for the end of the body.
    chunks = [chunk] * (LIMIT // (64 * 1024) + 2)
    reply = await exchange(gateway_url, head, *chunks)
    _assert_ours(reply.status, reply.body, 413, code_pb2.RESOURCE_EXHAUSTED)


async def test_client_sending_an_oversized_body_reads_413(client: httpx.AsyncClient) -> None:
    body = json.dumps({"login": "a" * (16 * LIMIT), "password": "pw"})
    reply = await client.post("/v1/auth/register", content=body, headers=_JSON)
    _assert_ours(reply.status_code, reply.content, 413, code_pb2.RESOURCE_EXHAUSTED)


async def test_body_within_the_limit_passes(client: httpx.AsyncClient) -> None:
    body = {"queries": [{"title": "t" * 1000}] * (LIMIT // 2000)}
    assert (await client.post("/v1/films:matchTitles", json=body)).status_code == 200


async def test_oversized_header_is_431(gateway_url: str) -> None:
    head = request_head("GET", "/v1/films/f1", ("Authorization", "Bearer " + "x" * 60_000))
    reply = await exchange(gateway_url, head)
    _assert_ours(reply.status, reply.body, 431, code_pb2.RESOURCE_EXHAUSTED)


async def test_oversized_header_arriving_in_pieces_is_431(gateway_url: str) -> None:
    head = request_head("GET", "/v1/films/f1", ("X-Padding", "x" * 60_000))
    pieces = [head[start : start + 4096] for start in range(0, len(head), 4096)]
    reply = await exchange(gateway_url, *pieces)
    _assert_ours(reply.status, reply.body, 431, code_pb2.RESOURCE_EXHAUSTED)


_JSON = {"Content-Type": "application/json"}


async def test_deeply_nested_json_is_400_naming_the_depth(client: httpx.AsyncClient) -> None:
    for depth in (100_000, 65):
        body = '{"a":' * depth + "1" + "}" * depth
        reply = await client.post("/v1/auth/register", content=body, headers=_JSON)
        _assert_ours(reply.status_code, reply.content, 400, code_pb2.INVALID_ARGUMENT)
        assert "nested deeper than 64" in reply.json()["message"], reply.json()


async def test_json_nested_within_the_limit_is_parsed(client: httpx.AsyncClient) -> None:
    body = "[" * 63 + "]" * 63
    reply = await client.post("/v1/auth/register", content=body, headers=_JSON)
    assert reply.status_code == 400
    assert "expected a JSON object" in reply.json()["message"]


async def test_number_too_long_to_convert_is_400(client: httpx.AsyncClient) -> None:
    body = '{"queries": [{"title": "Solaris", "year": 1' + "0" * 5000 + "}]}"
    reply = await client.post("/v1/films:matchTitles", content=body, headers=_JSON)
    _assert_ours(reply.status_code, reply.content, 400, code_pb2.INVALID_ARGUMENT)


async def test_json_sent_as_another_media_type_is_415(client: httpx.AsyncClient) -> None:
    body = json.dumps({"login": "ann", "password": "pw"})
    for media_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        reply = await client.post(
            "/v1/auth/login", content=body, headers={"Content-Type": media_type}
        )
        _assert_ours(reply.status_code, reply.content, 415, code_pb2.INVALID_ARGUMENT)
        assert "application/json" in reply.json()["message"]
    unlabelled = await client.post("/v1/auth/login", content=body, headers={"Content-Type": ""})
    assert unlabelled.status_code == 415


async def test_json_with_a_charset_and_an_empty_body_pass(client: httpx.AsyncClient) -> None:
    body = json.dumps({"login": "ann", "password": "pw"})
    labelled = {"Content-Type": "application/json; charset=utf-8"}
    reply = await client.post("/v1/auth/register", content=body, headers=labelled)
    assert reply.status_code == 200, reply.text
    # No body at all (curl -X POST): nothing to mislabel; the service decides.
    empty = await client.post("/v1/films:matchTitles")
    assert empty.status_code == 400 and empty.json()["message"] == "no titles to match"
