"""The auth service on each of its stores: SQLite in a temp dir, and real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.kit import clients
from services.stack import SERVICES, Stack
from tests.fixtures.stack import embedded_settings

StartStack = Callable[..., Awaitable[Stack]]


@pytest.fixture(params=["sqlite", "postgresql"])
def auth_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/auth/auth.db"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture
async def start_stack(auth_dsn: str, tmp_path: Path) -> AsyncIterator[StartStack]:
    """Starts the embedded stack on the store under test; stops all of them at the end."""
    started: list[Stack] = []

    async def start(**overrides: Any) -> Stack:
        clock = overrides.pop("clock", None)
        settings = embedded_settings(tmp_path / "data", auth_dsn=auth_dsn, **overrides)
        stack = Stack(settings, SERVICES, gateway=True, **({"clock": clock} if clock else {}))
        await stack.start()
        started.append(stack)
        return stack

    yield start
    for stack in reversed(started):
        await stack.stop()


@pytest.fixture
async def auth_stack(start_stack: StartStack) -> Stack:
    return await start_stack()


@pytest.fixture
async def auth_channel(auth_stack: Stack) -> AsyncIterator[grpc.aio.Channel]:
    async with clients.channel(auth_stack.grpc_address) as opened:
        yield opened


@pytest.fixture
def auth(auth_channel: grpc.aio.Channel) -> auth_pb2_grpc.AuthServiceStub:
    return auth_pb2_grpc.AuthServiceStub(auth_channel)


async def register_and_login(
    auth: auth_pb2_grpc.AuthServiceStub,
    login: str = "alice",
    password: str = "correct horse battery",
    metadata: tuple[tuple[str, str], ...] = (),
) -> auth_pb2.LoginResponse:
    await auth.Register(auth_pb2.RegisterRequest(login=login, password=password))
    reply: auth_pb2.LoginResponse = await auth.Login(
        auth_pb2.LoginRequest(login=login, password=password), metadata=metadata
    )
    return reply
