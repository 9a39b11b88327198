"""The gateway application: REST-JSON routes for every annotated RPC, channels, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import grpc
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from google.protobuf.descriptor import ServiceDescriptor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from gateway import errors
from gateway.channels import ChannelPool
from gateway.discovery import discover_services
from gateway.docs import install_docs
from gateway.headers import SecurityHeaders, allow_origins
from gateway.limits import TRANSPORT_HEAD_BYTES, RequestLimits
from gateway.openapi import BEARER_SCHEME, annotated_methods, component_schemas, tags
from gateway.page import install_page
from gateway.routes import CallSettings, rpc_bindings
from gateway.settings import GatewaySettings
from gateway.tickets import StreamTickets, tickets_route
from gateway.transcode import RenderedReplies

AUTH_SERVICE = "cinema.auth.v1.AuthService"


class GatewayApp(FastAPI):
    """FastAPI with the message schemas of the exposed RPCs in its OpenAPI components."""

    def __init__(
        self, services: list[ServiceDescriptor], settings: GatewaySettings, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.settings = settings

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = get_openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
                tags=[*tags(self.services), {"name": "gateway", "description": GATEWAY_TAG}],
            )
            methods = annotated_methods(m for s in self.services for m in s.methods)
            components = document.setdefault("components", {})
            components.setdefault("schemas", {}).update(component_schemas(methods))
            components["securitySchemes"] = {"bearer": BEARER_SCHEME}
            # Optional everywhere: public routes accept a token too (and use it).
            document["security"] = [{"bearer": []}, {}]
            self.openapi_schema = document
        return self.openapi_schema


GATEWAY_TAG = "What the REST edge offers itself, beside the RPCs."


def create_app(
    targets: Mapping[str, str] | str,
    *,
    services: Iterable[ServiceDescriptor] | None = None,
    unary_timeout: float | None = 10.0,
    stream_timeout: float | None = None,
    settings: GatewaySettings | None = None,
) -> GatewayApp:
    """The REST-JSON edge.

    `targets` maps a service's full name to its gRPC target, or is one target serving
    every service (the embedded mode). `services` defaults to every service of the
    generated `cinema.*.v1` modules; with a mapping, only the mapped ones are exposed.
    `settings` defaults to the `CINEMA_*` environment.
    """
    settings = settings or GatewaySettings()
    known = list(services) if services is not None else discover_services()
    pool = ChannelPool(targets, (service.full_name for service in known))
    exposed = [service for service in known if pool.serves(service.full_name)]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open()
        try:
            yield
        finally:
            await pool.close()

    app = GatewayApp(
        exposed,
        settings,
        title="Cinema API",
        version="v1",
        description="REST-JSON edge of the Cinema gRPC services.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    calls = CallSettings(unary_timeout=unary_timeout, stream_timeout=stream_timeout)
    tickets = StreamTickets(settings.stream_ticket_seconds)
    rendered = RenderedReplies(calls.rendered_bytes)
    for rpc in rpc_bindings(exposed):
        app.router.routes.append(rpc.route(pool, calls, tickets, rendered))
    if pool.serves(AUTH_SERVICE):
        app.router.routes.append(tickets_route(pool, tickets))
    install_docs(app)
    install_page(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_exception_handler(HTTPException, _route_error)
    # Outermost last: the security headers go on every answer, refusals included.
    app.add_middleware(
        RequestLimits,
        max_header_bytes=settings.http_max_header_bytes,
        max_body_bytes=settings.http_max_body_bytes,
    )
    if settings.cors_origin_list:
        allow_origins(app, settings.cors_origin_list)
    app.add_middleware(SecurityHeaders)
    return app


def uvicorn_options(settings: GatewaySettings) -> dict[str, Any]:
    """uvicorn settings the gateway's limits rely on.

    h11, whose buffer for an incomplete request head is bounded (httptools' is not), and
    large enough that heads over `http_max_header_bytes` reach the gateway's own 431.
    """
    head_bytes = max(TRANSPORT_HEAD_BYTES, 4 * settings.http_max_header_bytes)
    return {"http": "h11", "h11_max_incomplete_event_size": head_bytes}


async def _route_error(request: Request, error: Exception) -> Response:
    """No route for the path (404) or the method (405), in our error body."""
    assert isinstance(error, HTTPException)
    method, path = request.method, request.url.path
    if error.status_code == 405:
        allowed = sorted(_allowed_methods(request.app.router.routes, request))
        listed = ", ".join(allowed)
        message = f"{method} is not allowed on {path}; allowed: {listed}"
        refusal = errors.refusal(405, grpc.StatusCode.UNIMPLEMENTED, message, {"Allow": listed})
    elif error.status_code == 404:
        refusal = errors.refusal(404, grpc.StatusCode.NOT_FOUND, f"no route for {method} {path}")
    else:
        code = (
            grpc.StatusCode.INVALID_ARGUMENT
            if error.status_code < 500
            else grpc.StatusCode.INTERNAL
        )
        refusal = errors.refusal(error.status_code, code, str(error.detail))
    return errors.response(refusal)


def _allowed_methods(routes: Iterable[BaseRoute], request: Request) -> set[str]:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    allowed: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                allowed |= route.methods
    return allowed
