"""A workload of RPCs kept running while a backend is stopped and started, and what it saw.

:func:`outage_drill` warms the workload up, stops the backend, keeps calling while it is
down, starts it again and keeps calling until calls succeed again. Every answer is kept
(:class:`Outcome`), and :class:`DrillReport` turns them into the drill's figures: calls
acknowledged, statuses seen, how soon the outage was answered UNAVAILABLE, the slowest
failed call, how soon calls succeeded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest

#: The client's deadline: a call that waits this long has hung, which the drill reports.
DEADLINE = 20.0
#: "UNAVAILABLE fast": generous, the machine is shared and noisy.
FAST_FAILURE_SECONDS = 5.0
#: "Recovery without restart": calls succeed again this soon after the backend is back.
RECOVERY_SECONDS = 30.0
#: What would give internals away in a status message.
INTERNALS = re.compile(
    r"Traceback|Error|Exception|Errno|refused|asyncpg|pymongo|sqlalchemy|elastic|redis|kafka"
    r"|127\.0\.0\.1|localhost|:\d{4,5}\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Outcome:
    number: int
    started: float
    ended: float
    code: grpc.StatusCode
    message: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Workload:
    """Calls ``call(n)`` for n = 0, 1, 2, ... from ``workers`` tasks until stopped."""

    call: Callable[[int], Awaitable[object]]
    workers: int = 4
    pause: float = 0.02
    outcomes: list[Outcome] = field(default_factory=list)
    _next: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _answered: asyncio.Event = field(default_factory=asyncio.Event)

    def _record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self._answered.set()

    async def _work(self) -> None:
        while True:
            number, self._next = self._next, self._next + 1
            started = time.monotonic()
            try:
                await self.call(number)
            except grpc.aio.AioRpcError as error:
                self._record(
                    Outcome(number, started, time.monotonic(), error.code(), error.details())
                )
            else:
                self._record(Outcome(number, started, time.monotonic(), grpc.StatusCode.OK))
            await asyncio.sleep(self.pause)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def count(self, ok: bool, since: float) -> int:
        return sum(
            1 for o in self.outcomes if (o.code is grpc.StatusCode.OK) == ok and o.started >= since
        )

    async def until(self, ok: bool, count: int, since: float, seconds: float) -> None:
        """Waits until ``count`` calls started after ``since`` succeeded (or failed)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while self.count(ok, since) < count:
                    self._answered.clear()
                    await self._answered.wait()


@dataclass
class DrillReport:
    backend: str
    outcomes: list[Outcome]
    stopping: float  # when the stop began
    down: float  # when the backend was down (stop returned)
    starting: float
    up: float  # when the backend was back (start returned)

    @property
    def acknowledged(self) -> set[int]:
        return {o.number for o in self.outcomes if o.code is grpc.StatusCode.OK}

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.code is not grpc.StatusCode.OK]

    @property
    def statuses(self) -> Counter[str]:
        return Counter(o.code.name for o in self.outcomes)

    @property
    def unavailable_after(self) -> float | None:
        """Seconds from the backend being down to the first UNAVAILABLE answer."""
        ends = [o.ended for o in self.failures if o.code is grpc.StatusCode.UNAVAILABLE]
        return max(0.0, min(ends) - self.down) if ends else None

    @property
    def slowest_failure(self) -> float:
        return max((o.seconds for o in self.failures), default=0.0)

    @property
    def failed_while_down(self) -> int:
        return sum(1 for o in self.failures if self.down <= o.started < self.starting)

    @property
    def recovered_after(self) -> float | None:
        """Seconds from the backend being back to the first success of a call made after."""
        ok = grpc.StatusCode.OK
        ends = [o.ended for o in self.outcomes if o.code is ok and o.started >= self.up]
        return min(ends) - self.up if ends else None

    @property
    def outage_seconds(self) -> float:
        return self.up - self.stopping

    def figures(self) -> dict[str, object]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "calls": len(self.outcomes),
            "acknowledged": len(self.acknowledged),
            "statuses": dict(self.statuses),
            "outage_s": rounded(self.outage_seconds),
            "unavailable_after_s": rounded(self.unavailable_after),
            "slowest_failure_s": rounded(self.slowest_failure),
            "recovered_after_s": rounded(self.recovered_after),
        }

    def publish(self, record_property: Callable[[str, object], None], **extra: object) -> None:
        """Prints the figures (``pytest -s``) and records them in the JUnit report."""
        figures = {**self.figures(), **extra}
        print(f"\n[outage drill] {self.backend}: {figures}")
        for name, value in figures.items():
            record_property(f"{self.backend}.{name}", value)

    def assert_answered_unavailable_fast(self) -> None:
        """While down: only UNAVAILABLE, quickly, with no internals in the message."""
        assert self.failed_while_down > 0, (
            f"no call failed while {self.backend} was down: {self.statuses}"
        )
        wrong = [o for o in self.failures if o.code is not grpc.StatusCode.UNAVAILABLE]
        assert not wrong, f"{self.backend} down: {self.statuses}; e.g. {wrong[0]}"
        slow = [o for o in self.failures if o.seconds > FAST_FAILURE_SECONDS]
        assert not slow, f"{self.backend} down: {len(slow)} calls took > 5 s, e.g. {slow[0]}"
        leaky = [o for o in self.failures if INTERNALS.search(o.message)]
        assert not leaky, f"internals in the message: {leaky[0].message!r}"

    def assert_recovered(self) -> None:
        recovered = self.recovered_after
        assert recovered is not None and recovered <= RECOVERY_SECONDS, (
            f"{self.backend} back: calls did not succeed again within {RECOVERY_SECONDS} s "
            f"({self.statuses})"
        )


async def outage_drill(
    backend: str,
    call: Callable[[int], Awaitable[object]],
    stop: Callable[[], Awaitable[None]],
    start: Callable[[], Awaitable[None]],
    workers: int = 4,
    down_seconds: float = 3.0,
    fails_while_down: bool = True,
) -> DrillReport:
    """Runs ``call`` through an outage of ``backend``: warm up, stop, stay down, start.

    ``fails_while_down=False`` is for a backend the calls must not need (a cache, a bus
    behind an outbox): the drill waits for calls to succeed during the outage instead.
    """
    load = Workload(call, workers)
    load.start()
    try:
        began = time.monotonic()
        await load.until(ok=True, count=2 * workers, since=began, seconds=RECOVERY_SECONDS)
        if load.count(ok=True, since=began) == 0:
            pytest.fail(f"{backend}: the workload never succeeded before the outage")
        stopping = time.monotonic()
        await stop()
        down = time.monotonic()
        # Stay down long enough for every worker to meet the outage, at least twice.
        await asyncio.sleep(down_seconds)
        await load.until(ok=not fails_while_down, count=2 * workers, since=down, seconds=DEADLINE)
        starting = time.monotonic()
        await start()
        up = time.monotonic()
        await load.until(ok=True, count=2 * workers, since=up, seconds=RECOVERY_SECONDS)
    finally:
        await load.stop()
    return DrillReport(backend, list(load.outcomes), stopping, down, starting, up)
