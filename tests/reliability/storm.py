"""A cancellation storm: many concurrent writes, each cancelled part-way through.

Two kinds of cancellation, so that one lands at every await of a write (before its
transaction begins, between its statements, at its commit):

* stepped: pairs of writes cancelled after 0, 1, 2, ... turns of the event loop, which
  walks the cancellation through a write's awaits one by one;
* deadlines: the rest, ``concurrency`` at a time under random 0.5-30 ms timeouts, as a
  client's deadlines would cut them.

What a storm may leave behind is checked by each store's own test; the storm only says
which writes were acknowledged (returned before they were cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable

SHORTEST, LONGEST = 0.0005, 0.03
STEPS = 60  # event-loop turns a stepped cancellation waits, at most
PAIR = 2


async def cancellation_storm(
    write: Callable[[int], Awaitable[object]],
    count: int = 600,
    concurrency: int = 20,
    seed: int = 10,
) -> set[int]:
    """Runs ``write(0..count-1)``, each cancelled part-way; the numbers acknowledged."""
    acknowledged: set[int] = set()
    stepped = min(count, STEPS * PAIR)
    for start in range(0, stepped, PAIR):
        numbers = range(start, min(start + PAIR, stepped))
        tasks = {n: asyncio.ensure_future(write(n)) for n in numbers}
        for _ in range(start // PAIR):
            await asyncio.sleep(0)
        for number, task in tasks.items():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
                acknowledged.add(number)
    numbers = range(stepped, count)

    async def cut(number: int, seconds: float) -> None:
        await asyncio.wait_for(write(number), seconds)

    return acknowledged | await deadline_storm(cut, numbers, concurrency, seed)


async def deadline_storm(
    call: Callable[[int, float], Awaitable[object]],
    numbers: Iterable[int],
    concurrency: int = 20,
    seed: int = 10,
) -> set[int]:
    """``call(number, deadline)`` for each number, ``concurrency`` at a time, each with a
    random 0.5-30 ms deadline; ``call`` raises TimeoutError when its deadline cut it.
    The numbers acknowledged."""
    chance = random.Random(seed)
    deadlines = {n: chance.uniform(SHORTEST, LONGEST) for n in numbers}
    acknowledged: set[int] = set()
    slots = asyncio.Semaphore(concurrency)

    async def one(number: int) -> None:
        async with slots:
            try:
                await call(number, deadlines[number])
            except TimeoutError:
                return
            acknowledged.add(number)

    await asyncio.gather(*(one(n) for n in deadlines))
    return acknowledged
