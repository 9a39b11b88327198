"""What stands between a refresh and a paid GigaChat call: the budget and the breaker.

Both say no at once instead of waiting, so the caller can answer from its local
engines. Time comes from an injected monotonic clock.
"""

from __future__ import annotations

import enum

from services.kit.limits import SlidingWindow
from services.recommendations.llm import metrics
from services.recommendations.llm.types import Clock

HOUR = 3600.0
_CALLS = "gigachat"  # the budget's one key


class HourlyBudget:
    """At most ``calls_per_hour`` calls in any sliding hour (per process)."""

    def __init__(self, calls_per_hour: int, clock: Clock, window_seconds: float = HOUR) -> None:
        self._limit = calls_per_hour
        self._spent = SlidingWindow(calls_per_hour, window_seconds, clock)
        metrics.BUDGET_PER_HOUR.set(calls_per_hour)
        metrics.BUDGET_REMAINING.set(calls_per_hour)

    @property
    def remaining(self) -> int:
        return max(0, self._limit - self._spent.count(_CALLS))

    def publish(self) -> None:
        """Sets ``cinema_llm_budget_remaining`` to the calls left now. The window slides,
        so the gauge is as current as its last publish: each spend and each reading."""
        metrics.BUDGET_REMAINING.set(self.remaining)

    def try_spend(self) -> bool:
        """Take one call from the budget, or say no (never waits)."""
        if self._spent.retry_after(_CALLS) is not None:
            return False
        self._spent.record(_CALLS)
        self.publish()
        return True


class BreakerState(enum.IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; after ``reset_seconds``
    lets one trial call through (half-open): its success closes, its failure re-opens.

    Of the libraries checked, pybreaker (1.4) is sync-first (async only through
    Tornado), aiobreaker (2021) and aiocircuitbreaker (2022) are unmaintained, and
    purgatory (3.0) is async but reads the wall clock itself and opens per decorated
    call; a few lines here with an injected clock are simpler to trust and test.
    """

    def __init__(self, failure_threshold: int, reset_seconds: float, clock: Clock) -> None:
        self._threshold = failure_threshold
        self._reset = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        metrics.BREAKER_STATE.set(BreakerState.CLOSED)

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._clock() - self._opened_at >= self._reset:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """May a call go now? In half-open only one trial call is in flight."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._probing:
            return False
        self._probing = True
        metrics.BREAKER_STATE.set(BreakerState.HALF_OPEN)
        return True

    def record_success(self) -> None:
        if self._opened_at is not None and not self._probing:
            return  # a call from before the breaker opened: no evidence of recovery
        self._failures = 0
        self._opened_at = None
        self._probing = False
        metrics.BREAKER_STATE.set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or (self._opened_at is None and self._failures >= self._threshold):
            self._opened_at = self._clock()
            self._probing = False
            metrics.BREAKER_STATE.set(BreakerState.OPEN)

    def publish(self) -> None:
        """Sets ``cinema_llm_breaker_state`` to the state now: an open breaker turns
        half-open with time alone, with no call to say so."""
        metrics.BREAKER_STATE.set(self.state)

    def abandon(self) -> None:
        """A call the breaker allowed ended with no verdict (cancelled): free the trial."""
        self._probing = False
