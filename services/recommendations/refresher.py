"""One refresh of one user's list: local engines, GigaChat when allowed, store, notify.

Refreshes run at most ``recommendations_refresh_concurrency`` at a time; the same
request (user, seed, LLM or not) already running is joined, not repeated. GigaChat
sees the local candidates (rerank) or the user's likes (generate); whatever it
says no to, the local list is stored.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from services.kit.signals import WakeUp
from services.kit.timestamps import to_micros
from services.recommendations import metrics
from services.recommendations.engines import FilmInfo, LlmPick, Profile, Recommender, Source
from services.recommendations.engines_state import EngineState
from services.recommendations.llm import (
    Candidate,
    LlmItem,
    LlmMode,
    LlmOutcome,
    LlmResult,
    LlmSource,
    RatedFilm,
    TasteProfile,
    decode_items,
    encode_items,
)
from services.recommendations.records import StoredList, Taste
from services.recommendations.seeds import fading_seeds, with_pressed
from services.recommendations.settings import RecommendationsSettings
from services.recommendations.store import RecommendationStore

log = structlog.get_logger(__name__)

LLM_LIMIT = 20
RERANK_CANDIDATES = 30
PROMPT_FILMS = 20  # liked (and disliked) films named in a prompt, newest first
#: Refreshes a person waits on (a new user's first page, RefreshMyRecommendations).
WAITED_ON = frozenset({"first_read", "user"})


class RefreshStatus(enum.IntEnum):
    """How one refresh ended (numbers: the proto's ``RefreshStatus``)."""

    REFRESHED = 1
    UNCHANGED = 2
    FAILED = 3
    SKIPPED_BUDGET = 4


@dataclass(frozen=True)
class RefreshResult:
    user_id: str
    status: RefreshStatus
    stored: StoredList | None  # the list kept after the refresh
    llm_used: bool = False  # GigaChat's picks are in the stored list
    latency_seconds: float = 0.0
    detail: str = ""


class StoreLlmCache:
    """GigaChat's answers by taste profile, kept in the recommendation store."""

    def __init__(self, store: RecommendationStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def get(self, key: str) -> tuple[LlmItem, ...] | None:
        found = await self._store.cache_get(key, to_micros(self._clock()))
        return None if found is None else decode_items(found)

    async def put(self, key: str, items: tuple[LlmItem, ...], ttl_seconds: float) -> None:
        if ttl_seconds > 0:
            expires_us = to_micros(self._clock()) + int(ttl_seconds * 1_000_000)
            await self._store.cache_put(key, encode_items(items), expires_us)


def taste_profile(taste: Taste, films: dict[str, FilmInfo]) -> TasteProfile:
    def rated(film_ids: tuple[str, ...]) -> tuple[RatedFilm, ...]:
        known = [films[f] for f in film_ids if f in films][:PROMPT_FILMS]
        return tuple(RatedFilm(f.id, f.title, f.year) for f in known)

    return TasteProfile(rated(taste.liked), rated(taste.disliked), taste.excluded)


def list_sources(stored_items: tuple[object, ...]) -> tuple[Source, ...]:
    """The sources of a list's items, the most frequent first."""
    counts: dict[Source, int] = {}
    for item in stored_items:
        for source in getattr(item, "sources", ()):
            counts[source] = counts.get(source, 0) + 1
    return tuple(sorted(counts, key=lambda s: -counts[s]))


class Refresher:
    def __init__(
        self,
        store: RecommendationStore,
        engines: EngineState,
        llm: LlmSource,
        watchers: WakeUp,
        config: RecommendationsSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._engines = engines
        self._llm = llm
        self._watchers = watchers
        self._clock = clock
        self._list_size = config.recommendations_list_size
        self._seed_half_life = config.recommendations_seed_half_life_seconds
        self._seed_fade = config.recommendations_seed_fade_per_action
        self._llm_after_local = config.recommendations_llm_on_events
        # A person waiting on a refresh takes a slot of its own: it never queues behind
        # the pipeline's refreshes, which fill every slot while it folds a long backlog.
        self._slots = asyncio.Semaphore(config.recommendations_refresh_concurrency)
        self._waiting_slots = asyncio.Semaphore(config.recommendations_refresh_concurrency)
        self._running: dict[tuple[str, str | None, bool], asyncio.Task[RefreshResult]] = {}
        self._background: set[asyncio.Task[RefreshResult]] = set()

    @property
    def llm_enabled(self) -> bool:
        return self._llm.enabled

    async def current(self, user_id: str) -> StoredList | None:
        """The user's stored list; their first one is made on the spot (None while the
        engines cannot make one yet)."""
        stored = await self._store.get_list(user_id)
        if stored is None:
            stored = (await self.refresh(user_id, trigger="first_read")).stored
        return stored

    async def refresh(
        self,
        user_id: str,
        seed_film_id: str | None = None,
        allow_llm: bool = False,
        trigger: str = "request",
    ) -> RefreshResult:
        """Refreshes the user's list (or joins the same refresh already running)."""
        key = (user_id, seed_film_id, allow_llm and self._llm.enabled)
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(self._bounded(user_id, seed_film_id, key[2], trigger))
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(task)

    def refresh_with_llm_later(self, user_id: str, seed_film_id: str | None = None) -> None:
        """After a local refresh: let GigaChat improve the list in the background."""
        if not (self._llm_after_local and self._llm.enabled):
            return
        task = asyncio.create_task(self.refresh(user_id, seed_film_id, True, "llm_follow_up"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        for task in [*self._background, *self._running.values()]:
            task.cancel()
        await asyncio.gather(*self._background, *self._running.values(), return_exceptions=True)

    async def _bounded(
        self, user_id: str, seed_film_id: str | None, allow_llm: bool, trigger: str
    ) -> RefreshResult:
        started = time.perf_counter()
        async with self._waiting_slots if trigger in WAITED_ON else self._slots:
            try:
                result = await self._refresh(user_id, seed_film_id, allow_llm)
            except TimeoutError:
                result = RefreshResult(
                    user_id, RefreshStatus.FAILED, None, detail="models not ready"
                )
            except Exception:
                log.exception("refresh_failed", user_id=user_id)
                previous = await self._previous(user_id)
                result = RefreshResult(user_id, RefreshStatus.FAILED, previous, detail="internal")
        elapsed = time.perf_counter() - started
        metrics.REFRESHES.labels(trigger, result.status.name.lower()).inc()
        metrics.REFRESH_SECONDS.labels(trigger).observe(elapsed)
        return RefreshResult(
            result.user_id, result.status, result.stored, result.llm_used, elapsed, result.detail
        )

    async def _previous(self, user_id: str) -> StoredList | None:
        try:
            return await self._store.get_list(user_id)
        except Exception:
            return None

    async def _refresh(
        self, user_id: str, seed_film_id: str | None, allow_llm: bool
    ) -> RefreshResult:
        recommender = await self._engines.current()
        taste = await self._store.taste(user_id)
        fading = fading_seeds(
            taste, to_micros(self._clock()), self._seed_half_life, self._seed_fade
        )
        seeds = with_pressed(fading, seed_film_id)
        profile = Profile(taste.liked, taste.disliked, taste.excluded, seeds)
        local = await asyncio.to_thread(recommender.recommend, profile, self._list_size)
        items, fallback = local.items, local.fallback
        previous = await self._store.get_list(user_id)
        llm_used, detail = False, ""
        if allow_llm and taste.liked:
            answer = await self._ask_llm(recommender, taste, [i.film_id for i in items])
            detail = f"llm: {answer.reason}"
            if answer.used_llm:
                picks = [LlmPick(i.film_id, i.reason) for i in answer.items]
                blended = await asyncio.to_thread(
                    recommender.recommend, profile, self._list_size, picks
                )
                items, llm_used = blended.items, any(Source.LLM in i.sources for i in blended.items)
            elif answer.outcome in (LlmOutcome.BUDGET, LlmOutcome.BREAKER) and previous:
                return RefreshResult(user_id, RefreshStatus.SKIPPED_BUDGET, previous, detail=detail)
        stored = StoredList(
            user_id,
            tuple(items),
            to_micros(self._clock()),
            fallback,
            list_sources(tuple(items)),
            llm_used,
        )
        await self._store.put_list(stored)
        changed = previous is None or (previous.film_ids, previous.fallback) != (
            stored.film_ids,
            stored.fallback,
        )
        if changed:
            self._watchers.notify(user_id)
        status = RefreshStatus.REFRESHED if changed else RefreshStatus.UNCHANGED
        return RefreshResult(user_id, status, stored, llm_used, detail=detail)

    async def _ask_llm(
        self, recommender: Recommender, taste: Taste, local_ids: list[str]
    ) -> LlmResult:
        films = recommender.films
        profile = taste_profile(taste, films)
        if self._llm.mode is LlmMode.GENERATE:
            return await self._llm.generate(profile, limit=LLM_LIMIT)
        candidates = [
            Candidate(f.id, f.title, f.year, f.genres)
            for f in (films[i] for i in local_ids[:RERANK_CANDIDATES] if i in films)
        ]
        return await self._llm.rerank(profile, candidates, limit=LLM_LIMIT)
