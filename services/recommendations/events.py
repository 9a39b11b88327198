"""Where the pipeline reads likes events from: one small interface.

``LikesStreamSource`` follows likes.StreamEvents (the embedded default and any
deployment without Kafka) with a ``service`` token, resuming after the last sequence
it delivered whenever the stream breaks; the store's cursor is its acknowledgement.
``KafkaEventSource`` (``events_kafka``) is the production variant, a consumer group that
commits its offsets once ``applied`` says the events are in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

import grpc
import structlog

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit import clients
from services.recommendations.model import Change, LikesEvent

log = structlog.get_logger(__name__)

RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class EventSource(Protocol):
    def events(self, after_sequence: int) -> AsyncIterator[LikesEvent]:
        """The log's events after ``after_sequence``, in order, following new ones forever."""
        ...

    async def applied(self, events: Sequence[LikesEvent]) -> None:
        """``events``, the next ones ``events()`` gave, in that order, are now in the store."""
        ...

    async def close(self) -> None: ...


def likes_event(message: likes_pb2.Event) -> LikesEvent | None:
    try:
        change = Change(message.kind)
    except ValueError:
        return None  # a kind newer than this code: nothing to fold
    return LikesEvent(
        message.sequence,
        message.user_id,
        message.film_id,
        change,
        message.event_time.ToMicroseconds(),
    )


class LikesStreamSource:
    def __init__(self, target: Callable[[], str], token: Callable[[], str | None]) -> None:
        self._channel = clients.LazyChannel(target, token)

    async def events(self, after_sequence: int) -> AsyncIterator[LikesEvent]:
        after = after_sequence
        failures = 0
        while True:
            stub = likes_pb2_grpc.LikesServiceStub(self._channel.get())
            try:
                async for response in stub.StreamEvents(
                    likes_pb2.StreamEventsRequest(after_sequence=after)
                ):
                    failures = 0
                    after = response.event.sequence
                    event = likes_event(response.event)
                    if event is not None:
                        yield event
            except grpc.aio.AioRpcError as error:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "likes_stream_broken", code=error.code().name, after=after, retry_in=delay
                )
                await asyncio.sleep(delay)

    async def applied(self, events: Sequence[LikesEvent]) -> None:
        """Nothing to acknowledge: a restart resumes from the store's cursor."""

    async def close(self) -> None:
        await self._channel.close()
