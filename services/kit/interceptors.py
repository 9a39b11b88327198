"""Server interceptors: request id + logging, metrics, authentication, error mapping.

Each interceptor wraps the behaviour of every RPC in an async context manager
(:meth:`RpcInterceptor.around`), the same way for unary and streaming RPCs, so each one
is a single idea. The server installs them outermost first:
logging -> metrics -> errors -> authentication -> servicer.

grpc.aio serves every RPC in a task of its own, so context variables set here (the
caller, the request id, structlog's bound fields) live exactly as long as the RPC.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

import grpc
import structlog
from grpc_status import rpc_status

from services.kit import metrics
from services.kit.backend_errors import MESSAGE as BACKEND_UNAVAILABLE
from services.kit.backend_errors import is_backend_unavailable
from services.kit.context import (
    Caller,
    Deadline,
    current_caller,
    current_deadline,
    current_request_id,
)
from services.kit.errors import (
    CinemaError,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    internal_status,
)
from services.kit.tokens import TokenVerifier

log = structlog.get_logger("cinema.rpc")

REQUEST_ID_KEY = "x-request-id"
Around = Callable[[str, grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]


class _TolerantDeserializer:
    """Decodes a request; bytes that are no message become :data:`_UNDECODABLE`.

    grpc.aio answers a deserializer's exception itself, as UNKNOWN naming the Python
    exception, before any interceptor runs; the sentinel lets the innermost wrapped
    behaviour raise INVALID_ARGUMENT instead, where the error interceptor maps it and
    logging and metrics see it.
    """

    def __init__(self, deserializer: Callable[[bytes], Any]) -> None:
        self._deserializer = deserializer

    def __call__(self, raw: bytes) -> Any:
        try:
            return self._deserializer(raw)
        except Exception as error:
            log.info("request_undecodable", error=str(error))
            return _UNDECODABLE


_UNDECODABLE = object()


def _not_a_message() -> InvalidArgument:
    return InvalidArgument({"request": "is not a well-formed protobuf message"})


def _decoded(request: Any) -> Any:
    if request is _UNDECODABLE:
        raise _not_a_message()
    return request


async def _decoded_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _decoded(request)


def _wrap(handler: grpc.RpcMethodHandler, method: str, around: Around) -> grpc.RpcMethodHandler:
    """A handler whose behaviour runs inside ``around``, whatever its streaming shape."""
    deserializer = handler.request_deserializer
    # Interceptors wrap from the inside out: the first to wrap sees the servicer's own
    # deserializer, and its behaviour is the only one that may judge the request.
    innermost = not isinstance(deserializer, _TolerantDeserializer)
    if innermost and deserializer is not None:
        deserializer = _TolerantDeserializer(deserializer)

    def judged(request: Any) -> Any:
        if not innermost:
            return request
        return _decoded_stream(request) if handler.request_streaming else _decoded(request)

    async def unary_response(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with around(method, context):
            result = behaviour(judged(request), context)
            return await result if inspect.isawaitable(result) else result

    async def stream_response(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        async with around(method, context):
            result = behaviour(judged(request), context)
            if inspect.isawaitable(result):  # a servicer that writes with context.write()
                await result
                return
            async for item in result:
                yield item

    if handler.unary_unary:
        behaviour, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    elif handler.unary_stream:
        behaviour, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    elif handler.stream_unary:
        behaviour, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    else:
        behaviour, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    wrapped = stream_response if handler.response_streaming else unary_response
    return factory(
        wrapped,
        request_deserializer=deserializer,
        response_serializer=handler.response_serializer,
    )


class RpcInterceptor(grpc.aio.ServerInterceptor, abc.ABC):  # type: ignore[misc]
    """An interceptor defined by what it does around each RPC."""

    @abc.abstractmethod
    def around(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AbstractAsyncContextManager[None]:
        """Runs around the RPC ``method``; exceptions of the servicer pass through it."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        # grpc.aio asks for every call; a method's handler is the same object each time
        # (the servicer's, or the next interceptor's cached one), so wrap it once.
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is None or cached[0] is not handler:
            cached = (handler, _wrap(handler, method, self.around))
            self._wrapped[method] = cached
        return cached[1]

    @functools.cached_property
    def _wrapped(self) -> dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]]:
        return {}


def metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    """The first value of metadata ``key`` the caller sent, as text."""
    for entry_key, value in context.invocation_metadata() or ():
        if entry_key == key:
            return value if isinstance(value, str) else value.decode()
    return None


