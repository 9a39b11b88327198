"""Wakes the WatchMyRecommendations streams of a user when their list is replaced."""

from __future__ import annotations

import asyncio
import contextlib


class ListWatchers:
    """One signal per watched user; a watcher takes a snapshot before it reads the list.

    Waiting on a snapshot taken before the read means a list stored between the read
    and the wait still wakes the watcher.
    """

    def __init__(self) -> None:
        self._signals: dict[str, asyncio.Event] = {}

    def snapshot(self, user_id: str) -> asyncio.Event:
        return self._signals.setdefault(user_id, asyncio.Event())

    def notify(self, user_id: str) -> None:
        signal = self._signals.pop(user_id, None)
        if signal is not None:
            signal.set()

    @staticmethod
    async def wait(snapshot: asyncio.Event, seconds: float) -> None:
        """Until the list is replaced after ``snapshot`` or ``seconds`` pass."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await snapshot.wait()
