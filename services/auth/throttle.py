"""Failed-login throttling: a sliding window of failures per login and per client address.

An attempt is counted the moment it is let in, before its slow password check, and
given back only if it succeeds: otherwise a burst of concurrent guesses would all pass
the check before the first of them failed.

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


class SlidingWindow:
    """At most ``limit`` events per key within the last ``window_seconds``.

    A key is held only while it has events in the window: keys are dropped as their last
    event leaves it, so a spray of distinct logins or addresses costs memory for one
    window at most.
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

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, or None when it may act now."""
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


@dataclass
class LoginAttempt:
    """An attempt let in by the throttle: it counts as a failure unless told otherwise."""

    throttle: LoginThrottle
    login_key: str
    address: str
    login_stamp: float
    address_stamp: float

    def succeeded(self) -> None:
        """The right password: the login's failures are forgiven, the attempt given back.

        The address keeps its other failures: one good password must not reset a spray.
        """
        self.throttle.per_login.forget(self.login_key)
        self.throttle.per_address.withdraw(self.address, self.address_stamp)

    def withdraw(self) -> None:
        """Nothing was checked (e.g. the store failed first): the attempt does not count."""
        self.throttle.per_login.withdraw(self.login_key, self.login_stamp)
        self.throttle.per_address.withdraw(self.address, self.address_stamp)


@dataclass
class LoginThrottle:
    """Refuses login attempts for a login or an address with too many recent failures."""

    per_login: SlidingWindow
    per_address: SlidingWindow

    def begin(self, login_key: str, address: str) -> LoginAttempt:
        """Lets an attempt in and counts it, or raises ResourceExhausted.

        Checking and counting happen with no await between them, so concurrent attempts
        cannot all slip under the limit.
        """
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
        return LoginAttempt(
            self,
            login_key,
            address,
            self.per_login.record(login_key),
            self.per_address.record(address),
        )
