"""Outgoing gRPC channels: carry the request id and the caller's deadline to the next hop,
present a credential, and reconnect promptly to a server that comes back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from mesh.channels import CHANNEL_OPTIONS
from services.kit.context import current_request_id, remaining_time
from services.kit.interceptors import REQUEST_ID_KEY


class _Outgoing:
    """Adds the request id and a bearer token to a call; caps it at the caller's deadline."""

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
        timeout = details.timeout
        remaining = remaining_time()
        if remaining is not None:
            # Work past the caller's deadline is work nobody waits for.
            timeout = remaining if timeout is None else min(timeout, remaining)
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )


# grpc.aio files an interceptor under the first call kind it matches, so one class that
# implements all four would only ever see unary-unary calls: one class per kind.
class _UnaryUnary(_Outgoing, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


class _UnaryStream(_Outgoing, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


class _StreamUnary(_Outgoing, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self.details(details), requests)


class _StreamStream(_Outgoing, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self.details(details), requests)


def channel(target: str, token: Callable[[], str | None] = lambda: None) -> grpc.aio.Channel:
    """An insecure (in-mesh) channel to ``target`` with request-id propagation."""
    kinds = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    return grpc.aio.insecure_channel(
        target, options=CHANNEL_OPTIONS, interceptors=[kind(token) for kind in kinds]
    )


class LazyChannel:
    """A channel to a target that is read on first use, then kept until ``close``.

    Embedded, the other services are this very server, whose port is known only once
    it is bound; so clients are built with the target's getter, not its value.
    """

    def __init__(
        self, target: Callable[[], str], token: Callable[[], str | None] = lambda: None
    ) -> None:
        self._target = target
        self._token = token
        self._channel: grpc.aio.Channel | None = None

    def get(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = channel(self._target(), self._token)
        return self._channel

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
