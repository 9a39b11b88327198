"""Each way GigaChat can answer ends in LLM picks or a clear "use your local engines"."""

from __future__ import annotations

import copy
import itertools
import re
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.recommendations.llm import Candidate, LlmOutcome
from tests.fakes.gigachat import (
    Behaviour,
    FakeGigaChat,
    Invalid,
    answer_text,
    estimate_tokens,
    prompt_text,
)
from tests.recommendations.llm.conftest import (
    BY_TITLE,
    CATALOG,
    CatalogGrounder,
    MakeSource,
    profile,
)

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
CANDIDATES = [
    Candidate(film.id, film.title, film.year, film.genres, 1.0 - n / 10)
    for n, film in enumerate(CATALOG[3:9])
]


def _enum(request: dict[str, Any]) -> list[str]:
    films = request["functions"][0]["parameters"]["properties"]["films"]
    return list(films["items"]["properties"]["id"]["enum"])


def _with_uuids(request: dict[str, Any], film_ids: list[str]) -> dict[str, Any]:
    """The same request as it was before issue 13: ``- id=<film id> |`` lines, ids enum."""
    by_handle = dict(zip(_enum(request), film_ids, strict=True))
    old = copy.deepcopy(request)
    message = old["messages"][-1]
    message["content"] = re.sub(
        r"^- (c\d+) \|",
        lambda line: f"- id={by_handle[line.group(1)]} |",
        message["content"],
        flags=re.MULTILINE,
    )
    films = old["functions"][0]["parameters"]["properties"]["films"]
    films["items"]["properties"]["id"]["enum"] = film_ids
    return old


def _failures(mode: str, kind: str) -> float:
    labels = {"mode": mode, "kind": kind}
    return REGISTRY.get_sample_value("cinema_llm_failures_total", labels) or 0.0


