"""The likes service's outbox relay: a worker that logs what a backend with an outbox wrote.

Only MongoDB has one (see ``store_mongo``); SQLite logs each change as it commits.
"""

from __future__ import annotations

from services.kit.signals import WakeUp
from services.likes.store import LikesStore


async def run_outbox_relay(store: LikesStore, outbox: WakeUp, poll_seconds: float) -> None:
    """Relays until cancelled: at once after this process's writes, else every poll (for
    other replicas' writes). A failure ends the run; its supervisor restarts it."""
    while True:
        written = outbox.snapshot()
        await store.relay_outbox()
        await WakeUp.wait(written, poll_seconds)
