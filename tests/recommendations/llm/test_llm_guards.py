"""Budget, breaker and cache hold GigaChat's cost down, even under a burst of refreshes."""

from __future__ import annotations

import asyncio

from services.recommendations.llm import BreakerState, LlmOutcome, RatedFilm, TasteProfile
from tests.fakes.gigachat import Behaviour, FakeGigaChat
from tests.recommendations.llm.conftest import Clock, MakeSource, profile

BURST = 200


def _someone(n: int) -> TasteProfile:
    """A distinct taste per user, so the cache does not absorb the burst."""
    return TasteProfile((RatedFilm(f"liked-{n}", f"Любимый фильм {n}", 2000),))


async def test_burst_of_refreshes_spends_no_more_than_the_budget(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    source = make_source(llm_calls_per_hour=5, llm_max_concurrency=2)

    results = await asyncio.gather(*(source.generate(_someone(n)) for n in range(BURST)))

    assert fake.calls["chat"] == 5
    assert fake.max_in_flight <= 2
    outcomes = [r.outcome for r in results]
    assert outcomes.count(LlmOutcome.BUDGET) == BURST - 5
    assert sum(r.used_llm for r in results) <= 5
    assert source.budget_remaining == 0


async def test_budget_comes_back_as_the_hour_slides(
    fake: FakeGigaChat, make_source: MakeSource, clock: Clock
) -> None:
    source = make_source(llm_calls_per_hour=1)
    assert (await source.generate(_someone(1))).used_llm
    assert (await source.generate(_someone(2))).outcome is LlmOutcome.BUDGET

    clock.advance(3600)

    assert (await source.generate(_someone(3))).used_llm
    assert fake.calls["chat"] == 2


async def test_retries_are_paid_from_the_budget_too(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.behaviour = Behaviour.SERVER_ERROR
    source = make_source(llm_calls_per_hour=2, llm_retry_attempts=5)

    result = await source.generate(_someone(1))

    assert result.outcome is LlmOutcome.SERVER_ERROR
    assert fake.calls["chat"] == 2


async def test_breaker_opens_under_a_failing_burst_and_stops_calls(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.behaviour = Behaviour.SERVER_ERROR
    source = make_source(llm_breaker_failures=3, llm_retry_attempts=1, llm_max_concurrency=2)

    results = await asyncio.gather(*(source.generate(_someone(n)) for n in range(BURST)))

    assert source.breaker_state is BreakerState.OPEN
    assert fake.calls["chat"] <= 3 + 2  # the threshold, plus what was already in flight
    assert [r.outcome for r in results].count(LlmOutcome.BREAKER) >= BURST - 5
    assert not any(r.used_llm for r in results)

    calls = fake.calls["chat"]
    fake.behaviour = Behaviour.GOOD
    assert (await source.generate(_someone(BURST))).outcome is LlmOutcome.BREAKER
    assert fake.calls["chat"] == calls


async def test_breaker_half_opens_after_reset_and_a_good_trial_closes_it(
    fake: FakeGigaChat, make_source: MakeSource, clock: Clock
) -> None:
    fake.behaviour = Behaviour.SERVER_ERROR
    source = make_source(llm_breaker_failures=2, llm_breaker_reset_seconds=30, llm_retry_attempts=1)
    for n in range(2):
        await source.generate(_someone(n))
    assert source.breaker_state is BreakerState.OPEN

    clock.advance(30)
    assert source.breaker_state is BreakerState.HALF_OPEN
    fake.behaviour = Behaviour.GOOD

    assert (await source.generate(_someone(10))).used_llm
    assert source.breaker_state is BreakerState.CLOSED
    assert (await source.generate(_someone(11))).used_llm


async def test_half_open_lets_one_trial_through_and_a_failed_trial_reopens(
    fake: FakeGigaChat, make_source: MakeSource, clock: Clock
) -> None:
    fake.behaviour = Behaviour.SERVER_ERROR
    source = make_source(llm_breaker_failures=1, llm_breaker_reset_seconds=30, llm_retry_attempts=1)
    await source.generate(_someone(0))
    clock.advance(30)
    calls = fake.calls["chat"]

    results = await asyncio.gather(*(source.generate(_someone(n)) for n in range(1, 21)))

    assert fake.calls["chat"] == calls + 1
    assert [r.outcome for r in results].count(LlmOutcome.SERVER_ERROR) == 1
    assert source.breaker_state is BreakerState.OPEN


async def test_same_taste_twice_makes_one_gigachat_call(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    source = make_source()
    taste = profile("The Matrix", "Inception", disliked=("Memento",))
    again = profile("The Matrix", "Inception", disliked=("Memento",))

    first = await source.generate(taste)
    second = await source.generate(again)

    assert fake.calls["chat"] == 1
    assert first.used_llm and not first.cached
    assert second.used_llm and second.cached and second.outcome is LlmOutcome.CACHED
    assert second.items == first.items


async def test_concurrent_refreshes_of_one_taste_share_one_call(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    source = make_source()
    taste = profile("The Matrix")

    results = await asyncio.gather(*(source.generate(taste) for _ in range(10)))

    assert fake.calls["chat"] == 1
    assert all(r.used_llm for r in results)
    assert len({r.items for r in results}) == 1


async def test_cached_answer_still_honours_a_new_exclusion(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    source = make_source()
    first = await source.generate(profile("The Matrix"))
    gone = first.items[0].film_id
    excluding = TasteProfile(profile("The Matrix").liked, excluded=frozenset({gone}))

    second = await source.generate(excluding)

    assert second.cached and gone not in {item.film_id for item in second.items}
    assert fake.calls["chat"] == 1


async def test_cache_expires_after_its_ttl(
    fake: FakeGigaChat, make_source: MakeSource, clock: Clock
) -> None:
    source = make_source(llm_cache_ttl_seconds=60)
    await source.generate(profile("The Matrix"))
    clock.advance(61)

    again = await source.generate(profile("The Matrix"))

    assert again.used_llm and not again.cached
    assert fake.calls["chat"] == 2


async def test_failed_answers_are_not_cached(fake: FakeGigaChat, make_source: MakeSource) -> None:
    fake.behaviour = Behaviour.HALLUCINATED
    source = make_source()
    await source.generate(profile("The Matrix"))
    fake.behaviour = Behaviour.GOOD

    assert (await source.generate(profile("The Matrix"))).used_llm
    assert fake.calls["chat"] == 2
