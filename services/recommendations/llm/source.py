"""``LlmSource``: GigaChat behind its guards, as the recommendation service calls it.

Order of the guards for one request: off? -> cached answer? -> the same profile
already in flight (share its answer)? -> budget left? -> breaker closed (or this the
half-open trial)? -> a concurrency slot -> the call with retries. Whatever says no,
the result has ``used_llm=False`` and a ``reason``, and the caller answers from its
local engines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog
from gigachat import GigaChat
from gigachat.models import Chat, ChatCompletion, Models

from services.recommendations.llm import calling, metrics, modes
from services.recommendations.llm.cache import LlmCache, MemoryLlmCache, profile_key
from services.recommendations.llm.calling import RetryPolicy
from services.recommendations.llm.guards import BreakerState, CircuitBreaker, HourlyBudget
from services.recommendations.llm.types import (
    GIGACHAT_FAILURES,
    Candidate,
    Clock,
    LlmItem,
    LlmMode,
    LlmOutcome,
    LlmResult,
    Send,
    TasteProfile,
    TitleGrounder,
)
from services.recommendations.settings import GigaChatSettings

log = structlog.get_logger(__name__)

DEFAULT_LIMIT = 20


class ChatClient(Protocol):
    """The part of the SDK's ``GigaChat`` client the source uses."""

    @property
    def achat(self) -> Send: ...

    def aget_models(self) -> Awaitable[Models]: ...

    async def aclose(self) -> None: ...


