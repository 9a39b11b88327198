"""Supervised background workers: restarted when they fail, counted, and told in health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from cinema.catalog.v1 import catalog_pb2_grpc
from services.auth.keys import new_signing_key
from services.catalog.service import ACCESS, NAME
from services.kit.keyring import KeyRing
from services.kit.server import GrpcServer, ServiceSpec
from services.kit.tokens import JwksCache, TokenVerifier
from services.kit.workers import RestartPolicy, Workers

FAST = RestartPolicy(max_delay_seconds=0.05, healthy_after_seconds=0.2)
KEYS = KeyRing([new_signing_key(datetime.now(UTC))])
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def metric(name: str, worker: str) -> float:
    return REGISTRY.get_sample_value(name, {"worker": worker}) or 0.0


@asynccontextmanager
async def hosting(workers: Workers) -> AsyncIterator[health_pb2_grpc.HealthStub]:
    """A server hosting one service with ``workers``, run as the stack runs them."""

    async def jwks() -> dict[str, object]:
        return KEYS.jwks()

    spec = ServiceSpec(
        name=NAME,
        register=lambda server: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(
            catalog_pb2_grpc.CatalogServiceServicer(), server
        ),
        access=ACCESS,
        workers=workers,
    )
    server = GrpcServer([spec], TokenVerifier(JwksCache(jwks), "i", "a"), "127.0.0.1", 0)
    await server.start()
    running = [asyncio.create_task(worker()) for worker in spec.workers]
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield health_pb2_grpc.HealthStub(channel)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await server.stop(0)


async def status(health: health_pb2_grpc.HealthStub, service: str = NAME) -> int:
    reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
    return int(reply.status)


async def eventually(condition: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)


def failing_while(broken: asyncio.Event, runs: list[int]) -> Callable[[], Awaitable[None]]:
    """A worker that raises at once while ``broken`` is set, else runs until cancelled."""

    async def run() -> None:
        runs.append(1)
        if broken.is_set():
            raise ConnectionError("the store is down")
        await asyncio.Event().wait()

    return run


async def test_a_worker_that_raises_is_restarted_and_its_restarts_counted() -> None:
    crashes = 3
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) <= crashes:
            raise RuntimeError(f"crash {len(runs)}")
        await asyncio.Event().wait()

    workers = Workers("kit-test", FAST)
    workers.add("flaky", flaky)
    before = metric("cinema_worker_restarts_total", "kit-test.flaky")
    async with hosting(workers) as health:
        await eventually(lambda: _true(len(runs) > crashes))
        await eventually(lambda: _true(metric("cinema_worker_up", "kit-test.flaky") == 1))
        assert await status(health) == SERVING
    assert metric("cinema_worker_restarts_total", "kit-test.flaky") - before == crashes


async def test_service_is_not_serving_while_an_essential_worker_is_down() -> None:
    broken, runs = asyncio.Event(), list[int]()
    broken.set()
    workers = Workers("kit-test", FAST)
    workers.add("essential", failing_while(broken, runs))
    async with hosting(workers) as health:
        await eventually(lambda: _is(status(health), NOT_SERVING))
        assert await status(health, "") == SERVING  # the server itself still answers
        assert metric("cinema_worker_up", "kit-test.essential") == 0
        # Failing at once on every restart keeps it down: no flapping back to SERVING.
        started = len(runs)
        await eventually(lambda: _true(len(runs) >= started + 3))
        assert await status(health) == NOT_SERVING
        broken.clear()
        await eventually(lambda: _is(status(health), SERVING))
        assert metric("cinema_worker_up", "kit-test.essential") == 1


async def test_a_failing_worker_that_is_not_essential_leaves_the_service_serving() -> None:
    broken, runs = asyncio.Event(), list[int]()
    broken.set()
    workers = Workers("kit-test", FAST)
    workers.add("optional", failing_while(broken, runs), essential=False)
    async with hosting(workers) as health:
        await eventually(lambda: _true(len(runs) >= 3))
        assert await status(health) == SERVING
        assert metric("cinema_worker_up", "kit-test.optional") == 0


async def test_a_worker_with_nothing_to_do_finishes_without_restarts() -> None:
    async def nothing() -> None:
        return None

    workers = Workers("kit-test", FAST)
    workers.add("idle", nothing)
    before = metric("cinema_worker_restarts_total", "kit-test.idle")
    async with hosting(workers) as health:
        await asyncio.sleep(0.1)
        assert await status(health) == SERVING
    assert metric("cinema_worker_restarts_total", "kit-test.idle") == before


async def _true(value: bool) -> bool:
    return value


async def _is(current: Awaitable[int], expected: int) -> bool:
    return await current == expected
