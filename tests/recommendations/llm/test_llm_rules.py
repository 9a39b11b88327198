"""The guards and the answer reader as plain rules, without a server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from gigachat.models import Chat, ChatCompletion

from services.recommendations.llm import (
    Candidate,
    LlmItem,
    LlmMode,
    LlmOutcome,
    MemoryLlmCache,
    decode_items,
    encode_items,
    profile_key,
)
from services.recommendations.llm.guards import BreakerState, CircuitBreaker, HourlyBudget
from services.recommendations.llm.modes import rerank
from services.recommendations.llm.parsing import MalformedAnswer, id_picks, title_picks
from services.recommendations.llm.prompts import MAX_CANDIDATES_IN_PROMPT, rerank_chat
from tests.recommendations.llm.conftest import BY_TITLE, Clock, profile


def _completion(
    content: str = "", function_call: dict[str, object] | None = None
) -> ChatCompletion:
    message: dict[str, object] = {"role": "assistant", "content": content}
    if function_call is not None:
        message["function_call"] = function_call
    return ChatCompletion.model_validate(
        {
            "choices": [{"message": message, "index": 0, "finish_reason": "stop"}],
            "created": int(time.time()),
            "model": "GigaChat",
            "object": "chat.completion",
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


def test_budget_says_no_at_once_when_spent_and_refills_after_an_hour() -> None:
    clock = Clock()
    budget = HourlyBudget(2, clock)
    assert budget.try_spend() and budget.try_spend()
    assert not budget.try_spend() and budget.remaining == 0
    clock.advance(3599)
    assert not budget.try_spend()
    clock.advance(1)
    assert budget.remaining == 2


def test_zero_budget_never_calls() -> None:
    assert not HourlyBudget(0, Clock()).try_spend()


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(3, 10, Clock())
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()


def test_breaker_trial_after_reset_closes_on_success_reopens_on_failure() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_breaker_ignores_a_late_success_from_before_it_opened() -> None:
    breaker = CircuitBreaker(1, 10, Clock())
    breaker.record_failure()
    breaker.record_success()
    assert breaker.state is BreakerState.OPEN


def test_abandoned_trial_frees_the_half_open_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    breaker.abandon()
    assert breaker.allow()


def test_taste_key_follows_the_order_of_likes_mode_model_and_candidates() -> None:
    one = profile("The Matrix", "Inception", disliked=("Memento",))
    same = profile("The Matrix", "Inception", disliked=("Memento",))
    newest_first_differs = profile("Inception", "The Matrix", disliked=("Memento",))
    key = profile_key(one, LlmMode.GENERATE, "GigaChat", 20)
    assert key == profile_key(same, LlmMode.GENERATE, "GigaChat", 20)
    assert key != profile_key(newest_first_differs, LlmMode.GENERATE, "GigaChat", 20)
    assert key != profile_key(one, LlmMode.RERANK, "GigaChat", 20)
    assert key != profile_key(one, LlmMode.GENERATE, "GigaChat-Max", 20)
    assert key != profile_key(profile("The Matrix", "Inception"), LlmMode.GENERATE, "GigaChat", 20)
    with_candidates = profile_key(one, LlmMode.RERANK, "GigaChat", 20, [Candidate("x", "X")])
    assert with_candidates != profile_key(one, LlmMode.RERANK, "GigaChat", 20)


async def test_memory_cache_keeps_entries_for_their_ttl_and_evicts_the_oldest() -> None:
    clock = Clock()
    cache = MemoryLlmCache(clock, max_entries=2)
    items = (LlmItem("f1", "Потому что"),)
    await cache.put("a", items, 10)
    await cache.put("b", items, 10)
    await cache.put("c", items, 10)
    assert await cache.get("a") is None
    assert await cache.get("b") == items
    clock.advance(10)
    assert await cache.get("b") is None


def test_cached_items_round_trip_through_json() -> None:
    items = (LlmItem("f1", "Выбор «Матрицы»"), LlmItem("f2", "Похоже"))
    assert decode_items(encode_items(items)) == items


def test_json_in_the_message_text_is_accepted_fenced_or_not() -> None:
    fenced = '```json\n{"films": [{"title": "Heat", "year": "1995", "reason": "Кино"}]}\n```'
    picks = title_picks(_completion(fenced), "recommend_films")
    assert [(p.title, p.year) for p in picks.items] == [("Heat", 1995)]
    bare = '[{"id": "f1", "reason": "Кино"}, {"id": "f2"}]'
    parsed = id_picks(_completion(bare), "choose_films")
    assert [p.film_id for p in parsed.items] == ["f1"] and parsed.malformed_items == 1


@pytest.mark.parametrize(
    "completion",
    [
        _completion(""),
        _completion("Вот фильмы: Матрица"),
        _completion(function_call={"name": "something_else", "arguments": {"films": []}}),
        _completion(function_call={"name": "recommend_films", "arguments": {"films": [1, 2]}}),
        _completion(function_call={"name": "recommend_films", "arguments": {"movies": []}}),
    ],
)
def test_unreadable_answers_are_malformed(completion: ChatCompletion) -> None:
    with pytest.raises(MalformedAnswer):
        title_picks(completion, "recommend_films")


def _candidate(title: str) -> Candidate:
    film = BY_TITLE[title]
    return Candidate(film.id, film.title, film.year, film.genres)


def _enum(chat: Chat) -> list[str]:
    films: Any = chat.model_dump()["functions"][0]["parameters"]["properties"]["films"]
    return list(films["items"]["properties"]["id"]["enum"])


def test_rerank_names_candidates_by_handles_that_belong_to_one_request() -> None:
    taste = profile("The Matrix")
    films = [_candidate(t) for t in ("Inception", "Memento", "Gattaca")]
    ids = [film.film_id for film in films]
    first = rerank_chat(taste, films, model="GigaChat", limit=2)
    second = rerank_chat(taste, films[::-1], model="GigaChat", limit=2)

    assert dict(first.film_ids) == {"c1": ids[0], "c2": ids[1], "c3": ids[2]}
    assert dict(second.film_ids) == {"c1": ids[2], "c2": ids[1], "c3": ids[0]}
    prompt = str(first.chat.messages[-1].content)
    assert "- c1 | Inception (2010) | Sci-Fi, Thriller\n- c2 | Memento (2000)" in prompt
    assert not any(f"id={film.film_id}" in prompt for film in films)
    assert _enum(first.chat) == ["c1", "c2", "c3"]
    many = [Candidate(f"film-{n}", f"Film {n}") for n in range(MAX_CANDIDATES_IN_PROMPT + 5)]
    assert list(rerank_chat(taste, many, model="GigaChat", limit=20).film_ids)[-1] == (
        f"c{MAX_CANDIDATES_IN_PROMPT}"
    )


async def test_unknown_repeated_and_unwanted_handles_are_dropped_like_unknown_ids() -> None:
    taste = profile("The Matrix", excluded=("Arrival",))
    candidates = [_candidate(t) for t in ("The Matrix", "Inception", "Arrival", "Memento")]
    answered = ["c2", "c1", "c2", "c3", BY_TITLE["Arrival"].id, "no-such-film"]
    films: list[dict[str, object]] = [{"id": h, "reason": "Кино"} for h in answered]
    sent: list[Chat] = []

    async def complete(chat: Chat) -> ChatCompletion:
        sent.append(chat)
        arguments = {"films": [*films, {"id": "c1"}]}  # the last one has no reason
        return _completion(function_call={"name": "choose_films", "arguments": arguments})

    result = await rerank(
        taste, candidates, complete=complete, clock=Clock(), model="GigaChat", limit=10
    )

    # Only Inception (c1) and Memento (c2) were offered: rated and excluded films get no handle.
    assert _enum(sent[0]) == ["c1", "c2"]
    assert result.outcome is LlmOutcome.OK
    assert [item.film_id for item in result.items] == [
        BY_TITLE["Memento"].id,
        BY_TITLE["Inception"].id,
    ]
    # c2, c1 and the repeated c2 name candidates; c3, a film id and an invented name do not.
    assert (result.suggested, result.grounded, result.dropped) == (7, 3, 5)
