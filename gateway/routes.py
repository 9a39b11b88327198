"""Routes built from `google.api.http` rules: one generic handler per binding."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from fastapi.routing import APIRoute
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import request_response

from gateway import errors
from gateway.channels import ChannelPool
from gateway.forwarding import (
    REQUEST_ID_HEADER,
    SESSION_COOKIE_RPCS,
    answer_cookies,
    outgoing_metadata,
    request_id,
)
from gateway.httprule import Binding, method_bindings
from gateway.openapi import operation_description, operation_extra
from gateway.tickets import TICKET_PARAMETER, StreamTickets, unknown_ticket
from gateway.transcode import FieldViolation, RenderedReplies, build_request, render_response

log = structlog.get_logger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class CallSettings:
    """Deadlines for upstream calls, in seconds (`None`: no deadline)."""

    unary_timeout: float | None = 10.0
    stream_timeout: float | None = None
    #: How long a stream may take to send its first message before the answer starts
    #: anyway; a refusal (no token, a bad request) comes before it, as a proper status.
    stream_start_timeout: float = 5.0
    #: How much memory the JSON of recent unary replies may hold (see RenderedReplies).
    rendered_bytes: int = 8 * 1024 * 1024


class RpcRoute(APIRoute):
    """An APIRoute for the OpenAPI document whose requests go straight to its handler.

    The handler takes the Request and returns a Response itself, so FastAPI's parameter
    and dependency machinery (and its exit stacks) would do nothing on each request but
    take time: requests run it as a plain Starlette endpoint.
    """

    def __init__(self, path: str, endpoint: Endpoint, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.app = request_response(endpoint)


@dataclass(frozen=True)
class RpcBinding:
    """One HTTP binding of one RPC, with what its handler needs."""

    method: MethodDescriptor
    binding: Binding
    index: int

    @property
    def rpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    def route(
        self,
        pool: ChannelPool,
        settings: CallSettings,
        tickets: StreamTickets,
        rendered: RenderedReplies | None = None,
    ) -> APIRoute:
        method = self.method
        if method.server_streaming:
            handler = _streaming_handler(self, pool, settings, tickets)
        else:
            replies = rendered if rendered is not None else RenderedReplies(settings.rendered_bytes)
            handler = _unary_handler(self, pool, settings, replies)
        return RpcRoute(
            self.binding.path.starlette_path,
            handler,
            methods=[self.binding.verb],
            name=f"{method.containing_service.name}_{method.name}",
            # Additional bindings get a suffix: operation ids must be unique.
            operation_id=f"{method.containing_service.name}_{method.name}"
            + (f"_{self.index}" if self.index else ""),
            summary=method.name,
            description=operation_description(method),
            tags=[method.containing_service.full_name],
            response_class=EventSourceResponse if method.server_streaming else JSONResponse,
            openapi_extra=operation_extra(method, self.binding),
        )


def rpc_bindings(services: Iterable[ServiceDescriptor]) -> list[RpcBinding]:
    """Bindings of every client-callable RPC, most literal paths first so they win."""
    bindings = [
        RpcBinding(method, binding, index)
        for service in services
        for method in service.methods
        if not method.client_streaming
        for index, binding in enumerate(method_bindings(method))
    ]
    return sorted(bindings, key=lambda rpc: rpc.binding.path.sort_key)


def _unary_handler(
    rpc: RpcBinding, pool: ChannelPool, settings: CallSettings, rendered: RenderedReplies
) -> Endpoint:
    request_class = message_factory.GetMessageClass(rpc.method.input_type)
    response_class = message_factory.GetMessageClass(rpc.method.output_type)
    service, rpc_path, response_body = (
        rpc.method.containing_service.full_name,
        rpc.rpc_path,
        rpc.binding.response_body,
    )
    serializer = request_class.SerializeToString
    sets_cookies = rpc_path in SESSION_COOKIE_RPCS

    async def handle(request: Request) -> Response:
        call_id = request_id(request)
        try:
            message = await _request_message(request, rpc.binding, request_class)
            # The reply stays bytes: its JSON may be known already (RenderedReplies).
            call = pool.unary_raw(service, rpc_path, serializer)(
                message,
                metadata=outgoing_metadata(request, call_id, rpc_path),
                timeout=settings.unary_timeout,
            )
            wire = await call
            body = rendered.body(wire, response_class, response_body)
            response = Response(
                body,
                headers={REQUEST_ID_HEADER: call_id},
                media_type="application/json",
            )
            if sets_cookies:
                for cookie in answer_cookies(await call.initial_metadata() or ()):
                    response.headers.append("set-cookie", cookie)
            return response
        except Exception as error:
            return _error_response(_http_error(error, rpc, call_id), call_id)

    return handle


def _streaming_handler(
    rpc: RpcBinding, pool: ChannelPool, settings: CallSettings, tickets: StreamTickets
) -> Endpoint:
    request_class = message_factory.GetMessageClass(rpc.method.input_type)
    response_class = message_factory.GetMessageClass(rpc.method.output_type)

    async def handle(request: Request) -> Response:
        call_id = request_id(request)
        try:
            metadata = _stream_metadata(request, call_id, tickets)
            message = await _request_message(
                request, rpc.binding, request_class, skip=TICKET_PARAMETER
            )
        except Exception as error:
            return _error_response(_http_error(error, rpc, call_id), call_id)
        call = pool.channel(rpc.method.containing_service.full_name).unary_stream(
            rpc.rpc_path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )(message, metadata=metadata, timeout=settings.stream_timeout)
        # The first message (or the refusal) decides the status: a stream that fails at
        # once is a 401 or 422 like any route, not a 200 with an error event.
        first = asyncio.ensure_future(call.read())
        try:
            await asyncio.wait({first}, timeout=settings.stream_start_timeout)
        except BaseException:
            first.cancel()
            call.cancel()
            raise
        if first.done() and first.exception() is not None:
            call.cancel()
            return _error_response(_http_error(first.exception(), rpc, call_id), call_id)

        async def events() -> AsyncIterator[ServerSentEvent]:
            try:
                reply = await first
                while reply is not grpc.aio.EOF:
                    document = render_response(reply, rpc.binding.response_body)
                    yield ServerSentEvent(data=json.dumps(document))
                    reply = await call.read()
            except Exception as error:
                failure = _http_error(error, rpc, call_id)
                yield ServerSentEvent(data=json.dumps(failure.body), event="error")
            finally:
                # A no-op once the stream has ended; stops the upstream call on disconnect.
                call.cancel()

        return EventSourceResponse(events(), headers={REQUEST_ID_HEADER: call_id})

    return handle


def _stream_metadata(
    request: Request, call_id: str, tickets: StreamTickets
) -> tuple[tuple[str, str], ...]:
    """Upstream metadata, with the token a `?ticket=` stands for when there is one."""
    metadata = outgoing_metadata(request, call_id)
    ticket = request.query_params.get(TICKET_PARAMETER)
    if ticket is None:
        return metadata
    authorization = tickets.redeem(ticket)
    if authorization is None:
        raise unknown_ticket()
    kept = tuple(item for item in metadata if item[0] != "authorization")
    return (*kept, ("authorization", authorization))


async def _request_message(
    request: Request, binding: Binding, request_class: type[Message], skip: str | None = None
) -> Message:
    """The request message from the HTTP request; `skip` names a parameter for the gateway."""
    message = request_class()
    body = b""
    if binding.body:
        body = await request.body()
        _require_json(request, body)
    query = [item for item in request.query_params.multi_items() if item[0] != skip]
    build_request(message, binding, request.path_params, query, body)
    return message


def _require_json(request: Request, body: bytes) -> None:
    """Bodies must say they are JSON: a cross-site form (text/plain, form encodings) cannot."""
    content_type = request.headers.get("content-type")
    if content_type is None and not body.strip():
        return
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        message = (
            f"the body must be JSON sent as application/json, not {media_type or 'unlabelled'}"
        )
        raise errors.Refused(errors.refusal(415, grpc.StatusCode.INVALID_ARGUMENT, message))


def _http_error(error: BaseException, rpc: RpcBinding, call_id: str) -> errors.HttpError:
    if isinstance(error, errors.Refused):
        return error.error
    if isinstance(error, FieldViolation):
        return errors.from_violation(error)
    if isinstance(error, grpc.aio.AioRpcError):
        return errors.from_rpc_error(error, call_id)
    log.error("gateway_failure", rpc=rpc.rpc_path, request_id=call_id, exc_info=error)
    return errors.internal_error()


def _error_response(error: errors.HttpError, call_id: str) -> JSONResponse:
    headers = {**error.headers, REQUEST_ID_HEADER: call_id}
    return JSONResponse(error.body, status_code=error.status, headers=headers)