class LlmSource:
    def __init__(
        self,
        *,
        client: ChatClient | None,
        grounder: TitleGrounder,
        model: str,
        mode: LlmMode | None = LlmMode.RERANK,
        cache: LlmCache,
        budget: HourlyBudget,
        breaker: CircuitBreaker,
        max_concurrency: int,
        retry: RetryPolicy,
        cache_ttl_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._client = client
        self._grounder = grounder
        self._model = model
        self._mode = mode if client is not None else None
        self._cache = cache
        self._budget = budget
        self._breaker = breaker
        self._slots = asyncio.Semaphore(max_concurrency)
        self._retry = retry
        self._cache_ttl = cache_ttl_seconds
        self._clock = clock
        self._in_flight: dict[str, asyncio.Task[LlmResult]] = {}

    @property
    def mode(self) -> LlmMode | None:
        """The mode refreshes should use, or None when GigaChat is off."""
        return self._mode

    @property
    def enabled(self) -> bool:
        return self._mode is not None

    @property
    def breaker_state(self) -> BreakerState:
        return self._breaker.state

    @property
    def budget_remaining(self) -> int:
        return self._budget.remaining

    def publish_metrics(self) -> None:
        """Brings the gauges that change with time alone (budget, breaker) up to now."""
        self._budget.publish()
        self._breaker.publish()

    async def generate(self, profile: TasteProfile, *, limit: int = DEFAULT_LIMIT) -> LlmResult:
        """GigaChat's titles for this taste, grounded in the catalog by the grounder."""
        mode = LlmMode.GENERATE
        key = profile_key(profile, mode, self._model, limit)
        shared = dataclasses.replace(profile, excluded=frozenset())

        async def call(complete: modes.Complete) -> LlmResult:
            return await modes.generate(
                shared,
                complete=complete,
                grounder=self._grounder,
                clock=self._clock,
                model=self._model,
                limit=limit,
            )

        return await self._answer(mode, key, profile, call)

    async def rerank(
        self, profile: TasteProfile, candidates: Sequence[Candidate], *, limit: int = DEFAULT_LIMIT
    ) -> LlmResult:
        """GigaChat's choice among the local candidates, best first, with reasons."""
        mode = LlmMode.RERANK
        key = profile_key(profile, mode, self._model, limit, candidates)
        shared = dataclasses.replace(profile, excluded=frozenset())

        async def call(complete: modes.Complete) -> LlmResult:
            return await modes.rerank(
                shared,
                candidates,
                complete=complete,
                clock=self._clock,
                model=self._model,
                limit=limit,
            )

        return await self._answer(mode, key, profile, call)

    async def list_models(self) -> list[str]:
        """The models the credentials may use (a cheap check of the configuration)."""
        if self._client is None:
            return []
        models = await self._client.aget_models()
        return [model.id_ for model in models.data]

    async def aclose(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()

    async def _answer(
        self,
        mode: LlmMode,
        key: str,
        profile: TasteProfile,
        call: Callable[[modes.Complete], Awaitable[LlmResult]],
    ) -> LlmResult:
        if not self.enabled:
            return self._counted(LlmResult(mode, LlmOutcome.DISABLED))
        cached = await self._cached(key)
        if cached is not None:
            result = LlmResult(mode, LlmOutcome.CACHED, items=cached, cached=True)
            return _without(self._counted(result), profile.excluded)
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._guarded(mode, key, call))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
            result = await asyncio.shield(task)
        else:
            # Another refresh of the same taste is asking GigaChat right now: share it.
            result = await asyncio.shield(task)
            if result.used_llm:
                result = self._counted(
                    LlmResult(mode, LlmOutcome.CACHED, items=result.items, cached=True)
                )
        return _without(result, profile.excluded)

    async def _cached(self, key: str) -> tuple[LlmItem, ...] | None:
        try:
            return await self._cache.get(key)
        except Exception:
            log.exception("llm_cache_read_failed")
            return None

    async def _guarded(
        self,
        mode: LlmMode,
        key: str,
        call: Callable[[modes.Complete], Awaitable[LlmResult]],
    ) -> LlmResult:
        if self._budget.remaining == 0:
            metrics.BUDGET_REFUSALS.labels(mode=mode.value).inc()
            return self._counted(LlmResult(mode, LlmOutcome.BUDGET))
        if self._breaker.state is BreakerState.OPEN:
            return self._counted(LlmResult(mode, LlmOutcome.BREAKER))
        async with self._slots:
            # Both checked again: things changed while waiting for a slot.
            if self._budget.remaining == 0:
                metrics.BUDGET_REFUSALS.labels(mode=mode.value).inc()
                return self._counted(LlmResult(mode, LlmOutcome.BUDGET))
            trial = self._breaker.state is BreakerState.HALF_OPEN
            if not self._breaker.allow():
                return self._counted(LlmResult(mode, LlmOutcome.BREAKER))
            self._budget.try_spend()
            result = await self._judged(mode, call, trial)
        if result.used_llm:
            try:
                await self._cache.put(key, result.items, self._cache_ttl)
            except Exception:
                log.exception("llm_cache_write_failed")
        return self._observed(result)

    async def _judged(
        self, mode: LlmMode, call: Callable[[modes.Complete], Awaitable[LlmResult]], trial: bool
    ) -> LlmResult:
        """Make the call and tell the breaker how GigaChat did."""
        assert self._client is not None
        send = self._client.achat

        async def complete(chat: Chat) -> ChatCompletion:
            return await calling.complete(
                send, chat, self._retry, pay=self._budget.try_spend, mode=mode.value
            )

        judged = False
        try:
            try:
                result = await call(complete)
            except Exception:
                log.exception("llm_call_crashed", mode=mode.value)
                result = LlmResult(mode, LlmOutcome.ERROR)
            if result.outcome in GIGACHAT_FAILURES:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()
            judged = True
        finally:
            if trial and not judged:
                self._breaker.abandon()
        return result

    def _counted(self, result: LlmResult) -> LlmResult:
        metrics.CALLS.labels(mode=result.mode.value, outcome=result.outcome.value).inc()
        return result

    def _observed(self, result: LlmResult) -> LlmResult:
        mode = result.mode.value
        self._counted(result)
        if result.outcome in (LlmOutcome.BUDGET, LlmOutcome.BREAKER):
            return result
        metrics.LATENCY.labels(mode=mode).observe(result.latency_seconds)
        metrics.TOKENS.labels(kind="prompt").inc(result.prompt_tokens)
        metrics.TOKENS.labels(kind="completion").inc(result.completion_tokens)
        metrics.SUGGESTED.labels(mode=mode).inc(result.suggested)
        metrics.GROUNDED.labels(mode=mode).inc(result.grounded)
        if result.outcome in GIGACHAT_FAILURES:
            metrics.FAILURES.labels(mode=mode, kind=result.outcome.value).inc()
            log.warning("llm_call_failed", mode=mode, outcome=result.outcome.value)
        else:
            log.info(
                "llm_call",
                mode=mode,
                outcome=result.outcome.value,
                suggested=result.suggested,
                grounded=result.grounded,
                kept=len(result.items),
                tokens=result.tokens,
                latency_seconds=round(result.latency_seconds, 3),
            )
        return result


def _without(result: LlmResult, excluded: frozenset[str]) -> LlmResult:
    """The caller's exclusions, applied to any answer (cached ones are shared by profile)."""
    items = tuple(item for item in result.items if item.film_id not in excluded)
    if len(items) == len(result.items):
        return result
    outcome = result.outcome if items else LlmOutcome.NOTHING_GROUNDED
    return dataclasses.replace(result, items=items, outcome=outcome)


def create_llm_source(
    config: GigaChatSettings,
    grounder: TitleGrounder,
    *,
    cache: LlmCache | None = None,
    clock: Clock = time.monotonic,
) -> LlmSource:
    """The source as configured by ``CINEMA_GIGACHAT_*`` / ``CINEMA_LLM_*``.

    No credentials, or ``CINEMA_LLM_MODE=off``: a source that always answers DISABLED.
    """
    client: GigaChat | None = None
    mode = None if config.llm_mode == "off" else LlmMode(config.llm_mode)
    if config.gigachat_credentials and mode is not None:
        client = GigaChat(
            credentials=config.gigachat_credentials,
            scope=config.gigachat_scope,
            model=config.gigachat_model,
            base_url=config.gigachat_base_url,
            auth_url=config.gigachat_auth_url,
            verify_ssl_certs=config.gigachat_verify_ssl,
            ca_bundle_file=config.gigachat_ca_bundle_file or None,
            timeout=config.gigachat_timeout_seconds,
            max_retries=0,  # retries are ours (calling.py), each paid from the budget
        )
    return LlmSource(
        client=client,
        grounder=grounder,
        model=config.gigachat_model,
        mode=mode,
        cache=cache if cache is not None else MemoryLlmCache(clock),
        budget=HourlyBudget(config.llm_calls_per_hour, clock),
        breaker=CircuitBreaker(
            config.llm_breaker_failures, config.llm_breaker_reset_seconds, clock
        ),
        max_concurrency=config.llm_max_concurrency,
        retry=RetryPolicy(
            attempts=config.llm_retry_attempts,
            initial_backoff_seconds=config.llm_retry_backoff_seconds,
            max_backoff_seconds=config.llm_retry_max_backoff_seconds,
        ),
        cache_ttl_seconds=config.llm_cache_ttl_seconds,
        clock=clock,
    )
