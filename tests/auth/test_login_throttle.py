"""The login throttle under concurrency: the limit holds however many guesses arrive at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from tests.auth.conftest import StartStack

PASSWORD = "correct horse battery"
WINDOW = 300.0


async def _codes(calls: list[asyncio.Future[object]]) -> Counter[grpc.StatusCode]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    return Counter(
        r.code() if isinstance(r, grpc.aio.AioRpcError) else grpc.StatusCode.OK for r in results
    )


async def _code(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_concurrent_wrong_passwords_for_one_login_are_checked_at_most_the_limit(
    start_stack: StartStack,
) -> None:
    now = [datetime.now(UTC)]
    stack = await start_stack(
        login_failures_per_login=5,
        login_failures_per_address=1000,
        login_failure_window_seconds=WINDOW,
        clock=lambda: now[0],
    )
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        await auth.Register(auth_pb2.RegisterRequest(login="erin", password=PASSWORD))
        wrong = auth_pb2.LoginRequest(login="erin", password="guess guess")
        codes = await _codes([asyncio.ensure_future(auth.Login(wrong)) for _ in range(30)])
        # Only the ones that were let through are checked (and fail); the rest never are.
        assert codes == {
            grpc.StatusCode.UNAUTHENTICATED: 5,
            grpc.StatusCode.RESOURCE_EXHAUSTED: 25,
        }
        right = auth_pb2.LoginRequest(login="erin", password=PASSWORD)
        assert await _code(auth.Login(right)) == grpc.StatusCode.RESOURCE_EXHAUSTED
        now[0] += timedelta(seconds=WINDOW + 1)
        assert await _code(auth.Login(right)) == grpc.StatusCode.OK


async def test_concurrent_wrong_passwords_from_one_address_are_checked_at_most_the_limit(
    start_stack: StartStack,
) -> None:
    now = [datetime.now(UTC)]
    stack = await start_stack(
        login_failures_per_login=1000,
        login_failures_per_address=5,
        login_failure_window_seconds=WINDOW,
        clock=lambda: now[0],
    )
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        await auth.Register(auth_pb2.RegisterRequest(login="frank", password=PASSWORD))
        guesses = [
            asyncio.ensure_future(
                auth.Login(auth_pb2.LoginRequest(login=f"user-{i}", password="guess guess"))
            )
            for i in range(30)
        ]
        codes = await _codes(guesses)
        assert codes == {
            grpc.StatusCode.UNAUTHENTICATED: 5,
            grpc.StatusCode.RESOURCE_EXHAUSTED: 25,
        }
        right = auth_pb2.LoginRequest(login="frank", password=PASSWORD)
        assert await _code(auth.Login(right)) == grpc.StatusCode.RESOURCE_EXHAUSTED
        now[0] += timedelta(seconds=WINDOW + 1)
        assert await _code(auth.Login(right)) == grpc.StatusCode.OK
