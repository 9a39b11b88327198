"""Running the system: the embedded stack (everything in one process) and single services.

The embedded stack hosts all four services on one gRPC port, the REST gateway on one
HTTP port, and the background workers, on the embedded default stores. ``cinema serve``
runs one of them alone, the way production deploys them.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
import uvicorn
from fastapi import FastAPI
from prometheus_client import start_http_server

from etl.pipeline import load_demo_if_empty
from gateway.app import create_app, uvicorn_options
from gateway.forwarding import install_edge_credential
from services.auth import service as auth_service
from services.catalog import service as catalog_service
from services.kit.config import ProcessSettings
from services.kit.requirements import SERVICES
from services.kit.server import GrpcJwksSource, GrpcServer, ServiceSpec, settle_heap
from services.kit.service_token import ServiceToken
from services.kit.tokens import JwksCache, TokenVerifier
from services.likes import service as likes_service
from services.recommendations import service as recommendations_service
from services.runtime import Runtime, utc_now
from services.settings import Settings

log = structlog.get_logger(__name__)


async def _open_catalog(runtime: Runtime, settings: Settings) -> ServiceSpec:
    """The catalog; on a first start with ``CINEMA_DEMO_CATALOG``, the demo films loaded.

    Loading is the ETL's job, so it happens here, where the ETL and the catalog meet: the
    catalog itself depends on no ETL code.
    """
    if settings.catalog.demo_catalog:
        report = await load_demo_if_empty(settings.catalog)
        if report is not None:
            log.info("demo_catalog_loaded", films=report.counts["film_work"]["inserted"])
    return await catalog_service.open_service(runtime, settings.catalog)


#: How each service opens its stores and builds itself from its own settings section, in
#: the order they open (auth first: it fills the key ring that the others may sign
#: service credentials with).
OPENERS: dict[str, Callable[[Runtime, Settings], Awaitable[ServiceSpec]]] = {
    "auth": lambda runtime, settings: auth_service.open_service(runtime, settings.auth),
    "catalog": _open_catalog,
    "likes": lambda runtime, settings: likes_service.open_service(runtime, settings.likes),
    "recommendations": lambda runtime, settings: recommendations_service.open_service(
        runtime, settings.recommendations, settings.gigachat
    ),
}


async def _close(specs: list[ServiceSpec]) -> None:
    """Closes the stores of services that opened before a later step failed."""
    for spec in reversed(specs):
        if spec.on_stop is not None:
            await spec.on_stop()


class Stack:
    """A set of services on one gRPC port, optionally with the gateway; start, then stop."""

    def __init__(
        self,
        settings: Settings,
        services: tuple[str, ...],
        gateway: bool,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.runtime = Runtime(
            settings.process, settings.mesh, clock=clock, hosted=frozenset(services)
        )
        self._services = services
        self._gateway = gateway
        self._jwks = GrpcJwksSource(lambda: settings.mesh.auth_target)
        self._grpc: GrpcServer | None = None
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.grpc_address = ""
        self.http_address = ""

    async def start(self) -> None:
        """Starts everything, or when a step fails, stops what had started and raises.

        The HTTP port is bound first, before any store opens: a taken port fails at once.
        """
        edge = self.settings.gateway
        http_socket = _bind(edge.http_host, edge.http_port, "HTTP") if self._gateway else None
        try:
            if self._services:
                await self._start_services()
            if http_socket is not None:
                await self._start_gateway(http_socket)
        except BaseException:
            if http_socket is not None:
                http_socket.close()
            await self.stop()
            raise

    async def _start_services(self) -> None:
        mesh = self.settings.mesh
        specs: list[ServiceSpec] = []
        try:
            for name in self._services:
                specs.append(await OPENERS[name](self.runtime, self.settings))
            verifier = TokenVerifier(
                JwksCache(self._jwks, mesh.jwks_refresh_seconds),
                issuer=mesh.jwt_issuer,
                audience=mesh.jwt_audience,
            )
            self._grpc = _grpc_server(specs, verifier, self.settings.process)
        except BaseException:
            await _close(specs)
            raise
        # Port 0 means "pick one": bound now, so point our own targets at it.
        self.grpc_address = self._grpc.address
        if self.settings.process.grpc_port == 0:
            self._point_targets_at(self.grpc_address)
        await self._grpc.start()
        # Supervised workers restart themselves and never raise (services.kit.workers).
        self._workers = [asyncio.create_task(worker()) for spec in specs for worker in spec.workers]

    def _point_targets_at(self, address: str) -> None:
        for name in SERVICES:
            if getattr(self.settings.mesh, f"{name}_target").endswith(":0"):
                setattr(self.settings.mesh, f"{name}_target", address)

    async def _start_gateway(self, http_socket: socket.socket) -> None:
        mesh, edge = self.settings.mesh, self.settings.gateway
        app = create_app(
            {
                auth_service.NAME: mesh.auth_target,
                catalog_service.NAME: mesh.catalog_target,
                likes_service.NAME: mesh.likes_target,
                recommendations_service.NAME: mesh.recommendations_target,
            },
            settings=edge,
        )
        self._vouch_for_clients(app)
        config = uvicorn.Config(
            app,
            host=edge.http_host,
            port=edge.http_port,
            log_config=None,
            lifespan="on",
            # The gateway is the edge: it sets X-Forwarded-For to the real peer itself.
            proxy_headers=False,
            **uvicorn_options(edge),
        )
        self._http = uvicorn.Server(config)
        self._http_task = asyncio.create_task(_serve_http(self._http, http_socket))
        while not self._http.started:
            if self._http_task.done():
                failed, self._http_task = self._http_task, None
                await failed
                raise OSError("the gateway stopped while starting (see the log)")
            await asyncio.sleep(0.02)
        host, port = self._http.servers[0].sockets[0].getsockname()[:2]
        self.http_address = f"{host}:{port}"

    def _vouch_for_clients(self, app: FastAPI) -> None:
        """Gives the gateway the ``service`` token with which the auth service believes the
        client addresses it forwards: ``CINEMA_SERVICE_TOKEN``, or embedded, one signed here.
        """
        keys = self.runtime.signing_keys
        credential = ServiceToken(self.settings.mesh, keys, self.runtime.clock, "svc-gateway")
        if keys is None and not self.settings.mesh.service_token:
            log.warning(
                "gateway_without_service_token",
                consequence="logins are recorded and throttled under the gateway's address",
                fix="set CINEMA_SERVICE_TOKEN (cinema auth issue-service-token --name gateway)",
            )
        install_edge_credential(app, credential)

    async def stop(self) -> None:
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await self._http_task
        # Workers stop before the stores they use close (on_stop, inside the gRPC stop).
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._grpc is not None:
            await self._grpc.stop(self.settings.process.shutdown_grace_seconds)
        await self._jwks.close()


async def run_until_signalled(stack: Stack, announce: Callable[[Stack], None]) -> None:
    """Start ``stack``, announce its addresses, stop gracefully on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stack.start()
    settle_heap()
    try:
        # Metrics have a port of their own, never the public HTTP one.
        process = stack.settings.process
        if process.metrics_port:
            _serve_metrics(process.grpc_host, process.metrics_port)
        announce(stack)
        await stop.wait()
        log.info("shutting_down")
    finally:
        await stack.stop()


