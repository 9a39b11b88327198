"""Manual refreshes per user: a sliding minute that refuses the next one and then forgets."""

from __future__ import annotations

import pytest

from services.kit.errors import ResourceExhausted
from services.recommendations.servicer import RefreshLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_user_over_the_limit_waits_until_their_oldest_refresh_leaves_the_minute() -> None:
    clock = Clock()
    limiter = RefreshLimiter(2, clock=clock)
    limiter.check("erin")
    clock.now = 10
    limiter.check("erin")
    with pytest.raises(ResourceExhausted) as refused:
        limiter.check("erin")
    assert refused.value.retry_after_seconds == pytest.approx(50)
    limiter.check("frank")  # another user has their own minute
    clock.now = 60.5
    limiter.check("erin")


def test_users_are_forgotten_once_their_refreshes_leave_the_minute() -> None:
    clock = Clock()
    limiter = RefreshLimiter(3, clock=clock)
    for n in range(1000):
        limiter.check(f"user-{n}")
    assert len(limiter) == 1000
    clock.now = 61
    limiter.check("late")
    assert len(limiter) == 1
