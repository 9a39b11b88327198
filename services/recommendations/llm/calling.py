"""One GigaChat call with retries: exponential backoff with jitter on 429, 5xx, timeouts.

The SDK's own retries stay off (``max_retries=0``) so that every attempt passes
through here: each one is paid for from the hourly budget and counted. Errors leave
as ``LlmCallFailed`` carrying the outcome the caller reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pydantic
import structlog
from gigachat.exceptions import GigaChatException, RateLimitError, ResponseError, ServerError
from gigachat.models import Chat, ChatCompletion
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from services.recommendations.llm import metrics
from services.recommendations.llm.types import LlmOutcome, Send

log = structlog.get_logger(__name__)

_RETRYABLE = frozenset(
    {LlmOutcome.TIMEOUT, LlmOutcome.RATE_LIMITED, LlmOutcome.SERVER_ERROR, LlmOutcome.TRANSPORT}
)


class LlmCallFailed(Exception):
    def __init__(self, outcome: LlmOutcome, detail: str) -> None:
        super().__init__(f"{outcome.value}: {detail}")
        self.outcome = outcome


class _OutOfBudget(Exception):
    """A retry was due but the hour's budget is spent."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0


def classify(error: BaseException) -> LlmOutcome:
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return LlmOutcome.TIMEOUT
    if isinstance(error, httpx.TransportError):
        return LlmOutcome.TRANSPORT
    if isinstance(error, RateLimitError):
        return LlmOutcome.RATE_LIMITED
    if isinstance(error, ServerError) or (
        isinstance(error, ResponseError) and error.status_code >= 500
    ):
        return LlmOutcome.SERVER_ERROR
    if isinstance(error, pydantic.ValidationError | ValueError):
        # The SDK could not even read the response body into its models.
        return LlmOutcome.INVALID_ANSWER
    return LlmOutcome.ERROR


def _is_retryable(error: BaseException) -> bool:
    return not isinstance(error, _OutOfBudget) and classify(error) in _RETRYABLE


class _Wait:
    """Exponential backoff with jitter, but never shorter than a 429's Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._exponential = wait_exponential_jitter(
            multiplier=policy.initial_backoff_seconds,
            max=policy.max_backoff_seconds,
            jitter=policy.initial_backoff_seconds,
        )
        self._max = policy.max_backoff_seconds

    def __call__(self, state: RetryCallState) -> float:
        delay = float(self._exponential(state))
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitError) and error.retry_after > 0:
            delay = max(delay, min(error.retry_after, self._max))
        return delay


async def complete(
    send: Send, chat: Chat, policy: RetryPolicy, *, pay: Callable[[], bool], mode: str
) -> ChatCompletion:
    """Send ``chat``, retrying transient failures while ``pay()`` grants each attempt."""
    attempt = 0

    async def once() -> ChatCompletion:
        nonlocal attempt
        attempt += 1
        if attempt > 1:
            if not pay():
                metrics.BUDGET_REFUSALS.labels(mode=mode).inc()
                raise _OutOfBudget
            metrics.RETRIES.labels(mode=mode).inc()
        return await send(chat)

    last: BaseException | None = None
    try:
        async for try_ in AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=_Wait(policy),
            retry=retry_if_exception(_is_retryable),
            reraise=True,
        ):
            with try_:
                try:
                    return await once()
                except _OutOfBudget:
                    raise
                except (
                    GigaChatException,
                    httpx.HTTPError,
                    pydantic.ValidationError,
                    ValueError,
                ) as exc:
                    last = exc
                    log.warning(
                        "gigachat_attempt_failed",
                        mode=mode,
                        attempt=attempt,
                        outcome=classify(exc).value,
                        error=type(exc).__name__,
                    )
                    raise
    except _OutOfBudget:
        assert last is not None
        raise LlmCallFailed(classify(last), f"budget spent after {attempt - 1} attempts") from last
    except (GigaChatException, httpx.HTTPError, pydantic.ValidationError, ValueError) as exc:
        raise LlmCallFailed(
            classify(exc), f"{type(exc).__name__} after {attempt} attempts"
        ) from exc
    raise AssertionError("unreachable: tenacity either returns or reraises")
