"""A caller's deadline reaches the auth store's queries: PostgreSQL stops the query too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
import structlog

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.kit import clients
from services.stack import Stack
from tests.auth.conftest import register_and_login
from tests.fixtures.stack import bearer, embedded_settings

WAITING_ON_A_LOCK = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


@pytest.fixture
async def auth_on_postgres(postgres_dsn: str, tmp_path: Path) -> AsyncIterator[Stack]:
    dsn = postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    stack = Stack(embedded_settings(tmp_path / "data", auth_dsn=dsn), ("auth",), gateway=False)
    await stack.start()
    yield stack
    await stack.stop()


async def test_a_query_stuck_past_the_deadline_is_stopped_in_postgres_and_logged_as_such(
    auth_on_postgres: Stack, postgres_dsn: str
) -> None:
    async with clients.channel(auth_on_postgres.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        token = (await register_and_login(auth)).tokens.access_token
        blocker = await asyncpg.connect(postgres_dsn)
        try:
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            with structlog.testing.capture_logs(
                [structlog.contextvars.merge_contextvars]
            ) as logged:
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await auth.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(token), timeout=0.5)
                assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                assert time.monotonic() - started < 2.0
                # The query waiting for the lock is cancelled on the server, not left queued.
                async with asyncio.timeout(5):
                    while await blocker.fetchval(WAITING_ON_A_LOCK):  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                    while not _lines_of("GetMe", logged):  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
            await locked.rollback()
        finally:
            await blocker.close()
        assert [line["code"] for line in _lines_of("GetMe", logged)] == ["DEADLINE_EXCEEDED"]
        # The store is fine afterwards: the next call is answered.
        reply = await auth.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(token), timeout=5)
        assert reply.user.login == "alice"


def _lines_of(method: str, logged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The access log lines of ``method`` (verifying the token calls GetJwks too)."""
    return [e for e in logged if e["event"] == "rpc" and e.get("rpc", "").endswith(f"/{method}")]
