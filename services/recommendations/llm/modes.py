"""The two ways GigaChat helps: *generate* titles, or *rerank* local candidates.

Each is a function of its dependencies (the call, the grounder, the clock) and returns
an ``LlmResult``; guards, cache and metrics live in ``LlmSource``. Only catalog films
the user has neither rated nor excluded ever come out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog
from gigachat.models import Chat, ChatCompletion

from services.recommendations.llm import parsing, prompts
from services.recommendations.llm.calling import LlmCallFailed
from services.recommendations.llm.types import (
    Candidate,
    Clock,
    LlmItem,
    LlmMode,
    LlmOutcome,
    LlmResult,
    TasteProfile,
    TitleGrounder,
)

log = structlog.get_logger(__name__)

Complete = Callable[[Chat], Awaitable[ChatCompletion]]
"""A guarded, retried chat call; failures leave as ``LlmCallFailed``."""


async def _ask(
    mode: LlmMode, chat: Chat, complete: Complete, clock: Clock
) -> tuple[ChatCompletion | None, LlmResult]:
    started = clock()
    try:
        completion = await complete(chat)
    except LlmCallFailed as failed:
        return None, LlmResult(mode, failed.outcome, latency_seconds=clock() - started)
    usage = completion.usage
    return completion, LlmResult(
        mode,
        LlmOutcome.OK,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        latency_seconds=clock() - started,
        model=completion.model,
    )


def _malformed(mode: LlmMode, base: LlmResult, error: parsing.MalformedAnswer) -> LlmResult:
    log.warning("gigachat_malformed_answer", mode=mode.value, error=str(error))
    return _with(base, LlmOutcome.INVALID_ANSWER)


def _with(
    base: LlmResult,
    outcome: LlmOutcome,
    items: tuple[LlmItem, ...] = (),
    suggested: int = 0,
    grounded: int = 0,
) -> LlmResult:
    return LlmResult(
        base.mode,
        outcome,
        items=items,
        prompt_tokens=base.prompt_tokens,
        completion_tokens=base.completion_tokens,
        latency_seconds=base.latency_seconds,
        suggested=suggested,
        grounded=grounded,
        dropped=suggested - len(items),
        model=base.model,
    )


async def generate(
    profile: TasteProfile,
    *,
    complete: Complete,
    grounder: TitleGrounder,
    clock: Clock,
    model: str,
    limit: int,
) -> LlmResult:
    """Ask for titles, ground each in the catalog; unmatched, rated, excluded are dropped."""
    mode = LlmMode.GENERATE
    chat = prompts.generate_chat(profile, model=model, limit=limit)
    completion, base = await _ask(mode, chat, complete, clock)
    if completion is None:
        return base
    try:
        picks = parsing.title_picks(completion, prompts.GENERATE_FUNCTION)
    except parsing.MalformedAnswer as error:
        return _malformed(mode, base, error)
    suggested = len(picks.items) + picks.malformed_items
    try:
        film_ids = await grounder.ground([(pick.title, pick.year) for pick in picks.items])
    except Exception:
        log.exception("llm_grounding_failed", mode=mode.value)
        return _with(base, LlmOutcome.GROUNDING_ERROR, suggested=suggested)
    if len(film_ids) != len(picks.items):
        log.error("llm_grounding_miscounted", asked=len(picks.items), answered=len(film_ids))
        return _with(base, LlmOutcome.GROUNDING_ERROR, suggested=suggested)
    unwanted = set(profile.rated_ids | profile.excluded)
    items: list[LlmItem] = []
    for pick, film_id in zip(picks.items, film_ids, strict=True):
        if film_id is None or film_id in unwanted or len(items) >= limit:
            continue
        unwanted.add(film_id)
        items.append(LlmItem(film_id, pick.reason))
    grounded = sum(film_id is not None for film_id in film_ids)
    if grounded < len(film_ids):
        log.info(
            "llm_titles_not_in_catalog",
            titles=[p.title for p, f in zip(picks.items, film_ids, strict=True) if f is None],
        )
    outcome = LlmOutcome.OK if items else LlmOutcome.NOTHING_GROUNDED
    return _with(base, outcome, tuple(items), suggested=suggested, grounded=grounded)


async def rerank(
    profile: TasteProfile,
    candidates: Sequence[Candidate],
    *,
    complete: Complete,
    clock: Clock,
    model: str,
    limit: int,
) -> LlmResult:
    """Let GigaChat choose among the candidates; handles that stand for none are dropped.

    The prompt names candidates by handles (``c1``, ...), mapped back to film ids with
    this request's own mapping. A handle it does not hold, a repeated one, or one
    standing for a rated or excluded film is dropped, as an unknown film id would be:
    ``suggested`` counts every item of the answer, ``grounded`` those naming a
    candidate offered (repeats included), ``dropped`` those not kept.
    """
    mode = LlmMode.RERANK
    unwanted = profile.rated_ids | profile.excluded
    offered = [c for c in candidates if c.film_id not in unwanted]
    if not offered:
        return LlmResult(mode, LlmOutcome.NOTHING_GROUNDED)
    request = prompts.rerank_chat(profile, offered, model=model, limit=limit)
    completion, base = await _ask(mode, request.chat, complete, clock)
    if completion is None:
        return base
    try:
        picks = parsing.handle_picks(completion, prompts.RERANK_FUNCTION, request.film_ids)
    except parsing.MalformedAnswer as error:
        return _malformed(mode, base, error)

    def candidate(pick: parsing.HandlePick) -> str | None:
        """The film a pick names, if it is a candidate offered."""
        return pick.film_id if pick.film_id is not None and pick.film_id not in unwanted else None

    seen: set[str] = set()
    items: list[LlmItem] = []
    for pick in picks.items:
        film_id = candidate(pick)
        if film_id is None or film_id in seen or len(items) >= limit:
            continue
        seen.add(film_id)
        items.append(LlmItem(film_id, pick.reason))
    suggested = len(picks.items) + picks.malformed_items
    grounded = sum(candidate(pick) is not None for pick in picks.items)
    if grounded < len(picks.items):
        log.info(
            "llm_ids_not_among_candidates",
            handles=[pick.handle for pick in picks.items if candidate(pick) is None],
        )
    outcome = LlmOutcome.OK if items else LlmOutcome.NOTHING_GROUNDED
    return _with(base, outcome, tuple(items), suggested=suggested, grounded=grounded)
