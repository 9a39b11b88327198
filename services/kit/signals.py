"""The one wake-up signal of the services: "something changed, look again".

A waiter takes :meth:`WakeUp.snapshot` *before* it reads, then waits on it: a change that
lands between its read and its wait still wakes it. Signals are per key (a user's list)
or for the one default key (an event log); a key is held only while somebody waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable

#: The key of a signal that has only one thing to watch.
ONLY: Hashable = ()


class WakeUp:
    def __init__(self) -> None:
        self._signals: dict[Hashable, asyncio.Event] = {}

    def snapshot(self, key: Hashable = ONLY) -> asyncio.Event:
        return self._signals.setdefault(key, asyncio.Event())

    def notify(self, key: Hashable = ONLY) -> None:
        signal = self._signals.pop(key, None)
        if signal is not None:
            signal.set()

    @staticmethod
    async def wait(snapshot: asyncio.Event, seconds: float) -> None:
        """Until a change after ``snapshot`` or ``seconds`` pass, whichever is first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await snapshot.wait()
