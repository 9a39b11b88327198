from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from tests.gateway.servicers import Received, start_server


@pytest.fixture(scope="session")
async def received() -> Received:
    return Received()


@pytest.fixture(scope="session")
async def gateway_url(received: Received) -> AsyncIterator[str]:
    """The gateway on a real port, in front of a real gRPC server on another."""
    grpc_server, target = await start_server(received)
    # The gateway is the edge: it appends the peer to X-Forwarded-For itself.
    config = uvicorn.Config(
        create_app(target, unary_timeout=5.0),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        proxy_headers=False,
    )
    http_server = uvicorn.Server(config)
    serving = asyncio.create_task(http_server.serve())
    while not http_server.started:  # noqa: ASYNC110 - uvicorn offers no startup event
        await asyncio.sleep(0.01)
    port = http_server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    http_server.should_exit = True
    await serving
    await grpc_server.stop(grace=None)


@pytest.fixture
async def client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10.0) as http:
        yield http
