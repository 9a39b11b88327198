"""A fuzzer over every RPC the services declare, enumerated from their descriptors.

Each RPC gets messages built from its request type (extreme numbers, unknown enum
values, hostile and huge strings, crafted page tokens, long lists) and raw bytes that
may not parse at all. Every answer must be a status a client can act on, never
UNKNOWN or INTERNAL, and say nothing of the server's insides; the process must stay
up and SERVING. A new RPC is fuzzed without editing this file.

Set CINEMA_PROBE_REPORT=path.json to keep the statuses seen per RPC.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.discovery import discover_services
from services.stack import SERVICES
from tests.probes.conftest import Target
from tests.probes.messages import messages

METHODS = [method for service in discover_services() for method in service.methods]
#: Statuses that mean the server did not understand what happened to it.
NEVER = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.UNIMPLEMENTED,
}
#: What an answer must not show: exception names, tracebacks, source paths.
INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|File \"|\.py\b|site-packages")
UNARY_SECONDS = 20.0
STREAM_SECONDS = 1.0

SEEN: dict[str, Counter[str]] = defaultdict(Counter)


def _path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _token(target: Target, method: MethodDescriptor) -> str:
    """A token that gets past the door of ``method``: internal, operators' or any user's."""
    if method.name in {"StreamEvents", "StreamRefreshes"}:
        return target.service_token
    if method.name == "GetOperatorStats":
        return target.admin_token
    return target.user_token


def _check(method: MethodDescriptor, code: grpc.StatusCode, details: str | None) -> None:
    SEEN[method.full_name][code.name] += 1
    assert code not in NEVER, f"{_path(method)} answered {code.name}: {details}"
    assert not INTERNALS.search(details or ""), f"{_path(method)} leaked: {details}"


def _call(
    target: Target, method: MethodDescriptor, payload: bytes, token: str | None
) -> tuple[grpc.StatusCode, str | None]:
    """Sends ``payload`` as the request; the status, reading a stream only briefly."""
    identity: Callable[[bytes], bytes] = lambda raw: raw  # noqa: E731
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with grpc.insecure_channel(target.grpc_address) as channel:
        path = _path(method)
        try:
            if not method.client_streaming and not method.server_streaming:
                channel.unary_unary(path, identity, identity)(
                    payload, timeout=UNARY_SECONDS, metadata=metadata
                )
                return grpc.StatusCode.OK, None
            if method.client_streaming:
                stream = channel.stream_stream(path, identity, identity)(
                    iter([payload]), timeout=STREAM_SECONDS, metadata=metadata
                )
            else:
                stream = channel.unary_stream(path, identity, identity)(
                    payload, timeout=STREAM_SECONDS, metadata=metadata
                )
            for _ in zip(range(3), stream, strict=False):
                pass
            stream.cancel()
            return grpc.StatusCode.OK, None
        except grpc.RpcError as error:
            code, details = error.code(), error.details()
    if method.server_streaming and code in (
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
    ):
        return grpc.StatusCode.OK, None  # a live stream we stopped reading
    return code, details


def _examples(method: MethodDescriptor, unary: int, streaming: int) -> int:
    return streaming if method.server_streaming or method.client_streaming else unary


FUZZ = settings(
    deadline=None,
    derandomize=os.environ.get("CINEMA_FUZZ_RANDOM") != "1",
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    database=None,
)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    path = os.environ.get("CINEMA_PROBE_REPORT")
    if path:
        with open(path, "w") as out:
            json.dump({name: dict(codes) for name, codes in sorted(SEEN.items())}, out, indent=1)


def test_every_service_is_fuzzed() -> None:
    fuzzed = {method.containing_service.full_name.split(".")[1] for method in METHODS}
    assert fuzzed == set(SERVICES)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
def test_any_message_gets_a_proper_status(target: Target, method: MethodDescriptor) -> None:
    token = _token(target, method)

    @settings(FUZZ, max_examples=_examples(method, unary=40, streaming=6))
    @given(request=messages(method.input_type))
    def probe(request: Message) -> None:
        _check(method, *_call(target, method, request.SerializeToString(), token))

    probe()
    assert target.serving(), f"the server stopped serving after fuzzing {_path(method)}"


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
def test_bytes_that_are_no_message_are_invalid_argument(
    target: Target, method: MethodDescriptor
) -> None:
    token = _token(target, method)
    # Invalid UTF-8 in field 1 (a string in every request that has one) and truncated
    # varints: a decoder must refuse them, and the client must hear INVALID_ARGUMENT.
    broken = [b"\x0a\x02\xff\xfe", b"\x08\xff\xff\xff", b"\x0a\x7f"]

    @settings(FUZZ, max_examples=_examples(method, unary=15, streaming=3))
    @given(payload=st.one_of(st.sampled_from(broken), st.binary(min_size=1, max_size=64)))
    def probe(payload: bytes) -> None:
        _check(method, *_call(target, method, payload, token))

    probe()
    for payload in broken[1:]:
        code, details = _call(target, method, payload, token)
        assert code is grpc.StatusCode.INVALID_ARGUMENT, (_path(method), code, details)
    assert target.serving(), f"the server stopped serving after raw bytes to {_path(method)}"
