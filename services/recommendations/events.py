"""Where the pipeline reads likes events from: one small interface.

``LikesStreamSource`` follows likes.StreamEvents (the embedded default and any
deployment without Kafka) with a ``service`` token; the store's cursor is its
acknowledgement. A source does not retry on its own: when the stream breaks, the error
ends the pipeline's run, and its supervisor (``services.kit.workers``) restarts it from
the cursor after a backoff, counting the restart and telling health meanwhile.
``KafkaEventSource`` (``events_kafka``) is the production variant, a consumer group that
commits its offsets once ``applied`` says the events are in the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit import clients
from services.recommendations.records import Change, LikesEvent


class EventSource(Protocol):
    #: How long the pipeline waits after a batch's first event for more to fold with it.
    fold_linger_seconds: float

    def events(self, after_sequence: int) -> AsyncIterator[LikesEvent]:
        """The log's events after ``after_sequence``, in order, following new ones forever;
        raises when the source breaks (the pipeline's supervisor starts it again)."""
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


#: likes.StreamEvents sends one message per event: under a stream of likes, folds of one
#: event apiece would cost a store transaction each (0.35 ms of CPU per like measured on
#: RateFilm at 32 in flight); a short wait makes them tens of events per transaction.
STREAM_FOLD_LINGER_SECONDS = 0.02


class LikesStreamSource:
    fold_linger_seconds = STREAM_FOLD_LINGER_SECONDS

    def __init__(self, target: Callable[[], str], token: Callable[[], str | None]) -> None:
        self._channel = clients.LazyChannel(target, token)

    async def events(self, after_sequence: int) -> AsyncIterator[LikesEvent]:
        stub = likes_pb2_grpc.LikesServiceStub(self._channel.get())
        request = likes_pb2.StreamEventsRequest(after_sequence=after_sequence)
        async for response in stub.StreamEvents(request):
            event = likes_event(response.event)
            if event is not None:
                yield event
        # The log is followed forever: a stream that ends was cut (likes stopping).
        raise ConnectionError("likes.StreamEvents ended")

    async def applied(self, events: Sequence[LikesEvent]) -> None:
        """Nothing to acknowledge: a restart resumes from the store's cursor."""

    async def close(self) -> None:
        await self._channel.close()
