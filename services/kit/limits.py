"""Limits over time shared by the services: an evicting sliding window of events per key."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` events per key within the last ``window_seconds``.

    A key is held only while it has events in the window: keys are dropped as their last
    event leaves it, so a spray of distinct keys (logins, addresses, users) costs memory
    for one window at most.
    """

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._swept_at = clock()

    def __len__(self) -> int:
        """How many keys are held."""
        return len(self._events)

    def count(self, key: str) -> int:
        """How many events ``key`` has in the window now."""
        events = self._recent(key)
        return 0 if events is None else len(events)

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, or None when it may act now."""
        if self._limit <= 0:
            return self._window  # a limit of 0 allows nothing
        events = self._recent(key)
        if events is None or len(events) < self._limit:
            return None
        return max(events[-self._limit] + self._window - self._clock(), 0.001)

    def record(self, key: str) -> float:
        """Counts an event for ``key`` now; returns its stamp, for :meth:`withdraw`."""
        now = self._clock()
        if now - self._swept_at >= self._window:
            self._sweep(now)
        self._events.setdefault(key, deque(maxlen=self._limit)).append(now)
        return now

    def withdraw(self, key: str, stamp: float) -> None:
        """Takes back the event recorded at ``stamp`` (equal stamps are interchangeable)."""
        events = self._events.get(key)
        if events is not None and stamp in events:
            events.remove(stamp)
            if not events:
                del self._events[key]

    def forget(self, key: str) -> None:
        self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = self._clock() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def _sweep(self, now: float) -> None:
        # Keys that are never looked at again would otherwise stay forever; one pass per
        # window keeps the cost proportional to the keys that window saw.
        horizon = now - self._window
        self._events = {k: v for k, v in self._events.items() if v and v[-1] > horizon}
        self._swept_at = now
