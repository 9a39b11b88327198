"""Failed-login throttling: a sliding window of failures per login and per client address.

In-process: each replica counts on its own, so N replicas allow up to N times the limit.
That bounds online guessing well enough for now; a shared counter (Redis) is the next step.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from services.kit.errors import ResourceExhausted

#: How many failures between sweeps of keys whose failures all left the window.
_SWEEP_EVERY = 1024


class SlidingWindow:
    """At most ``limit`` events per key within the last ``window_seconds``."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._since_sweep = 0

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, or None when it may act now."""
        events = self._recent(key)
        if len(events) < self._limit:
            return None
        return max(events[-self._limit] + self._window - self._clock(), 0.001)

    def record(self, key: str) -> None:
        self._recent(key).append(self._clock())
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep()

    def forget(self, key: str) -> None:
        self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        events = self._events.setdefault(key, deque(maxlen=self._limit))
        horizon = self._clock() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def _sweep(self) -> None:
        # Without this, a spray of distinct logins would keep one entry each forever.
        horizon = self._clock() - self._window
        self._events = {k: v for k, v in self._events.items() if v and v[-1] > horizon}
        self._since_sweep = 0


@dataclass
class LoginThrottle:
    """Refuses login attempts for a login or an address with too many recent failures."""

    per_login: SlidingWindow
    per_address: SlidingWindow

    def check(self, login_key: str, address: str) -> None:
        waits = [
            wait
            for wait in (
                self.per_login.retry_after(login_key),
                self.per_address.retry_after(address),
            )
            if wait is not None
        ]
        if waits:
            seconds = max(waits)
            raise ResourceExhausted(
                f"too many failed logins; retry in {math.ceil(seconds)} s", seconds
            )

    def failed(self, login_key: str, address: str) -> None:
        self.per_login.record(login_key)
        self.per_address.record(address)

    def succeeded(self, login_key: str) -> None:
        # The address keeps its count: one good password must not reset a spray.
        self.per_login.forget(login_key)
