"""Outgoing gRPC channels: carry the request id to the next hop, present a credential."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from services.kit.context import current_request_id
from services.kit.interceptors import REQUEST_ID_KEY


class _Metadata:
    """Adds the current request id and, when set, a bearer token to a call's metadata."""

    def __init__(self, token: Callable[[], str | None]) -> None:
        self._token = token

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        request_id = current_request_id.get()
        if request_id and REQUEST_ID_KEY not in metadata:
            metadata.add(REQUEST_ID_KEY, request_id)
        token = self._token()
        if token and "authorization" not in metadata:
            metadata.add("authorization", f"Bearer {token}")
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


# grpc.aio files an interceptor under the first call kind it matches, so one class that
# implements all four would only ever see unary-unary calls: one class per kind.
class _UnaryUnary(_Metadata, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


class _UnaryStream(_Metadata, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


class _StreamUnary(_Metadata, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self.details(details), requests)


class _StreamStream(_Metadata, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self.details(details), requests)


def channel(target: str, token: Callable[[], str | None] = lambda: None) -> grpc.aio.Channel:
    """An insecure (in-mesh) channel to ``target`` with request-id propagation."""
    kinds = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    return grpc.aio.insecure_channel(target, interceptors=[kind(token) for kind in kinds])
