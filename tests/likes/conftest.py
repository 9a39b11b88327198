"""The embedded stack with a small catalog, on each likes store backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from cinema.likes.v1 import likes_pb2_grpc
from etl.pipeline import run_import
from services.kit import clients
from services.stack import SERVICES, Stack
from tests.etl import legacy_catalog
from tests.fixtures.stack import embedded_settings
from tests.likes.stores import BACKENDS, likes_dsn

# Streams and relays look for other processes' events this often in tests.
POLL_SECONDS = 0.05


@pytest.fixture(params=BACKENDS)
def backend_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return likes_dsn(request, request.param, tmp_path)


@pytest.fixture
async def likes_stack(tmp_path: Path, backend_dsn: str) -> AsyncIterator[Stack]:
    """All services and the gateway, the catalog holding the legacy test films."""
    settings = embedded_settings(
        tmp_path / "data", likes_dsn=backend_dsn, likes_poll_seconds=POLL_SECONDS
    )
    settings.process.data_dir.mkdir(parents=True)
    await run_import(settings.catalog, legacy_catalog.build_legacy_file(tmp_path / "legacy.db"))
    running = Stack(settings, SERVICES, gateway=True)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def likes(likes_stack: Stack) -> AsyncIterator[likes_pb2_grpc.LikesServiceStub]:
    channel: grpc.aio.Channel
    async with clients.channel(likes_stack.grpc_address) as channel:
        yield likes_pb2_grpc.LikesServiceStub(channel)
