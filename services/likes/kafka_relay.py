"""Publishes the event log to a Kafka topic, keyed by user id: at least once, in order.

The relay reads the log after its persisted cursor, sends a batch (acks=all, idempotent
producer), and moves the cursor only once Kafka acknowledged the whole batch. A crash
in between publishes the batch again, so consumers deduplicate by the event's sequence.
One relay per topic publishes at a time (a lease in the likes store), so replicas do
not multiply the duplicates. The value is a serialized ``cinema.likes.v1.Event``.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer

from services.kit.signals import WakeUp
from services.likes.servicer import event_message
from services.likes.store import LikesStore

BATCH = 500


class KafkaRelay:
    def __init__(
        self,
        store: LikesStore,
        bootstrap: str,
        topic: str,
        poll_seconds: float,
        lease_seconds: float,
    ) -> None:
        self._store = store
        self._bootstrap = bootstrap
        self._topic = topic
        self._poll_seconds = poll_seconds
        self._lease_seconds = lease_seconds
        self._owner = uuid.uuid4().hex
        self.cursor_name = f"kafka:{topic}"

    async def run(self) -> None:
        """Publishes until cancelled. A Kafka or store failure ends the run; its
        supervisor (services.kit.workers) restarts it, resuming after the cursor."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True
        )
        try:
            await producer.start()
            await self._publish_forever(producer)
        finally:
            await producer.stop()

    async def _publish_forever(self, producer: AIOKafkaProducer) -> None:
        while True:
            appended = self._store.appended.snapshot()
            if await self.publish_pending(producer) == BATCH:
                continue
            await WakeUp.wait(appended, self._poll_seconds)

    async def publish_pending(self, producer: AIOKafkaProducer) -> int:
        """Publishes one batch after the cursor; how many events it published."""
        lease = f"kafka-relay:{self._topic}"
        if not await self._store.acquire_lease(lease, self._owner, self._lease_seconds):
            return 0
        after = await self._store.get_cursor(self.cursor_name)
        events = await self._store.events_after(after, BATCH)
        if not events:
            return 0
        deliveries = [
            await producer.send(
                self._topic,
                key=event.user_id.encode(),
                value=event_message(event).SerializeToString(),
            )
            for event in events
        ]
        await asyncio.gather(*deliveries)
        await self._store.set_cursor(self.cursor_name, events[-1].sequence)
        return len(events)
