"""Every paged RPC refuses a page token it did not issue, and follows one it did."""

from __future__ import annotations

import base64
import json
import uuid

import grpc
import pytest
from google.protobuf import symbol_database
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from gateway.discovery import discover_services
from services.stack import SERVICES, Stack
from tests.fixtures.stack import bearer, mint_token

PAGED = [
    method
    for service in discover_services()
    if service.full_name.split(".")[1] in SERVICES
    for method in service.methods
    if "page_token" in method.input_type.fields_by_name
    and not (method.client_streaming or method.server_streaming)
]


def _unsigned(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CRAFTED = {
    "deeply nested": _unsigned(b'{"o": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    "huge integers": _unsigned(
        json.dumps({"o": 10**30, "before": 10**30, "t": 10**30, "f": "f", "g": 10**30}).encode()
    ),
    "wrong types": _unsigned(b'{"o": "3", "t": [], "g": {}, "before": true}'),
    "unsigned": _unsigned(b'{"o": 20, "before": 5, "t": 1, "f": "x", "g": 1}'),
    "garbage": "garbage!",
    "huge": "x" * 100_000,
}


def test_the_paged_rpcs_of_every_service_are_covered() -> None:
    assert {method.containing_service.full_name.split(".")[1] for method in PAGED} == {
        "auth",
        "catalog",
        "likes",
        "recommendations",
    }


def _violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None, error.details()
    bad_request = error_details_pb2.BadRequest()
    assert status.details and status.details[0].Unpack(bad_request), error.details()
    return [violation.field for violation in bad_request.field_violations]


async def _refused_fields(
    channel: grpc.aio.Channel, method: MethodDescriptor, token: str, access_token: str
) -> tuple[grpc.StatusCode, list[str]]:
    request_class = symbol_database.Default().GetSymbol(method.input_type.full_name)
    request = request_class(page_token=token)
    if "query" in method.input_type.fields_by_name:
        request.query = "matrix"  # the only other field a paged RPC requires
    call = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=lambda raw: raw,
    )
    try:
        await call(request, metadata=bearer(access_token), timeout=20)
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
            return error.code(), [error.details() or ""]
        return error.code(), _violated_fields(error)
    return grpc.StatusCode.OK, []


@pytest.mark.parametrize("method", PAGED, ids=lambda method: method.full_name)
async def test_a_page_token_we_did_not_issue_is_invalid_argument(
    stack: Stack, channel: grpc.aio.Channel, method: MethodDescriptor
) -> None:
    access_token = mint_token(stack, user_id=str(uuid.uuid4()))
    for name, token in CRAFTED.items():
        code, fields = await _refused_fields(channel, method, token, access_token)
        assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"]), name


async def test_a_real_next_page_token_still_leads_to_the_next_page(
    channel: grpc.aio.Channel,
) -> None:
    auth = auth_pb2_grpc.AuthServiceStub(channel)
    await auth.Register(auth_pb2.RegisterRequest(login="pager", password="correct horse battery"))
    logins = [
        await auth.Login(auth_pb2.LoginRequest(login="pager", password="correct horse battery"))
        for _ in range(3)
    ]
    metadata = bearer(logins[-1].tokens.access_token)
    first = await auth.ListLoginHistory(
        auth_pb2.ListLoginHistoryRequest(page_size=2), metadata=metadata
    )
    assert len(first.events) == 2 and first.next_page_token
    rest = await auth.ListLoginHistory(
        auth_pb2.ListLoginHistoryRequest(page_size=2, page_token=first.next_page_token),
        metadata=metadata,
    )
    assert len(rest.events) == 1 and not rest.next_page_token

    altered = first.next_page_token[:-2] + ("AA" if first.next_page_token[-2:] != "AA" else "BB")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await auth.ListLoginHistory(
            auth_pb2.ListLoginHistoryRequest(page_size=2, page_token=altered), metadata=metadata
        )
    assert _violated_fields(raised.value) == ["page_token"]
