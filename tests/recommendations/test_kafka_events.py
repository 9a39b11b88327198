"""The recommender follows the likes log through Kafka, as a consumer group member.

The embedded stack with ``CINEMA_EVENTS_URL=kafka://…``: the likes relay publishes the
log to the topic and the recommender consumes it from there, not from StreamEvents.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from prometheus_client import REGISTRY

from cinema.likes.v1 import likes_pb2
from etl.pipeline import run_import
from services.kit import clients
from services.kit.workers import RestartPolicy, Workers
from services.recommendations.events_kafka import KafkaEventSource
from services.recommendations.records import LikesEvent, Taste
from services.recommendations.store import open_store
from services.stack import SERVICES, Stack
from tests.fixtures.stack import embedded_settings
from tests.recommendations.service.conftest import FAST, Client, film_ids
from tests.recommendations.service.films import IDS, build_catalog_file

PARTITIONS = 3
CATCH_UP_SECONDS = 30.0  # a consumer group join takes a few seconds


class KafkaStacks:
    """Embedded stacks on one data dir, one at a time, relaying and consuming via Kafka."""

    def __init__(self, data_dir: Path, bootstrap: str, topic: str) -> None:
        self.data_dir = data_dir
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = f"t-recommender-{uuid.uuid4().hex[:8]}"
        self.running: Stack | None = None

    async def start(self) -> Stack:
        settings = embedded_settings(
            self.data_dir,
            events_url=f"kafka://{self.bootstrap}",
            events_topic=self.topic,
            recommendations_consumer_group=self.group,
            **FAST,
        )
        self.running = Stack(settings, SERVICES, gateway=False)
        await self.running.start()
        return self.running

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None


@pytest.fixture
async def kafka_stacks(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> AsyncIterator[KafkaStacks]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:  # several partitions: users spread over them, one user's events in one
        await admin.create_partitions({kafka_topic: NewPartitions(PARTITIONS)})
    finally:
        await admin.close()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    await run_import(
        embedded_settings(data_dir).catalog, build_catalog_file(tmp_path / "legacy.db")
    )
    stacks = KafkaStacks(data_dir, kafka_bootstrap, kafka_topic)
    yield stacks
    await stacks.stop()


async def test_like_through_kafka_refreshes_the_list(kafka_stacks: KafkaStacks) -> None:
    stack = await kafka_stacks.start()
    async with clients.channel(stack.grpc_address) as channel:
        me = Client(stack, channel, "kafka-fan")
        await me.rate(IDS["Heat"])
        after = await me.list_until(lambda r: not r.fallback, seconds=CATCH_UP_SECONDS)
    assert IDS["Heat"] not in film_ids(after)
    assert IDS["Collateral"] in film_ids(after)[:5]


FILMS = list(IDS.values())


async def first_round(me: Client, offset: int) -> None:
    """Likes, a changed mind, a cleared rating, an exclusion taken back: every kind."""
    films = FILMS[offset:] + FILMS[:offset]
    for film in films[:6]:
        await me.rate(film)
    await me.rate(films[1], like=False)
    await me.likes.ClearRating(likes_pb2.ClearRatingRequest(film_id=films[2]), metadata=me.metadata)
    await me.exclude(films[6])
    await me.exclude(films[7])
    await me.likes.IncludeFilm(likes_pb2.IncludeFilmRequest(film_id=films[7]), metadata=me.metadata)
    await me.more_like_this(films[0])


async def second_round(me: Client, offset: int) -> None:
    films = FILMS[offset:] + FILMS[:offset]
    await me.rate(films[0], like=False)
    await me.likes.ClearRating(likes_pb2.ClearRatingRequest(film_id=films[3]), metadata=me.metadata)
    await me.rate(films[2])
    await me.likes.IncludeFilm(likes_pb2.IncludeFilmRequest(film_id=films[6]), metadata=me.metadata)
    await me.exclude(films[8])


async def likes_truth(me: Client) -> Taste:
    """What the likes service says about the user: the state the projection must reach."""
    ratings = await me.likes.ListMyRatings(
        likes_pb2.ListMyRatingsRequest(page_size=100), metadata=me.metadata
    )
    exclusions = await me.likes.ListMyExclusions(
        likes_pb2.ListMyExclusionsRequest(page_size=100), metadata=me.metadata
    )
    liked = {r.film_id for r in ratings.ratings if r.rating == likes_pb2.RATING_LIKE}
    disliked = {r.film_id for r in ratings.ratings if r.rating == likes_pb2.RATING_DISLIKE}
    return Taste(
        tuple(sorted(liked)),
        tuple(sorted(disliked)),
        frozenset(e.film_id for e in exclusions.exclusions),
    )


def unordered(taste: Taste) -> Taste:
    return Taste(tuple(sorted(taste.liked)), tuple(sorted(taste.disliked)), taste.excluded)


async def rewind_group(bootstrap: str, topic: str, group: str) -> None:
    """Sets the group's committed offsets back to 0: everything is delivered again."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.commit({p: 0 for p in partitions})
    finally:
        await consumer.stop()


