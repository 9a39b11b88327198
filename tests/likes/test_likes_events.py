"""The event log as consumers see it: concurrent writers, resuming readers, crashes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit import clients
from services.likes.records import EventKind, Rating
from services.stack import Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import bearer, mint_token
from tests.likes import writer_process
from tests.likes.stores import open_backend

Stub = likes_pb2_grpc.LikesServiceStub
REPO_ROOT = Path(__file__).resolve().parents[2]
FILMS = [lc.MATRIX, lc.MATRIX_RELOADED, lc.HEAT, lc.AMELIE, lc.SERIES]
KIND_OF = {
    likes_pb2.RATING_LIKE: EventKind.FILM_LIKED,
    likes_pb2.RATING_DISLIKE: EventKind.FILM_DISLIKED,
}


async def user_changes(stack: Stack, likes: Stub, user: str) -> list[tuple[str, int]]:
    """25 ratings by one user, one after another; the (film, kind) of each that changed."""
    metadata = bearer(mint_token(stack, user_id=user))
    changes = []
    for n in range(25):
        film = FILMS[n % len(FILMS)]
        rating = likes_pb2.RATING_LIKE if (n // len(FILMS)) % 2 else likes_pb2.RATING_DISLIKE
        reply = await likes.RateFilm(
            likes_pb2.RateFilmRequest(film_id=film, rating=rating), metadata=metadata
        )
        if reply.changed:
            changes.append((film, int(KIND_OF[rating])))
    return changes


async def read_events(
    likes: Stub, metadata: tuple[tuple[str, str]], after: int, until: int
) -> list[likes_pb2.Event]:
    """Follows the live stream from ``after`` and disconnects after ``until`` events."""
    received: list[likes_pb2.Event] = []
    stream = likes.StreamEvents(
        likes_pb2.StreamEventsRequest(after_sequence=after), metadata=metadata
    )
    async with asyncio.timeout(30):
        async for response in stream:
            received.append(response.event)
            if len(received) == until:
                break
    stream.cancel()
    return received


async def test_concurrent_writers_and_a_resuming_consumer_see_each_change_once_in_order(
    likes_stack: Stack, likes: Stub
) -> None:
    service = bearer(mint_token(likes_stack, user_id="svc", roles=("service",)))
    users = [f"user-{n}" for n in range(8)]
    # The consumer is following live before the writers start, and drops mid-way.
    first_half = asyncio.create_task(read_events(likes, service, 0, 60))
    written = await asyncio.gather(*(user_changes(likes_stack, likes, u) for u in users))
    expected = dict(zip(users, written, strict=True))
    total = sum(map(len, written))
    received = await first_half
    received += await read_events(likes, service, received[-1].sequence, total - len(received))

    assert [e.sequence for e in received] == list(range(1, total + 1))
    for user in users:
        mine = [(e.film_id, e.kind) for e in received if e.user_id == user]
        assert mine == expected[user]
    replay = likes.StreamEvents(
        likes_pb2.StreamEventsRequest(after_sequence=total, replay_only=True), metadata=service
    )
    assert [r async for r in replay] == []


async def test_killed_writer_leaves_no_change_without_its_event(backend_dsn: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.likes.writer_process",
        backend_dsn,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    async with asyncio.timeout(60):
        for _ in range(150):  # enough committed changes that the kill lands mid-stream
            assert await child.stdout.readline(), "the writer died on its own"
    child.kill()  # SIGKILL: no cleanup, no flush, wherever it is
    await child.wait()

    store = await open_backend(backend_dsn, lease_seconds=writer_process.LEASE_SECONDS)
    try:
        await asyncio.sleep(writer_process.LEASE_SECONDS)  # the dead relay's lease lapses
        await store.relay_outbox()
        events = await store.events_after(0, 100_000)
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert len({e.event_id for e in events}) == len(events)
        ratings: dict[tuple[str, str], Rating] = {}
        excluded: set[tuple[str, str]] = set()
        for event in events:  # the state the log describes
            key = (event.user_id, event.film_id)
            if event.kind is EventKind.FILM_LIKED:
                ratings[key] = Rating.LIKE
            elif event.kind is EventKind.FILM_DISLIKED:
                ratings[key] = Rating.DISLIKE
            elif event.kind is EventKind.RATING_CLEARED:
                del ratings[key]
            elif event.kind is EventKind.FILM_EXCLUDED:
                excluded.add(key)
            else:
                excluded.remove(key)
        stored_ratings: dict[tuple[str, str], Rating] = {}
        stored_exclusions: set[tuple[str, str]] = set()
        for user in writer_process.USERS:
            page = await store.list_ratings(user, None, None, 100)
            stored_ratings.update({(user, r.film_id): r.rating for r in page.items})
            found = await store.list_exclusions(user, None, 100)
            stored_exclusions.update((user, x.film_id) for x in found.items)
        assert stored_ratings == ratings
        assert stored_exclusions == excluded
        assert len(events) >= 150
    finally:
        await store.close()


async def test_user_token_cannot_read_the_event_log(likes_stack: Stack) -> None:
    async with clients.channel(likes_stack.grpc_address) as channel:
        stream = Stub(channel).StreamEvents(
            likes_pb2.StreamEventsRequest(), metadata=bearer(mint_token(likes_stack))
        )
        try:
            await stream.read()
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        else:
            raise AssertionError("a user token read the event log")
