"""The Kafka relay: every logged event reaches the topic, keyed by user, at least once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from etl.pipeline import run_import
from services.kit import clients
from services.stack import SERVICES, Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import bearer, embedded_settings, mint_token
from tests.likes.conftest import POLL_SECONDS

FILMS = [lc.MATRIX, lc.MATRIX_RELOADED, lc.HEAT, lc.AMELIE, lc.SERIES]


@pytest.fixture
async def kafka_stack(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> AsyncIterator[Stack]:
    settings = embedded_settings(
        tmp_path / "data",
        events_url=f"kafka://{kafka_bootstrap}",
        events_topic=kafka_topic,
        likes_poll_seconds=POLL_SECONDS,
    )
    settings.process.data_dir.mkdir(parents=True)
    await run_import(settings.catalog, lc.build_legacy_file(tmp_path / "legacy.db"))
    running = Stack(settings, SERVICES, gateway=False)
    await running.start()
    yield running
    await running.stop()


async def rate_films(stack: Stack, users: list[str]) -> None:
    async with clients.channel(stack.grpc_address) as channel:
        likes = likes_pb2_grpc.LikesServiceStub(channel)
        for user in users:
            metadata = bearer(mint_token(stack, user_id=user))
            for film in FILMS:
                request = likes_pb2.RateFilmRequest(film_id=film, rating=likes_pb2.RATING_LIKE)
                await likes.RateFilm(request, metadata=metadata)


async def consume(
    bootstrap: str, topic: str, group: str, stop_after: int, commit_first: int
) -> list[tuple[bytes, likes_pb2.Event]]:
    """Reads ``stop_after`` messages as group ``group``, committing only the first few.

    Committing less than it read is a consumer that dies before its commit: the group's
    next member gets those messages again.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: list[tuple[bytes, likes_pb2.Event]] = []
    try:
        async with asyncio.timeout(30):
            async for message in consumer:
                assert message.key is not None and message.value is not None
                received.append((message.key, likes_pb2.Event.FromString(message.value)))
                if len(received) == commit_first:
                    partition = TopicPartition(topic, message.partition)
                    await consumer.commit({partition: message.offset + 1})
                if len(received) == stop_after:
                    break
    finally:
        await consumer.stop()
    return received


async def test_restarted_consumer_group_gets_every_event_once_after_dedup(
    kafka_stack: Stack, kafka_bootstrap: str, kafka_topic: str
) -> None:
    group = f"recommender-{uuid.uuid4().hex[:8]}"
    await rate_films(kafka_stack, ["user-a", "user-b"])
    # The first member reads 7 of the 10 events but commits only 4, then goes away.
    first = await consume(kafka_bootstrap, kafka_topic, group, stop_after=7, commit_first=4)
    await rate_films(kafka_stack, ["user-c"])
    second = await consume(kafka_bootstrap, kafka_topic, group, stop_after=11, commit_first=11)

    received = first + second
    assert all(key.decode() == event.user_id for key, event in received)
    sequences = [event.sequence for _, event in received]
    assert len(sequences) > len(set(sequences))  # redelivered: at least once, not exactly
    deduplicated = {event.sequence: event for _, event in received}
    assert sorted(deduplicated) == list(range(1, 16))
    by_user = {event.user_id for event in deduplicated.values()}
    assert by_user == {"user-a", "user-b", "user-c"}