def _code_of(
    context: grpc.aio.ServicerContext[Any, Any], error: BaseException | None
) -> grpc.StatusCode:
    """The status the client got; ``error`` is what ended the RPC, if anything did."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        # grpc.aio cancels the RPC's task when the client gives up or its deadline
        # passes; no status is set then, and the call is anything but OK.
        return grpc.StatusCode.DEADLINE_EXCEEDED if _expired(context) else grpc.StatusCode.CANCELLED
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN


def _expired(context: grpc.aio.ServicerContext[Any, Any]) -> bool:
    remaining = context.time_remaining()
    return remaining is not None and remaining <= 0


class LoggingInterceptor(RpcInterceptor):
    """Binds the request id and deadline that travel to the next hop; logs one line per RPC."""

    @asynccontextmanager
    async def around(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        request_id = metadata_value(context, REQUEST_ID_KEY) or uuid.uuid4().hex
        current_request_id.set(request_id)
        remaining = context.time_remaining()
        deadline = Deadline(remaining) if remaining is not None else None
        current_deadline.set(deadline)
        structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
        started = time.perf_counter()
        ended: BaseException | None = None
        try:
            yield
        except BaseException as error:
            ended = error
            raise
        finally:
            if deadline is not None:
                deadline.close()
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            log.info("rpc", code=_code_of(context, ended).name, duration_ms=duration_ms)


class MetricsInterceptor(RpcInterceptor):
    """Counts RPCs by method and status code and times them (Prometheus)."""

    @asynccontextmanager
    async def around(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        service, _, name = method.lstrip("/").rpartition("/")
        started = time.perf_counter()
        metrics.RPCS_STARTED.labels(service, name).inc()
        ended: BaseException | None = None
        try:
            yield
        except BaseException as error:
            ended = error
            raise
        finally:
            metrics.RPCS_HANDLED.labels(service, name, _code_of(context, ended).name).inc()
            metrics.RPC_SECONDS.labels(service, name).observe(time.perf_counter() - started)


class ErrorInterceptor(RpcInterceptor):
    """Domain errors become their status with details; anything else becomes INTERNAL."""

    @asynccontextmanager
    async def around(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        try:
            yield
        except CinemaError as error:
            await context.abort_with_status(rpc_status.to_status(error.to_status()))
        except NotImplementedError:
            # The generated base servicer's answer for an RPC not implemented yet.
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
        except (grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception as error:
            if _expired(context):
                # A store query or downstream call cut short by the caller's deadline.
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
            if is_backend_unavailable(error):
                log.warning("rpc_backend_unavailable", error=repr(error))
                await context.abort(grpc.StatusCode.UNAVAILABLE, BACKEND_UNAVAILABLE)
            log.exception("rpc_failed")
            status = internal_status(current_request_id.get())
            await context.abort_with_status(rpc_status.to_status(status))


class Access(Enum):
    """Who may call an RPC."""

    PUBLIC = "public"  # anyone, no token
    USER = "user"  # any valid token
    SERVICE = "service"  # a valid token with the `service` role
    ADMIN = "admin"  # a valid token with the `admin` role (operators)


@dataclass(frozen=True)
class AccessPolicy:
    """Which RPCs are public, internal or for operators; every other RPC needs a token."""

    public: frozenset[str]
    service_only: frozenset[str]
    admin_only: frozenset[str] = frozenset()

    #: Infrastructure every client and probe may call.
    ALWAYS_PUBLIC_PREFIXES = (
        "/grpc.health.v1.Health/",
        "/grpc.reflection.v1alpha.ServerReflection/",
        "/grpc.reflection.v1.ServerReflection/",
    )

    @classmethod
    def merge(cls, policies: Iterable[AccessPolicy]) -> AccessPolicy:
        policies = list(policies)
        return cls(
            public=frozenset().union(*(p.public for p in policies)),
            service_only=frozenset().union(*(p.service_only for p in policies)),
            admin_only=frozenset().union(*(p.admin_only for p in policies)),
        )

    def access(self, method: str) -> Access:
        if method in self.public or method.startswith(self.ALWAYS_PUBLIC_PREFIXES):
            return Access.PUBLIC
        if method in self.service_only:
            return Access.SERVICE
        if method in self.admin_only:
            return Access.ADMIN
        return Access.USER


class AuthInterceptor(RpcInterceptor):
    """Verifies the bearer token and makes the caller available to the servicer."""

    def __init__(self, verifier: TokenVerifier, policy: AccessPolicy) -> None:
        self._verifier = verifier
        self._policy = policy

    @asynccontextmanager
    async def around(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        access = self._policy.access(method)
        header = metadata_value(context, "authorization")
        if access is Access.PUBLIC:
            # Anyone may call; a valid token still tells who (e.g. to leave out films the
            # caller rated), and a stale one, or one that cannot be checked while the auth
            # service is down, must not lock a person out of Login or the catalog.
            if header is not None:
                with contextlib.suppress(Unauthenticated, Unavailable):
                    self._identify(await self._verify_header(header))
            yield
            return
        if header is None:
            raise Unauthenticated("missing access token: send `authorization: Bearer <token>`")
        caller = await self._verify_header(header)
        if access is Access.SERVICE and not caller.has_role("service"):
            raise PermissionDenied("this RPC is internal: it needs the `service` role")
        if access is Access.ADMIN and not caller.has_role("admin"):
            raise PermissionDenied("this RPC is for operators: it needs the `admin` role")
        self._identify(caller)
        yield

    async def _verify_header(self, header: str) -> Caller:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization metadata must be `Bearer <token>`")
        return await self._verifier.verify(token.strip())

    @staticmethod
    def _identify(caller: Caller) -> None:
        current_caller.set(caller)
        structlog.contextvars.bind_contextvars(user_id=caller.user_id)