async def test_good_answer_gives_grounded_films_with_russian_reasons(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    taste = profile("The Matrix", "Inception", disliked=("Memento",))  # newest first
    result = await make_source().generate(taste, limit=5)

    assert result.used_llm and result.outcome is LlmOutcome.OK
    catalog_ids = {film.id for film in CATALOG}
    assert {item.film_id for item in result.items} <= catalog_ids
    assert all(CYRILLIC.search(item.reason) for item in result.items)
    assert (result.suggested, result.grounded, result.dropped) == (5, 5, 0)
    assert result.tokens > 0
    request = fake.chat_requests[0]
    prompt = request["messages"][-1]["content"]
    assert "The Matrix (1999)" in prompt and "Memento (2000)" in prompt
    assert "сначала самые недавние" in prompt
    assert prompt.index("The Matrix (1999)") < prompt.index("Inception (2010)")
    assert request["functions"][0]["name"] == "recommend_films"
    assert request["function_call"] == {"name": "recommend_films"}


async def test_rated_and_excluded_films_never_come_back(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.answer_size = 10
    excluded = ("Inception", "Arrival")
    result = await make_source().generate(profile("The Matrix", excluded=excluded))

    returned = {item.film_id for item in result.items}
    assert result.used_llm
    assert not returned & {BY_TITLE[t].id for t in ("The Matrix", *excluded)}


async def test_titles_with_typos_are_grounded_in_the_catalog(
    fake: FakeGigaChat, make_source: MakeSource, grounder: CatalogGrounder
) -> None:
    fake.behaviour = Behaviour.TYPOS
    result = await make_source().generate(profile("Memento"), limit=5)

    assert result.used_llm and grounder.calls == 1
    expected = [film.id for film in CATALOG if film.title != "Memento"][:5]
    assert [item.film_id for item in result.items] == expected
    assert result.grounded == result.suggested == 5


async def test_hallucinated_titles_are_all_dropped_and_not_used(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.behaviour = Behaviour.HALLUCINATED
    result = await make_source().generate(profile("The Matrix"))

    assert not result.used_llm and result.outcome is LlmOutcome.NOTHING_GROUNDED
    assert result.items == ()
    assert (result.suggested, result.grounded, result.dropped) == (5, 0, 5)


@pytest.mark.parametrize("invalid", list(Invalid))
async def test_malformed_answer_is_counted_and_never_shown(
    fake: FakeGigaChat, make_source: MakeSource, invalid: Invalid
) -> None:
    fake.behaviour, fake.invalid = Behaviour.INVALID_JSON, invalid
    before = _failures("generate", "invalid_answer")

    result = await make_source().generate(profile("The Matrix"))

    assert not result.used_llm and result.outcome is LlmOutcome.INVALID_ANSWER
    assert result.items == ()
    assert _failures("generate", "invalid_answer") == before + 1
    assert fake.calls["chat"] == 1  # a bad answer is not retried


async def test_slow_gigachat_times_out_and_the_caller_falls_back(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.behaviour, fake.slow_seconds = Behaviour.SLOW, 0.3
    source = make_source(gigachat_timeout_seconds=0.2, llm_retry_attempts=2)

    result = await source.generate(profile("The Matrix"))

    assert not result.used_llm and result.outcome is LlmOutcome.TIMEOUT
    assert fake.calls["chat"] == 2


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        (Behaviour.RATE_LIMITED, LlmOutcome.RATE_LIMITED),
        (Behaviour.SERVER_ERROR, LlmOutcome.SERVER_ERROR),
    ],
)
async def test_429_and_500_are_retried_then_given_up(
    fake: FakeGigaChat, make_source: MakeSource, behaviour: Behaviour, outcome: LlmOutcome
) -> None:
    fake.behaviour = behaviour
    before = _failures("generate", outcome.value)

    result = await make_source(llm_retry_attempts=3).generate(profile("The Matrix"))

    assert not result.used_llm and result.outcome is outcome
    assert fake.calls["chat"] == 3
    attempts = [r.at for r in fake.requests if r.path.endswith("/chat/completions")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert len(gaps) == 2 and min(gaps) >= 0.01  # the backoff's floor
    assert _failures("generate", outcome.value) == before + 1


async def test_a_retry_after_a_transient_error_can_still_succeed(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.script = [Behaviour.RATE_LIMITED, Behaviour.SERVER_ERROR]

    result = await make_source(llm_retry_attempts=3).generate(profile("The Matrix"))

    assert result.used_llm
    assert fake.calls["chat"] == 3


async def test_retry_waits_at_least_what_retry_after_asks(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    fake.script, fake.retry_after = [Behaviour.RATE_LIMITED], "0.2"
    source = make_source(llm_retry_attempts=2, llm_retry_max_backoff_seconds=1.0)

    result = await source.generate(profile("The Matrix"))

    assert result.used_llm
    first, second = (r for r in fake.requests if r.path.endswith("/chat/completions"))
    assert second.at - first.at >= 0.2


async def test_rerank_picks_only_among_the_candidates_with_reasons(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    source = make_source(llm_mode="rerank")
    result = await source.rerank(profile("The Matrix"), CANDIDATES, limit=3)

    assert result.used_llm
    assert [item.film_id for item in result.items] == [c.film_id for c in CANDIDATES[:3]]
    assert all(CYRILLIC.search(item.reason) for item in result.items)
    request = fake.chat_requests[0]
    assert request["functions"][0]["name"] == "choose_films"
    prompt = request["messages"][-1]["content"]
    # Candidates are named by handles, c1 for the first offered; their ids stay out.
    assert all(f"- c{n} | {c.title} ({c.year})" in prompt for n, c in enumerate(CANDIDATES, 1))
    assert not any(c.film_id in prompt for c in CANDIDATES)
    assert _enum(request) == [f"c{n}" for n in range(1, len(CANDIDATES) + 1)]


async def test_rerank_with_handles_costs_at_least_30_percent_fewer_tokens_than_with_ids(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    """A refresh offers 30 candidates (``RERANK_CANDIDATES``) with UUIDs, asks for 20."""
    fake.answer_size = 20
    taste = profile("The Matrix", "Inception", "Arrival", disliked=("Memento",))
    candidates = [
        Candidate(str(uuid.uuid5(uuid.NAMESPACE_URL, f"film-{n}")), f.title, f.year, f.genres)
        for n, f in enumerate(CATALOG * 3)
    ]
    film_ids = [c.film_id for c in candidates]

    result = await make_source(llm_mode="rerank").rerank(taste, candidates, limit=20)

    assert result.used_llm and [item.film_id for item in result.items] == film_ids[:20]
    [request] = fake.chat_requests
    with_handles = estimate_tokens(prompt_text(request))
    with_ids = estimate_tokens(prompt_text(_with_uuids(request, film_ids)))
    assert result.prompt_tokens == with_handles  # the fake's usage is what the source counts
    assert with_handles <= 0.7 * with_ids
    # The answer names films the same way, so it is cheaper too.
    chosen = [{"id": item.film_id, "reason": item.reason} for item in result.items]
    answer_with_ids = {"function_call": {"name": "choose_films", "arguments": {"films": chosen}}}
    assert result.completion_tokens < estimate_tokens(answer_text(answer_with_ids))


@pytest.mark.parametrize("behaviour", [b for b in Behaviour if b is not Behaviour.SLOW])
async def test_rerank_never_returns_a_film_outside_the_candidates(
    fake: FakeGigaChat, make_source: MakeSource, behaviour: Behaviour
) -> None:
    fake.behaviour = behaviour
    source = make_source(llm_mode="rerank", llm_retry_attempts=1)
    candidates = CANDIDATES[:4]

    result = await source.rerank(profile("The Matrix", excluded=("Blade Runner",)), candidates)

    allowed = {c.film_id for c in candidates} - {BY_TITLE["Blade Runner"].id}
    assert {item.film_id for item in result.items} <= allowed
    if behaviour is Behaviour.HALLUCINATED:
        assert result.used_llm and result.dropped == 2


async def test_without_credentials_gigachat_is_off(
    fake: FakeGigaChat, make_source: MakeSource
) -> None:
    source = make_source(gigachat_credentials="")

    result = await source.generate(profile("The Matrix"))

    assert not source.enabled and source.mode is None
    assert not result.used_llm and result.outcome is LlmOutcome.DISABLED
    assert fake.calls.total() == 0


async def test_configured_models_are_listed(fake: FakeGigaChat, make_source: MakeSource) -> None:
    assert "GigaChat" in await make_source().list_models()
