"""The fitted engines the service answers from, refitted off the event loop.

A ``Recommender`` is immutable: a refit builds a new one in a worker thread and swaps
it in, so RPCs keep answering from the old one meanwhile. The catalog is fetched
again every ``catalog_refresh_seconds`` (a full fit: content features change); new
likes trigger a cheaper refit (content kept) once ``rebuild_interactions`` arrived or
``rebuild_seconds`` passed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping

import structlog

from cinema.catalog.v1 import catalog_pb2
from services.recommendations import metrics
from services.recommendations.catalog import CatalogClient, CatalogSnapshot
from services.recommendations.engines import (
    BlendConfig,
    EngineConfig,
    Recommender,
)
from services.recommendations.settings import RecommendationsSettings
from services.recommendations.store import RecommendationStore

log = structlog.get_logger(__name__)

WAKE_SECONDS = 1.0
#: Refits of new likes take at most this share of the time: after one that took t seconds
#: the next waits until t / REFIT_SHARE has passed since it began. Folding a long backlog
#: makes every batch "enough new likes", and back-to-back refits of nearly the same
#: interactions would take the core from the RPCs and the fold itself.
REFIT_SHARE = 0.2


def engine_config(weights: Mapping[str, float]) -> EngineConfig:
    """Engine settings with the configured blend weights (unknown names are an error)."""
    names = {f.name for f in dataclasses.fields(BlendConfig)}
    unknown = sorted(set(weights) - names)
    if unknown:
        raise ValueError(f"CINEMA_RECOMMENDATIONS_BLEND_WEIGHTS: unknown lists {unknown}")
    return EngineConfig(blend=BlendConfig(**{**dataclasses.asdict(BlendConfig()), **weights}))


class EngineState:
    def __init__(
        self,
        store: RecommendationStore,
        catalog: CatalogClient,
        config: RecommendationsSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._config = engine_config(config.recommendations_blend_weights)
        self._catalog_seconds = config.recommendations_catalog_refresh_seconds
        self._rebuild_seconds = config.recommendations_model_rebuild_seconds
        self._rebuild_interactions = config.recommendations_model_rebuild_interactions
        self._clock = clock
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._pending = 0
        self._catalog_at = self._fitted_at = -float("inf")  # when they were last fitted
        self._refit_seconds = 0.0  # how long the last refit took
        self.recommender: Recommender | None = None
        self.snapshot = CatalogSnapshot((), {})

    async def current(self, wait_seconds: float = 10.0) -> Recommender:
        """The fitted engines, waiting for the first fit after a start."""
        if self.recommender is None:
            async with asyncio.timeout(wait_seconds):
                await self._ready.wait()
        assert self.recommender is not None
        return self.recommender

    def summaries(self) -> Mapping[str, catalog_pb2.FilmSummary]:
        return self.snapshot.summaries

    def interactions_changed(self, count: int) -> None:
        """The projection got ``count`` new verdicts: a refit may be due."""
        self._pending += count
        if self._pending >= self._rebuild_interactions:
            self._changed.set()

    async def run(self) -> None:
        """Fits at start, then refits as the catalog and the likes change, until cancelled.

        A failed fit (the catalog or the store unreachable) ends the run; its supervisor
        (``services.kit.workers``) runs it again after a backoff, and RPCs keep answering
        from the engines fitted last meanwhile.
        """
        while True:
            now = self._clock()
            if now - self._catalog_at >= self._catalog_seconds or not self.snapshot.films:
                await self._fit_catalog()
                self._catalog_at = self._fitted_at = now
            elif (
                self._pending
                and now - self._fitted_at >= self._refit_seconds / REFIT_SHARE
                and (
                    self._pending >= self._rebuild_interactions
                    or now - self._fitted_at >= self._rebuild_seconds
                )
            ):
                await self._refit()
                self._fitted_at = now
                self._refit_seconds = self._clock() - now
            self._changed.clear()
            try:
                async with asyncio.timeout(WAKE_SECONDS):
                    await self._changed.wait()
            except TimeoutError:
                pass

    async def _fit_catalog(self) -> None:
        snapshot = await self._catalog.snapshot()
        self._pending = 0
        interactions = await self._store.interactions()
        started = time.perf_counter()
        self.recommender = await asyncio.to_thread(
            Recommender.fit, snapshot.films, interactions, self._config
        )
        self.snapshot = snapshot
        self._ready.set()
        seconds = fitted("fit", started)
        log.info(
            "recommender_fitted",
            films=len(snapshot.films),
            interactions=len(interactions),
            seconds=round(seconds, 3),
        )

    async def _refit(self) -> None:
        assert self.recommender is not None
        self._pending = 0
        interactions = await self._store.interactions()
        started = time.perf_counter()
        self.recommender = await asyncio.to_thread(self.recommender.refit, interactions)
        seconds = fitted("refit", started)
        log.info("recommender_refitted", interactions=len(interactions), seconds=round(seconds, 3))


def fitted(kind: str, started: float) -> float:
    """Records a fit that began at ``started`` (perf_counter) and just ended; its seconds."""
    seconds = time.perf_counter() - started
    metrics.MODEL_FIT_SECONDS.labels(kind).set(seconds)
    metrics.MODEL_FITTED.set_to_current_time()
    return seconds
