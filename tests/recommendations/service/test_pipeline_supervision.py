"""The refresh pipeline under supervision: it outlives a failing store or credential,
and health and metrics say when it is down."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from etl.pipeline import run_import
from services.kit import clients
from services.kit.config import sqlite_path
from services.recommendations.service import NAME
from services.stack import Stack
from tests.fixtures.stack import embedded_settings, mint_token
from tests.recommendations.service.conftest import FAST, Client, StartStack, film_ids
from tests.recommendations.service.films import IDS, build_catalog_file

Connect = Callable[..., Client]
PIPELINE = "recommendations.pipeline"
RESTART_QUICKLY = {"worker_restart_max_seconds": 0.1, "worker_healthy_after_seconds": 0.3}
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
#: How far ahead of the verifiers' clock (and their 10 s leeway) a token is "not yet valid".
AHEAD = timedelta(seconds=13)


def pipeline_restarts() -> float:
    return REGISTRY.get_sample_value("cinema_worker_restarts_total", {"worker": PIPELINE}) or 0.0


def pipeline_up() -> float | None:
    return REGISTRY.get_sample_value("cinema_worker_up", {"worker": PIPELINE})


async def health_of(stack: Stack, service: str = NAME) -> int:
    async with clients.channel(stack.grpc_address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service)
        )
    return int(reply.status)


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.02)


async def _health_is(stack: Stack, status: int) -> bool:
    return await health_of(stack) == status


def _rename(database: str, table: str, to: str) -> None:
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute(f"ALTER TABLE {table} RENAME TO {to}")


async def test_pipeline_resumes_folding_events_after_its_store_failed(
    start_stack: StartStack, connect: Connect
) -> None:
    stack = await start_stack(**RESTART_QUICKLY)
    user = connect(stack)
    await user.rate(IDS["Heat"])
    listed = await user.list_until(lambda r: not r.fallback)
    favourite = film_ids(listed)[0]
    restarts = pipeline_restarts()
    # The projection's table vanishes: folding the next event fails until it is back.
    database = sqlite_path(stack.settings.recommendations.recommendations_dsn)
    _rename(database, "interactions", "interactions_away")
    try:
        await user.rate(favourite)
        await until(lambda: _health_is(stack, NOT_SERVING))
        await until(lambda: _true(pipeline_restarts() > restarts))
        assert await health_of(stack, "") == SERVING
    finally:
        _rename(database, "interactions_away", "interactions")
    # The like folded at last: the list refreshed without the film the user just rated.
    await user.list_until(lambda r: favourite not in film_ids(r), seconds=10)
    await until(lambda: _health_is(stack, SERVING))
    assert pipeline_up() == 1


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Stack]:
    """Auth, catalog and likes in one process, the recommender's neighbours."""
    settings = embedded_settings(tmp_path / "core", **FAST)
    settings.process.data_dir.mkdir(parents=True)
    await run_import(settings.catalog, build_catalog_file(tmp_path / "legacy.db"))
    stack = Stack(settings, ("auth", "catalog", "likes"), gateway=False)
    await stack.start()
    yield stack
    await stack.stop()


@pytest.fixture
async def start_recommender(
    tmp_path: Path, core: Stack
) -> AsyncIterator[Callable[[str], Awaitable[Stack]]]:
    """Starts the recommender alone, as `cinema serve` would, beside the core."""
    started: list[Stack] = []

    async def start(service_token: str) -> Stack:
        address = core.grpc_address
        settings = embedded_settings(
            tmp_path / "recommendations",
            **FAST,
            **RESTART_QUICKLY,
            auth_target=address,
            catalog_target=address,
            likes_target=address,
            service_token=service_token,
        )
        stack = Stack(settings, ("recommendations",), gateway=False)
        await stack.start()
        started.append(stack)
        return stack

    yield start
    for stack in started:
        await stack.stop()


async def test_recommendations_not_serving_while_its_pipeline_cannot_authenticate(
    core: Stack, start_recommender: Callable[[str], Awaitable[Stack]]
) -> None:
    # A service token from a clock running ahead: likes refuses it (UNAUTHENTICATED)
    # until the real time catches up with it, a few seconds from now.
    issued = datetime.now(UTC) + AHEAD
    token = mint_token(core, "svc-recommendations", ("service",), now=issued)
    recommender = await start_recommender(token)
    await until(lambda: _health_is(recommender, NOT_SERVING))
    assert pipeline_up() == 0
    assert await health_of(recommender, "") == SERVING
    restarts = pipeline_restarts()
    await until(lambda: _true(datetime.now(UTC) > issued - timedelta(seconds=10)))
    await until(lambda: _health_is(recommender, SERVING))
    assert pipeline_restarts() > restarts
    assert pipeline_up() == 1


async def test_a_recommender_without_service_token_says_so_at_start_health_and_metrics(
    core: Stack, start_recommender: Callable[[str], Awaitable[Stack]]
) -> None:
    with structlog.testing.capture_logs() as logged:
        recommender = await start_recommender("")
    (warning,) = [e for e in logged if e["event"] == "pipeline_without_service_token"]
    assert warning["log_level"] == "warning" and "CINEMA_SERVICE_TOKEN" in warning["fix"]
    await until(lambda: _health_is(recommender, NOT_SERVING))
    assert pipeline_up() == 0


async def _true(value: bool) -> bool:
    return value