async def republish_tail(bootstrap: str, topic: str) -> int:
    """What a likes relay does after a crash: publishes the log's last batch once more."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await reader.start()
    messages = []
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await reader.end_offsets(partitions)
        async with asyncio.timeout(10):
            while len(messages) < sum(ends.values()):
                fetched = await reader.getmany(timeout_ms=500)
                messages += [m for records in fetched.values() for m in records]
    finally:
        await reader.stop()
    events = sorted(messages, key=lambda m: likes_pb2.Event.FromString(m.value).sequence)
    tail = events[len(events) // 2 :]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for message in tail:
            await producer.send_and_wait(topic, key=message.key, value=message.value)
    finally:
        await producer.stop()
    return len(tail)


async def test_restarted_recommender_folds_every_event_once_in_effect(
    kafka_stacks: KafkaStacks,
) -> None:
    users = [f"user-{n}" for n in range(4)]
    stack = await kafka_stacks.start()
    async with clients.channel(stack.grpc_address) as channel:
        clients_ = [Client(stack, channel, user) for user in users]
        await asyncio.gather(*(first_round(me, n * 3) for n, me in enumerate(clients_)))
    await kafka_stacks.stop()  # mid-stream: the relay and the consumer are still catching up

    # Redelivery on purpose: the group starts over and the relay's last batch is there twice.
    await rewind_group(kafka_stacks.bootstrap, kafka_stacks.topic, kafka_stacks.group)
    assert await republish_tail(kafka_stacks.bootstrap, kafka_stacks.topic) > 0

    stack = await kafka_stacks.start()
    store = await open_store(stack.settings.recommendations.recommendations_dsn)
    try:
        async with clients.channel(stack.grpc_address) as channel:
            clients_ = [Client(stack, channel, user) for user in users]
            await asyncio.gather(*(second_round(me, n * 3) for n, me in enumerate(clients_)))
            truth = {me.user_id: await likes_truth(me) for me in clients_}
            assert all(t.liked and t.disliked and t.excluded for t in truth.values())
            async with asyncio.timeout(CATCH_UP_SECONDS):
                while True:
                    projected = {u: unordered(await store.taste(u)) for u in users}
                    if projected == truth:
                        break
                    await asyncio.sleep(0.1)
    finally:
        await store.close()
    await kafka_stacks.stop()

    # A clean stop committed everything it folded: the next member starts at the end.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_stacks.bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(kafka_stacks.group)
    finally:
        await admin.close()
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_stacks.bootstrap)
    await reader.start()
    try:
        ends = await reader.end_offsets(list(committed))
    finally:
        await reader.stop()
    assert {p: c.offset for p, c in committed.items()} == ends


async def test_recommender_waits_out_a_kafka_outage_and_stops_cleanly() -> None:
    closed_port = "127.0.0.1:1"
    source = KafkaEventSource(closed_port, "cinema.likes.events", f"t-{uuid.uuid4().hex[:8]}")
    received: list[LikesEvent] = []

    async def follow() -> None:
        async for event in source.events(0):
            received.append(event)

    # As the service runs its pipeline: supervised, restarted with backoff when it fails.
    workers = Workers("kafka-outage-test", RestartPolicy(max_delay_seconds=0.2))
    workers.add("pipeline", follow)
    (supervised,) = workers
    reader = asyncio.create_task(supervised())
    await asyncio.sleep(1.5)  # several failed connects, retried with backoff
    assert not reader.done()
    assert not workers.serving
    restarts = REGISTRY.get_sample_value(
        "cinema_worker_restarts_total", {"worker": "kafka-outage-test.pipeline"}
    )
    assert restarts is not None and restarts >= 1
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await source.close()
    assert received == []
