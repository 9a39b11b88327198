"""Likes events from Kafka in a consumer group: the production ``EventSource``.

The likes relay publishes the log keyed by user id, so one user's events sit in one
partition, in log order. Recommender replicas join one group
(``CINEMA_RECOMMENDATIONS_CONSUMER_GROUP``) and the group splits the partitions between
them. Delivery is at least once; the projection still ends as if each event were folded
once:

* An offset is committed only after ``applied`` says the pipeline folded the event into
  the store, so a crash redelivers from the first unfolded event, never past it.
* Within a partition the relay's sequences only grow, except when it republishes a batch
  after a crash: an event at or below the highest sequence already seen in its
  partition is such a copy and is skipped (and committed past).
* What a restart redelivers is a suffix of the partition, folded again in order; the
  projection keeps the last verdict per (user, film), and one user's events keep their
  order, so it ends in the same state.
* Before a rebalance takes partitions away, the events already handed to the pipeline are
  waited for and committed, so two replicas do not fold one user's events at once.

Positions live in Kafka, so ``after_sequence`` (the store's single cursor) is not used;
a new group starts at the earliest event the topic retains.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from google.protobuf.message import DecodeError

from cinema.likes.v1 import likes_pb2
from services.recommendations.events import likes_event
from services.recommendations.records import LikesEvent

log = structlog.get_logger(__name__)

FETCH_RECORDS = 500
FETCH_WAIT_MS = 1000
REVOKE_WAIT_SECONDS = 30.0


@dataclass
class _Partition:
    """What this member did with one assigned partition since it was assigned."""

    next_offset: int = -1  # just after the last record handed out or skipped; -1: none yet
    committed: int = -1
    high_sequence: int = 0
    unapplied: deque[tuple[int, int]] = field(default_factory=deque)  # (sequence, offset)

    def committable(self) -> int:
        """The offset the group may resume from: the first event not yet in the store."""
        return self.unapplied[0][1] if self.unapplied else self.next_offset


class KafkaEventSource:
    """Follows the likes topic as one member of the recommenders' consumer group.

    It is also its consumer's rebalance listener (registered with aiokafka's ABC).
    """

    #: A fetch hands the pipeline up to ``FETCH_RECORDS`` events at once: no need to wait.
    fold_linger_seconds = 0.0

    def __init__(self, bootstrap: str, topic: str, group_id: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._group_id = group_id
        self._consumer: Any = None
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._handed_out: dict[int, TopicPartition] = {}  # sequence -> partition, until applied
        self._progress = asyncio.Event()
        self._commit_lock = asyncio.Lock()

    async def events(self, after_sequence: int) -> AsyncIterator[LikesEvent]:
        """Joins the group and follows the topic; a KafkaError leaves the group (committing
        what was applied) and ends the pipeline's run, which its supervisor restarts."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        consumer.subscribe([self._topic], listener=self)
        try:
            await consumer.start()
            self._consumer = consumer
            while True:
                fetched = await consumer.getmany(
                    timeout_ms=FETCH_WAIT_MS, max_records=FETCH_RECORDS
                )
                for partition, records in fetched.items():
                    for record in records:
                        if partition not in self._partitions:
                            break  # revoked while the pipeline took the earlier ones
                        event = self._accept(partition, record)
                        if event is not None:
                            yield event
                await self._commit(fetched)  # moves past skipped copies
        finally:
            await self._stop(consumer)

    def _accept(self, partition: TopicPartition, record: ConsumerRecord) -> LikesEvent | None:
        """The record's event for the pipeline, or None for a copy, a newer kind or garbage."""
        state = self._partitions[partition]
        state.next_offset = record.offset + 1
        try:
            message = likes_pb2.Event.FromString(record.value or b"")
        except DecodeError:
            log.error("likes_kafka_bad_record", partition=partition.partition, offset=record.offset)
            return None
        if message.sequence <= state.high_sequence:
            return None  # the relay published it again
        state.high_sequence = message.sequence
        event = likes_event(message)
        if event is not None:
            state.unapplied.append((event.sequence, record.offset))
            self._handed_out[event.sequence] = partition
        return event

    async def applied(self, events: Sequence[LikesEvent]) -> None:
        touched: set[TopicPartition] = set()
        for event in events:
            partition = self._handed_out.pop(event.sequence, None)
            state = self._partitions.get(partition) if partition is not None else None
            if partition is None or state is None:
                continue  # handed out before a rebalance or reconnect: redelivered anyway
            while state.unapplied and state.unapplied[0][0] <= event.sequence:
                state.unapplied.popleft()
            touched.add(partition)
        self._progress.set()
        await self._commit(touched)

    async def _commit(self, partitions: Iterable[TopicPartition]) -> None:
        async with self._commit_lock:
            offsets = {
                partition: state.committable()
                for partition in partitions
                if (state := self._partitions.get(partition)) is not None
                and state.committable() > state.committed
            }
            if not offsets or self._consumer is None:
                return
            try:
                await self._consumer.commit(offsets)
            except KafkaError as error:
                # The next commit carries these offsets too; after a rebalance the new
                # owner redelivers from the last commit that did land.
                log.warning("likes_kafka_commit_failed", topic=self._topic, error=repr(error))
                return
            for partition, offset in offsets.items():
                if (state := self._partitions.get(partition)) is not None:
                    state.committed = max(state.committed, offset)

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Before a rebalance: let the pipeline fold what it was given, commit, let go."""
        mine = [p for p in revoked if p in self._partitions]
        try:
            async with asyncio.timeout(REVOKE_WAIT_SECONDS):
                while any(self._partitions[p].unapplied for p in mine):
                    self._progress.clear()
                    await self._progress.wait()
        except TimeoutError:
            log.warning("likes_kafka_revoked_unapplied", topic=self._topic)
        await self._commit(mine)
        self._forget(mine)

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for partition in assigned:
            self._partitions.setdefault(partition, _Partition())
        log.info(
            "likes_kafka_partitions_assigned",
            topic=self._topic,
            partitions=sorted(p.partition for p in self._partitions),
        )

    def _forget(self, partitions: Iterable[TopicPartition]) -> None:
        gone = set(partitions)
        for partition in gone:
            self._partitions.pop(partition, None)
        self._handed_out = {s: p for s, p in self._handed_out.items() if p not in gone}

    async def _stop(self, consumer: Any) -> None:
        if self._consumer is consumer:
            await self._commit(list(self._partitions))
            self._consumer = None
            self._forget(list(self._partitions))
        try:
            await consumer.stop()
        except KafkaError as error:
            log.warning("likes_kafka_consumer_stop_failed", error=repr(error))

    async def close(self) -> None:
        """Commits what the pipeline applied and leaves the group."""
        if self._consumer is not None:
            await self._stop(self._consumer)


ConsumerRebalanceListener.register(KafkaEventSource)
