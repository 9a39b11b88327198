"""Bytes that are no request message: every RPC answers INVALID_ARGUMENT, nothing internal."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.discovery import discover_services
from services.stack import SERVICES, Stack
from tests.fixtures.stack import bearer, mint_token

METHODS = [
    method
    for service in discover_services()
    if service.full_name.split(".")[1] in SERVICES
    for method in service.methods
]
INTERNALS = ("DecodeError", "Traceback", "Error:", "Exception", ".py")
TRUNCATED_VARINT = b"\xff\xff"


def _bad_utf8(message: Descriptor) -> bytes | None:
    """A string field holding invalid UTF-8, or None when the message has no string."""
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            tag = (field.number << 3) | 2
            return bytes([tag]) + b"\x02\xff\xfe" if tag < 0x80 else None
    return None


async def _status(
    channel: grpc.aio.Channel, method: MethodDescriptor, payload: bytes, token: str
) -> tuple[grpc.StatusCode, str]:
    path = f"/{method.containing_service.full_name}/{method.name}"
    raw = lambda data: data  # noqa: E731 - the bytes go out exactly as given
    metadata = bearer(token)
    try:
        if method.client_streaming:
            stream = channel.stream_stream(path, raw, raw)(
                iter([payload]), metadata=metadata, timeout=10
            )
            async for _ in stream:
                pass
        elif method.server_streaming:
            async for _ in channel.unary_stream(path, raw, raw)(
                payload, metadata=metadata, timeout=10
            ):
                pass
        else:
            await channel.unary_unary(path, raw, raw)(payload, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def test_every_service_is_covered() -> None:
    assert {method.containing_service.full_name.split(".")[1] for method in METHODS} == set(
        SERVICES
    )
    assert any(method.name == "StreamRefreshes" for method in METHODS)


@pytest.mark.parametrize("method", METHODS, ids=lambda method: method.full_name)
async def test_bytes_that_are_no_message_are_invalid_argument(
    stack: Stack, channel: grpc.aio.Channel, method: MethodDescriptor
) -> None:
    # The service and admin roles pass every access rule: what is judged is the payload alone.
    roles = ("service", "admin")
    token = mint_token(stack, user_id="3f6a1f5e-0d6c-4a39-9d0b-6f1f2b3c4d5e", roles=roles)
    payloads = [TRUNCATED_VARINT]
    bad_utf8 = _bad_utf8(method.input_type)
    if bad_utf8 is not None:
        payloads.append(bad_utf8)
    for payload in payloads:
        code, details = await _status(channel, method, payload, token)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (payload, code, details)
        assert not any(internal in details for internal in INTERNALS), details
    health = health_pb2_grpc.HealthStub(channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
