from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from gateway.app import GatewayApp, create_app, uvicorn_options
from gateway.settings import GatewaySettings
from tests.gateway.servicers import Received, start_server


@asynccontextmanager
async def serving(app: GatewayApp) -> AsyncIterator[str]:
    """`app` behind a real uvicorn on a free port, configured as `cinema` runs it."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        # The gateway is the edge: it appends the peer to X-Forwarded-For itself.
        proxy_headers=False,
        **uvicorn_options(app.settings),
    )
    http_server = uvicorn.Server(config)
    task = asyncio.create_task(http_server.serve())
    while not http_server.started:  # noqa: ASYNC110 - uvicorn offers no startup event
        await asyncio.sleep(0.01)
    port = http_server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        http_server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def received() -> Received:
    return Received()


@pytest.fixture(scope="session")
async def grpc_target(received: Received) -> AsyncIterator[str]:
    """A real gRPC server with the test servicers, shared by every gateway test."""
    grpc_server, target = await start_server(received)
    yield target
    await grpc_server.stop(grace=None)


@pytest.fixture(scope="session")
async def gateway_url(grpc_target: str) -> AsyncIterator[str]:
    """The gateway on a real port, in front of a real gRPC server on another."""
    app = create_app(grpc_target, unary_timeout=5.0, settings=GatewaySettings())
    async with serving(app) as url:
        yield url


@pytest.fixture
async def client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10.0) as http:
        yield http
