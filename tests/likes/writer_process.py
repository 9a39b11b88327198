"""A process that changes likes as fast as it can until it is killed (for the crash test).

Run as ``python -m tests.likes.writer_process <likes DSN>``; prints one line per committed change
so the test knows when to kill it, and runs the outbox relay alongside the writes so
the kill can also land inside a relay round.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

from services.kit.signals import WakeUp
from services.likes.feedback import Feedback
from services.likes.outbox_relay import run_outbox_relay
from services.likes.records import Rating
from tests.likes.stores import open_backend

USERS = [f"user-{n}" for n in range(3)]
FILMS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 6)]
LEASE_SECONDS = 0.5


async def write_forever(dsn: str) -> None:
    store = await open_backend(dsn, lease_seconds=LEASE_SECONDS)
    # SQLite has no outbox: its writes log their events themselves.
    outbox = store.outbox or WakeUp()
    relay = asyncio.create_task(run_outbox_relay(store, outbox, 0.01))
    choose = random.Random()
    while True:
        user, film = choose.choice(USERS), choose.choice(FILMS)
        now_us = time.time_ns() // 1000
        action = choose.randrange(5)
        if action < 2:
            rating = Rating.LIKE if action == 0 else Rating.DISLIKE
            changed = (await Feedback(store).rate(user, film, rating, now_us)).changed
        elif action == 2:
            changed = await Feedback(store).clear_rating(user, film, now_us)
        elif action == 3:
            changed = await Feedback(store).exclude(user, film, now_us)
        else:
            changed = await Feedback(store).include(user, film, now_us)
        if changed:
            print("changed", flush=True)
        assert not (relay.done() and relay.exception())


if __name__ == "__main__":
    asyncio.run(write_forever(sys.argv[1]))