def _listen_error(host: str, port: int, kind: str, reason: object) -> OSError:
    """An error that names the address and the variable that chose it."""
    return OSError(f"cannot listen on {host}:{port} (CINEMA_{kind}_PORT): {reason}")


def _bind(host: str, port: int, kind: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise _listen_error(host, port, kind, error.strerror or error) from None


def _grpc_server(
    specs: list[ServiceSpec], verifier: TokenVerifier, process: ProcessSettings
) -> GrpcServer:
    host, port = process.grpc_host, process.grpc_port
    try:
        return GrpcServer(specs, verifier, host, port)
    except (OSError, RuntimeError) as error:
        # grpc says only "Failed to bind to address": taken, or not this machine's.
        if "bind" not in str(error).lower():
            raise
        raise _listen_error(host, port, "GRPC", "address in use or not available") from None


async def _serve_http(server: uvicorn.Server, http_socket: socket.socket) -> None:
    try:
        await server.serve(sockets=[http_socket])
    except SystemExit:
        # uvicorn exits the process when its start-up fails; that would skip stopping the
        # gRPC server and closing the stores, and leave the process hanging on them.
        raise OSError("the gateway failed to start (see the log)") from None


def _serve_metrics(host: str, port: int) -> None:
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        raise _listen_error(host, port, "METRICS", error.strerror or error) from None
