"""What the LLM source takes and gives: taste profiles, candidates, typed results."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from gigachat.models import Chat, ChatCompletion

Clock = Callable[[], float]
"""Monotonic seconds; injected so guards and tests agree on time."""

Send = Callable[[Chat], Awaitable[ChatCompletion]]
"""One chat completion over the wire: the SDK's ``GigaChat.achat``."""


class LlmMode(enum.StrEnum):
    GENERATE = "generate"
    RERANK = "rerank"


class LlmOutcome(enum.StrEnum):
    """How one request for LLM picks ended; anything but OK and CACHED means "use local"."""

    OK = "ok"
    CACHED = "cached"
    DISABLED = "disabled"
    BUDGET = "budget"
    BREAKER = "breaker"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TRANSPORT = "transport"
    INVALID_ANSWER = "invalid_answer"
    NOTHING_GROUNDED = "nothing_grounded"
    GROUNDING_ERROR = "grounding_error"
    ERROR = "error"


# GigaChat itself misbehaved: these count against the circuit breaker.
GIGACHAT_FAILURES = frozenset(
    {
        LlmOutcome.TIMEOUT,
        LlmOutcome.RATE_LIMITED,
        LlmOutcome.SERVER_ERROR,
        LlmOutcome.TRANSPORT,
        LlmOutcome.INVALID_ANSWER,
        LlmOutcome.ERROR,
    }
)


@dataclass(frozen=True)
class RatedFilm:
    """A film the user liked or disliked, as the prompt names it."""

    film_id: str
    title: str
    year: int | None = None


@dataclass(frozen=True)
class TasteProfile:
    """The user's likes and dislikes (most telling first) and the films they excluded."""

    liked: tuple[RatedFilm, ...]
    disliked: tuple[RatedFilm, ...] = ()
    excluded: frozenset[str] = frozenset()

    @property
    def rated_ids(self) -> frozenset[str]:
        return frozenset(film.film_id for film in (*self.liked, *self.disliked))


@dataclass(frozen=True)
class Candidate:
    """A film the local engines propose, offered to GigaChat for reranking."""

    film_id: str
    title: str
    year: int | None = None
    genres: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class LlmItem:
    """One catalog film GigaChat chose, with its reason in Russian."""

    film_id: str
    reason: str


@dataclass(frozen=True)
class LlmResult:
    """The answer of one ``generate`` or ``rerank``.

    ``items`` are catalog film ids only, never rated or excluded ones. When
    ``used_llm`` is false the caller answers with its local engines; ``reason`` says why.
    """

    mode: LlmMode
    outcome: LlmOutcome
    items: tuple[LlmItem, ...] = ()
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_seconds: float = 0.0
    suggested: int = 0
    grounded: int = 0
    dropped: int = 0
    model: str = field(default="")

    @property
    def used_llm(self) -> bool:
        return self.outcome in (LlmOutcome.OK, LlmOutcome.CACHED) and bool(self.items)

    @property
    def reason(self) -> str:
        return self.outcome.value

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class TitleGrounder(Protocol):
    """Finds catalog films for free-text titles (the service asks catalog.MatchTitles)."""

    async def ground(self, queries: list[tuple[str, int | None]]) -> list[str | None]:
        """One film id (or None: no confident match) per ``(title, year)``, in order."""
        ...
