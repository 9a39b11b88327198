"""The gateway application: REST-JSON routes for every annotated RPC, channels, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from google.protobuf.descriptor import ServiceDescriptor

from gateway.channels import ChannelPool
from gateway.discovery import discover_services
from gateway.openapi import annotated_methods, component_schemas
from gateway.routes import CallSettings, rpc_bindings


class GatewayApp(FastAPI):
    """FastAPI with the message schemas of the exposed RPCs in its OpenAPI components."""

    def __init__(self, services: list[ServiceDescriptor], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = get_openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
            )
            methods = annotated_methods(m for s in self.services for m in s.methods)
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                component_schemas(methods)
            )
            self.openapi_schema = document
        return self.openapi_schema


def create_app(
    targets: Mapping[str, str] | str,
    *,
    services: Iterable[ServiceDescriptor] | None = None,
    unary_timeout: float | None = 10.0,
    stream_timeout: float | None = None,
) -> FastAPI:
    """The REST-JSON edge.

    `targets` maps a service's full name to its gRPC target, or is one target serving
    every service (the embedded mode). `services` defaults to every service of the
    generated `cinema.*.v1` modules; with a mapping, only the mapped ones are exposed.
    """
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
        title="Cinema API",
        version="v1",
        description="REST-JSON edge of the Cinema gRPC services.",
        lifespan=lifespan,
    )
    settings = CallSettings(unary_timeout=unary_timeout, stream_timeout=stream_timeout)
    for rpc in rpc_bindings(exposed):
        app.router.routes.append(rpc.route(pool, settings))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
