"""The refresh pipeline: likes events -> projection -> debounced refreshes; the sweep.

Events are folded into the projection in batches, each batch with the cursor in one
transaction, so a restart resumes exactly after the last folded event. A user's
refresh waits ``debounce`` seconds after their latest event (at most ``MAX_WAITS``
debounces after the first), so a burst of likes makes one refresh. "More like this"
refreshes at once with that film as the seed. Each event-driven refresh is local
(fast); GigaChat may then improve the list in the background, within its budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import structlog

from services.kit.timestamps import to_micros
from services.recommendations import metrics
from services.recommendations.engines_state import EngineState
from services.recommendations.events import EventSource
from services.recommendations.records import Change, LikesEvent
from services.recommendations.refresher import Refresher
from services.recommendations.settings import RecommendationsSettings
from services.recommendations.store import RecommendationStore, StaleList

log = structlog.get_logger(__name__)

CURSOR = "likes-events"
BATCH = 500
MAX_WAITS = 5
VERDICTS = frozenset({Change.LIKED, Change.DISLIKED, Change.CLEARED})


class Pipeline:
    def __init__(
        self,
        store: RecommendationStore,
        source: EventSource,
        refresher: Refresher,
        engines: EngineState,
        config: RecommendationsSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._source = source
        self._refresher = refresher
        self._engines = engines
        self._clock = clock
        self._debounce = config.recommendations_debounce_seconds
        self._sweep_seconds = config.recommendations_sweep_seconds
        self._sweep_batch = config.recommendations_sweep_batch
        self._max_age = timedelta(seconds=config.recommendations_max_age_seconds)
        self._llm_on_events = config.recommendations_llm_on_events
        self._due: dict[str, tuple[float, float]] = {}  # user -> (first event, refresh at)
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Consumes the likes log until cancelled; raises when the source or the store fails.

        Its supervisor (``services.kit.workers``) then runs it again, from the stored
        cursor. Refreshes already scheduled outlive such a failure: only a cancellation
        (the service stopping) cancels them.
        """
        after = await self._store.get_cursor(CURSOR)
        log.info("pipeline_started", after_sequence=after)
        queue: asyncio.Queue[LikesEvent] = asyncio.Queue(maxsize=BATCH * 4)
        try:
            # Either task failing cancels the other and ends the run.
            async with asyncio.TaskGroup() as group:
                group.create_task(self._read(after, queue))
                group.create_task(self._fold_from(queue))
        except asyncio.CancelledError:
            await self._cancel_refreshes()
            raise

    async def _read(self, after: int, queue: asyncio.Queue[LikesEvent]) -> None:
        async for event in self._source.events(after):
            await queue.put(event)

    async def _fold_from(self, queue: asyncio.Queue[LikesEvent]) -> None:
        while True:
            batch = [await queue.get()]
            if self._source.fold_linger_seconds and queue.qsize() < BATCH:
                await asyncio.sleep(self._source.fold_linger_seconds)
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            await self._fold(batch)

    async def _cancel_refreshes(self) -> None:
        pending = [*self._timers.values(), *self._tasks]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _fold(self, batch: list[LikesEvent]) -> None:
        await self._store.apply_events(batch, CURSOR)
        await self._source.applied(batch)
        for event in batch:
            metrics.EVENTS.labels(event.change.name.lower()).inc()
        self._engines.interactions_changed(sum(e.change in VERDICTS for e in batch))
        seeds = {e.user_id: e.film_id for e in batch if e.change is Change.MORE_LIKE_THIS}
        for user_id, film_id in seeds.items():
            self._cancel_timer(user_id)
            self._spawn(self._refresh(user_id, film_id, "more_like_this"))
        for user_id in dict.fromkeys(e.user_id for e in batch if e.user_id not in seeds):
            self._schedule(user_id)

    def _schedule(self, user_id: str) -> None:
        now = time.monotonic()
        first = self._due[user_id][0] if user_id in self._due else now
        self._due[user_id] = (first, min(now + self._debounce, first + MAX_WAITS * self._debounce))
        if user_id not in self._timers:
            timer = asyncio.create_task(self._after_quiet(user_id))
            self._timers[user_id] = timer
            timer.add_done_callback(lambda _: self._timers.pop(user_id, None))

    def _cancel_timer(self, user_id: str) -> None:
        self._due.pop(user_id, None)
        timer = self._timers.pop(user_id, None)
        if timer is not None:
            timer.cancel()

    async def _after_quiet(self, user_id: str) -> None:
        delay = self._debounce
        while delay > 0:
            await asyncio.sleep(delay)
            delay = self._due[user_id][1] - time.monotonic()
        del self._due[user_id]
        await self._refresh(user_id, None, "event")

    async def _refresh(self, user_id: str, seed_film_id: str | None, trigger: str) -> None:
        result = await self._refresher.refresh(user_id, seed_film_id, trigger=trigger)
        log.info(
            "list_refreshed",
            user_id=user_id,
            trigger=trigger,
            status=result.status.name,
            ms=round(result.latency_seconds * 1000, 1),
        )
        self._refresher.refresh_with_llm_later(user_id, seed_film_id)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sweep(self) -> None:
        """Every ``sweep_seconds``, one pass over the stale lists, until cancelled; a
        failure ends the run (its supervisor restarts it, and the next pass starts over)."""
        while True:
            await asyncio.sleep(self._sweep_seconds)
            await self._sweep_pass()

    async def _sweep_pass(self) -> None:
        """Every list stale when the pass starts, once, in (generated, user) order, read a
        batch at a time: what a pass renews is bounded by the refreshes, not by a batch
        per period.

        A list the sweep could not renew (GigaChat's budget or breaker said no, so the
        old one was kept; or the refresh failed) keeps its old time, so the pass walks
        past it by position rather than by age: the lists behind it are reached too.
        Refreshes run one at a time, so the sweep holds one of the refresher's slots and
        the likes' own refreshes keep the others.
        """
        started = time.perf_counter()
        older_than = to_micros(self._clock() - self._max_age)
        swept = 0
        after: StaleList | None = None
        while due := await self._store.stale_lists(older_than, self._sweep_batch, after):
            for stale in due:
                result = await self._refresher.refresh(
                    stale.user_id, allow_llm=self._llm_on_events, trigger="sweep"
                )
                log.info("list_swept", user_id=stale.user_id, status=result.status.name)
            swept += len(due)
            after = due[-1]
        elapsed = time.perf_counter() - started
        log.info("sweep_finished", lists=swept, seconds=round(elapsed, 3))
