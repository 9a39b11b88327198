"""gRPC server bootstrap: services, health, reflection, interceptors, graceful shutdown.

Health: each hosted service is SERVING while its essential background workers are up
(see ``services.kit.workers``) and NOT_SERVING while one is down, so a balancer that
checks a service stops sending it work it cannot do. The overall status ("") says the
server itself is up and answering: it stays SERVING while one service is degraded,
so that in the embedded stack a stalled pipeline does not take auth, catalog and likes
out with it. Both turn NOT_SERVING on shutdown.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import grpc
import structlog
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.kit import clients
from services.kit.interceptors import (
    AccessPolicy,
    AuthInterceptor,
    ErrorInterceptor,
    LoggingInterceptor,
    MetricsInterceptor,
)
from services.kit.tokens import TokenVerifier
from services.kit.workers import Workers

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    """One service as the server hosts it."""

    name: str  # full protobuf name, e.g. "cinema.likes.v1.LikesService"
    register: Callable[[grpc.aio.Server], None]  # adds the servicer to a server
    access: AccessPolicy
    on_stop: Callable[[], Awaitable[None]] | None = None  # closes stores
    workers: Workers = field(default_factory=Workers)  # supervised; the host starts them


def settle_heap() -> None:
    """Moves what start-up built out of the collector's sight: once, in a serving process.

    The stack keeps a large, long-lived heap (catalog, models, caches); every full
    collection walked all of it and stopped the event loop for 50 to 100 ms, which is what the
    p99 of a warm main page was made of. Frozen objects are never scanned again; what they
    free later is still freed by reference counting, but a cycle among them never is, so
    this is for a process's entry point after start-up, never for a server a test (or any
    caller that goes on making and dropping stacks) starts: there it kept every store alive
    that was open at any server start, and an unclosed aiosqlite connection's thread with it.
    """
    gc.collect()
    gc.freeze()


class GrpcServer:
    """Hosts a set of services on one port with the kit's interceptors."""

    def __init__(
        self, services: Sequence[ServiceSpec], verifier: TokenVerifier, host: str, port: int
    ) -> None:
        self._services = list(services)
        self._health = health_aio.HealthServicer()
        self._server = grpc.aio.server(
            interceptors=[
                LoggingInterceptor(),
                MetricsInterceptor(),
                ErrorInterceptor(),
                AuthInterceptor(verifier, AccessPolicy.merge(s.access for s in services)),
            ],
            options=[("grpc.so_reuseport", 0)],
        )
        for service in self._services:
            service.register(self._server)
            service.workers.listen(partial(self._report, service.name))
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        names = [s.name for s in self._services]
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self._server,
        )
        self.address = f"{host}:{port}"
        self.port = self._server.add_insecure_port(self.address)
        if self.port == 0:
            raise OSError(f"cannot bind gRPC server to {self.address}")
        self.address = f"{host}:{self.port}"

    async def start(self) -> None:
        await self._server.start()
        for service in self._services:
            await self._report(service.name, service.workers.serving)
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "grpc_server_started", address=self.address, services=[s.name for s in self._services]
        )

    async def _report(self, name: str, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse
        await self._health.set(name, status.SERVING if serving else status.NOT_SERVING)

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, let in-flight RPCs finish within ``grace``, close stores."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)
        for service in self._services:
            if service.on_stop is not None:
                await service.on_stop()
        log.info("grpc_server_stopped", address=self.address)


class GrpcJwksSource:
    """Fetches the auth service's JWKS over gRPC, the same call every service makes."""

    def __init__(self, target: Callable[[], str]) -> None:
        self._channel = clients.LazyChannel(target)

    async def __call__(self) -> dict[str, object]:
        stub = auth_pb2_grpc.AuthServiceStub(self._channel.get())
        response = await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=5.0)
        return json_format.MessageToDict(response, preserving_proto_field_name=True)

    async def close(self) -> None:
        await self._channel.close()
