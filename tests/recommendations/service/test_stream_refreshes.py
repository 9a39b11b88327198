"""StreamRefreshes: one answer per user, GigaChat's picks when it behaves, local otherwise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from cinema.recommendations.v1 import recommendations_pb2 as pb
from services.stack import Stack
from tests.fakes.gigachat import Behaviour, FakeGigaChat
from tests.recommendations.service.conftest import Client, StartStack, gigachat_settings
from tests.recommendations.service.films import IDS

Connect = Callable[..., Client]


async def requests(users: list[str], allow_llm: bool) -> AsyncIterator[pb.StreamRefreshesRequest]:
    for user_id in users:
        yield pb.StreamRefreshesRequest(user_id=user_id, allow_llm=allow_llm)


async def refresh_all(
    client: Client, users: list[str], allow_llm: bool = True
) -> list[pb.StreamRefreshesResponse]:
    stream = client.recommendations.StreamRefreshes(
        requests(users, allow_llm), metadata=client.service_metadata
    )
    return [answer async for answer in stream]


async def liking(connect: Connect, stack: Stack, *titles: str) -> Client:
    user = connect(stack)
    for title in titles:
        await user.rate(IDS[title])
    await user.settled()
    return user


async def test_one_result_per_requested_user(start_stack: StartStack, connect: Connect) -> None:
    stack = await start_stack()
    fan = await liking(connect, stack, "Heat")
    newcomer = str(uuid.uuid4())
    answers = await refresh_all(fan, [fan.user_id, newcomer, fan.user_id], allow_llm=False)
    assert sorted(a.user_id for a in answers) == sorted([fan.user_id, newcomer, fan.user_id])
    by_user = {a.user_id: a for a in answers}
    assert by_user[newcomer].status == pb.REFRESH_STATUS_REFRESHED
    assert list(by_user[newcomer].sources) == [pb.SOURCE_POPULAR]
    assert by_user[fan.user_id].status in (pb.REFRESH_STATUS_UNCHANGED, pb.REFRESH_STATUS_REFRESHED)
    assert all(a.item_count > 0 and not a.llm_used for a in answers)


async def test_stream_refreshes_is_internal(start_stack: StartStack, connect: Connect) -> None:
    user = connect(await start_stack())
    stream = user.recommendations.StreamRefreshes(
        requests([user.user_id], False), metadata=user.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        _ = [answer async for answer in stream]
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_malformed_user_id_is_invalid_argument(
    start_stack: StartStack, connect: Connect
) -> None:
    user = connect(await start_stack())
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await refresh_all(user, ["not-a-uuid"])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_id" in (error.value.details() or "")


BEHAVIOURS = [
    (Behaviour.GOOD, True),
    (Behaviour.SLOW, True),
    (Behaviour.TYPOS, True),
    (Behaviour.RATE_LIMITED, False),
    (Behaviour.SERVER_ERROR, False),
    (Behaviour.INVALID_JSON, False),
    (Behaviour.HALLUCINATED, False),
]


@pytest.mark.parametrize(
    ("mode", "behaviour", "llm_wins"),
    [
        (mode, behaviour, wins)
        for mode in ("generate", "rerank")
        for behaviour, wins in BEHAVIOURS
        # Rerank answers with candidate ids: there are no titles to misspell.
        if not (mode == "rerank" and behaviour is Behaviour.TYPOS)
    ],
)
async def test_each_gigachat_behaviour_ends_in_a_correct_list(
    start_stack: StartStack,
    connect: Connect,
    fake_gigachat: FakeGigaChat,
    behaviour: Behaviour,
    llm_wins: bool,
    mode: str,
) -> None:
    stack = await start_stack(**gigachat_settings(fake_gigachat, llm_mode=mode))
    fake_gigachat.behaviour = behaviour
    fake_gigachat.slow_seconds = 0.2
    fan = await liking(connect, stack, "Inception", "Heat")
    [answer] = await refresh_all(fan, [fan.user_id])
    assert answer.status in (pb.REFRESH_STATUS_REFRESHED, pb.REFRESH_STATUS_UNCHANGED)
    assert fake_gigachat.calls["chat"] >= 1
    stored = await fan.my_list(page_size=100)
    shown = [item.film.id for item in stored.items]
    assert IDS["Inception"] not in shown and IDS["Heat"] not in shown
    llm_items = [i for i in stored.items if pb.SOURCE_LLM in i.sources]
    assert all(item.film.title for item in stored.items)  # catalog films only
    if behaviour is Behaviour.HALLUCINATED:
        llm_wins = mode == "rerank"  # one real candidate among invented ids: grounded
    if llm_wins:
        assert answer.llm_used and pb.SOURCE_LLM in answer.sources
        assert llm_items
        assert all(
            any(r.text.startswith("Выбор GigaChat: ") for r in item.reasons) for item in llm_items
        )
    else:
        assert not answer.llm_used and not llm_items
        assert answer.item_count == len(stored.items) > 0
        assert "llm:" in answer.detail


async def test_budget_holds_under_a_burst_of_200_refreshes(
    start_stack: StartStack, connect: Connect, fake_gigachat: FakeGigaChat
) -> None:
    stack = await start_stack(
        **gigachat_settings(fake_gigachat, llm_mode="generate", llm_calls_per_hour=5)
    )
    users = await many_fans(connect, stack, 200)
    answers = await refresh_all(users[0], [u.user_id for u in users])
    assert len(answers) == 200
    assert fake_gigachat.calls["chat"] <= 5
    statuses = {a.status for a in answers}
    assert pb.REFRESH_STATUS_SKIPPED_BUDGET in statuses
    assert pb.REFRESH_STATUS_FAILED not in statuses


async def test_breaker_holds_under_a_burst_of_200_refreshes(
    start_stack: StartStack, connect: Connect, fake_gigachat: FakeGigaChat
) -> None:
    settings = gigachat_settings(
        fake_gigachat,
        llm_mode="generate",
        llm_retry_attempts=1,
        llm_breaker_failures=3,
        llm_max_concurrency=2,
        llm_calls_per_hour=10_000,
    )
    stack = await start_stack(**settings)
    fake_gigachat.behaviour = Behaviour.SERVER_ERROR
    users = await many_fans(connect, stack, 200)
    answers = await refresh_all(users[0], [u.user_id for u in users])
    assert len(answers) == 200
    # Calls already waiting for a slot when the breaker opened may still go out.
    assert fake_gigachat.calls["chat"] <= 3 + 2
    assert all(a.status != pb.REFRESH_STATUS_FAILED and not a.llm_used for a in answers)


async def many_fans(connect: Connect, stack: Stack, count: int) -> list[Client]:
    """``count`` users, each with one like of a few different films (distinct tastes)."""
    titles = list(IDS)
    users = [connect(stack) for _ in range(count)]
    for n, user in enumerate(users):
        await user.rate(IDS[titles[n % len(titles)]])
    # 200 refreshes queue behind each other on a loaded machine: these tests are about the
    # budget and the breaker, not about how soon the last of 200 lists is made.
    await users[-1].list_until(lambda r: not r.fallback, seconds=15)
    return users


async def test_a_title_that_swells_when_normalised_does_not_spoil_the_real_ones(
    start_stack: StartStack, connect: Connect, fake_gigachat: FakeGigaChat
) -> None:
    # 300 characters as written, 5,400 once normalised: the catalog refuses such a title.
    swelling = "\ufdfa" * 300
    real = [title for title, _ in fake_gigachat.catalog if title not in ("Inception", "Heat")]
    fake_gigachat.catalog = [(real[0], None), (swelling, None), *((t, None) for t in real[1:4])]
    stack = await start_stack(**gigachat_settings(fake_gigachat, llm_mode="generate"))
    fan = await liking(connect, stack, "Inception", "Heat")
    [answer] = await refresh_all(fan, [fan.user_id])
    assert answer.llm_used, answer.detail
    stored = await fan.my_list(page_size=100)
    picked = {item.film.id for item in stored.items if pb.SOURCE_LLM in item.sources}
    assert picked == {IDS[title] for title in real[:4]}


async def test_a_waiting_person_does_not_queue_behind_background_refreshes(
    start_stack: StartStack, connect: Connect, fake_gigachat: FakeGigaChat
) -> None:
    """While every background slot is held (here by a slow GigaChat refresh, as it is by the
    pipeline's refreshes while it folds a long backlog), a new user's first page and a
    user's own refresh are still made at once, in their own slots."""
    stack = await start_stack(
        **gigachat_settings(fake_gigachat, gigachat_timeout_seconds=10.0),
        recommendations_refresh_concurrency=1,
    )
    fan = await liking(connect, stack, "Inception", "Heat")
    fake_gigachat.behaviour = Behaviour.SLOW
    fake_gigachat.slow_seconds = 6.0
    background = asyncio.create_task(refresh_all(fan, [fan.user_id]))
    async with asyncio.timeout(10):
        while fake_gigachat.in_flight == 0:  # noqa: ASYNC110 - the fake offers no event
            await asyncio.sleep(0.02)
    newcomer = connect(stack)
    async with asyncio.timeout(3):
        first = await newcomer.my_list()
        refreshed = await newcomer.recommendations.RefreshMyRecommendations(
            pb.RefreshMyRecommendationsRequest(), metadata=newcomer.metadata
        )
    assert first.fallback and first.items
    assert refreshed.items
    assert not background.done() and fake_gigachat.in_flight == 1
    background.cancel()
