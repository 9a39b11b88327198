"""Client deadlines of a few milliseconds cut likes writes at random points on the server.

Afterwards every user can still write, health still tells the truth, and each change is
in the log exactly when it is in the user's lists: never one without the other.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cinema.likes.v1 import likes_pb2
from services.kit import clients
from services.likes.service import NAME
from services.stack import Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import bearer, mint_token
from tests.likes.test_likes_service import Stub, as_service
from tests.reliability.storm import deadline_storm

CALLS = 400


async def test_rpcs_cut_by_deadlines_never_wedge_likes_or_split_a_change_from_its_event(
    likes_stack: Stack, likes: Stub
) -> None:
    users = [str(uuid.uuid4()) for _ in range(CALLS)]
    tokens = [bearer(mint_token(likes_stack, user_id=user)) for user in users]

    async def call(number: int, deadline: float) -> None:
        try:
            if number % 2:
                request = likes_pb2.ExcludeFilmRequest(film_id=lc.MATRIX)
                await likes.ExcludeFilm(request, metadata=tokens[number], timeout=deadline)
            else:
                rate = likes_pb2.RateFilmRequest(film_id=lc.HEAT, rating=likes_pb2.RATING_LIKE)
                await likes.RateFilm(rate, metadata=tokens[number], timeout=deadline)
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
                raise
            raise TimeoutError from error

    acknowledged = await deadline_storm(call, range(CALLS))

    after = bearer(mint_token(likes_stack, user_id="after-the-storm"))
    rate = likes_pb2.RateFilmRequest(film_id=lc.AMELIE, rating=likes_pb2.RATING_DISLIKE)
    await likes.RateFilm(rate, metadata=after, timeout=5)
    await likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=lc.AMELIE), metadata=after)
    stored = {users[n] for n in range(CALLS) if await _has_change(likes, n, tokens[n])}
    assert {users[n] for n in acknowledged} <= stored
    assert await _logged_users(likes_stack, likes, stored | {"after-the-storm"}) == stored | {
        "after-the-storm"
    }
    async with clients.channel(likes_stack.grpc_address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=NAME))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def _has_change(likes: Stub, number: int, token: tuple[tuple[str, str]]) -> bool:
    if number % 2:
        excluded = await likes.ListMyExclusions(likes_pb2.ListMyExclusionsRequest(), metadata=token)
        return bool(excluded.exclusions)
    rated = await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(), metadata=token)
    return bool(rated.ratings)


async def _logged_users(stack: Stack, likes: Stub, expected: set[str]) -> set[str]:
    """The users in the log once it settles at ``expected`` (or whatever it holds after 10 s).

    A cut RPC may still be finishing its write on the server, and MongoDB's outbox is
    relayed behind the writes, so the log is read until it stops changing.
    """
    request = likes_pb2.StreamEventsRequest(replay_only=True)
    seen: set[str] = set()
    try:
        async with asyncio.timeout(10):
            while seen != expected:
                stream = likes.StreamEvents(request, metadata=as_service(stack))
                seen = {response.event.user_id async for response in stream}
                await asyncio.sleep(0.05)
    except TimeoutError:
        pass
    return seen
