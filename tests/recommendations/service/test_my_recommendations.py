"""GetMyRecommendations, RefreshMyRecommendations and WatchMyRecommendations for a user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from prometheus_client import REGISTRY

from cinema.recommendations.v1 import recommendations_pb2 as pb
from services.stack import Stack
from tests.recommendations.service.conftest import Client, StartStack, film_ids
from tests.recommendations.service.films import GENRE_OF, IDS

Connect = Callable[[Stack], Client]


async def test_user_without_likes_gets_the_top_rated_fallback(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack())
    answer = await me.my_list(page_size=3)
    assert answer.fallback
    assert film_ids(answer) == [IDS["The Godfather"], IDS["Inception"], IDS["Goodfellas"]]
    assert all(item.reasons[0].text == "Высокий рейтинг" for item in answer.items)
    assert answer.items[0].film.title == "The Godfather"
    assert answer.generate_time.seconds > 0


async def test_like_refreshes_the_list_within_a_second(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack())
    before = await me.my_list()
    await me.rate(IDS["Heat"])
    after = await me.list_until(lambda r: not r.fallback, seconds=1.0)
    assert after.generate_time.ToMicroseconds() > before.generate_time.ToMicroseconds()
    assert IDS["Heat"] not in film_ids(after)
    assert all("Crime" in GENRE_OF[film] for film in film_ids(after)[:3])
    assert IDS["Collateral"] in film_ids(after)[:5]  # same director, same genre
    reasons = [r.text for item in after.items for r in item.reasons]
    assert "Похоже на «Heat»" in reasons


async def test_excluded_film_disappears_at_once_even_from_the_stored_list(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack(recommendations_debounce_seconds=5.0))
    first = await me.my_list(page_size=5)
    assert IDS["The Godfather"] in film_ids(first)
    await me.exclude(IDS["The Godfather"])
    # The debounced refresh is seconds away: the old list is filtered when read.
    after = await me.list_until(lambda r: IDS["The Godfather"] not in film_ids(r), seconds=0.5)
    assert after.generate_time == first.generate_time


async def test_pages_read_again_and_again_follow_a_rating_made_between_reads(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack(recommendations_debounce_seconds=5.0))
    first = await me.my_list(page_size=3)
    assert await me.my_list(page_size=3) == first
    rated = film_ids(first)[0]
    await me.rate(rated, like=False)
    # Same list (the refresh is seconds away), but the film is gone from every page.
    again = await me.list_until(lambda r: rated not in film_ids(r), seconds=0.5)
    assert again.generate_time == first.generate_time
    page = await me.my_list(page_size=3)
    following = await me.my_list(page_size=3, page_token=page.next_page_token)
    assert film_ids(page) + film_ids(following) == film_ids(again)[:6]
    assert rated not in film_ids(page) + film_ids(following)


async def test_burst_of_likes_makes_one_refresh(start_stack: StartStack, connect: Connect) -> None:
    stack = await start_stack(recommendations_debounce_seconds=0.3)
    me = connect(stack)
    before = refreshes("event")
    for title in ("Heat", "Casino", "Goodfellas", "Collateral"):
        await me.rate(IDS[title])
    await me.list_until(lambda r: not r.fallback)
    await asyncio.sleep(0.5)
    assert refreshes("event") - before == 1


def has_reason(text: str) -> Callable[[pb.GetMyRecommendationsResponse], bool]:
    return lambda r: any(reason.text == text for item in r.items for reason in item.reasons)


async def test_more_like_this_moves_similar_films_up(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack())
    await me.rate(IDS["Heat"])
    crime = await me.list_until(lambda r: not r.fallback)
    rank_before = film_ids(crime).index(IDS["Arrival"])
    await me.more_like_this(IDS["Dune"])
    seeded = await me.list_until(has_reason("Похоже на «Dune»"))
    assert seeded.generate_time != crime.generate_time
    ranked = film_ids(seeded)
    assert ranked.index(IDS["Arrival"]) < rank_before
    assert set(ranked[:2]) == {IDS["Arrival"], IDS["Blade Runner 2049"]}  # same director
    assert IDS["Dune"] not in ranked


async def test_more_like_this_still_pulls_after_the_next_like(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack(recommendations_debounce_seconds=0.2))
    await me.rate(IDS["Heat"])
    await me.list_until(lambda r: not r.fallback)
    await me.more_like_this(IDS["Dune"])
    await me.list_until(has_reason("Похоже на «Dune»"))
    await me.rate(IDS["Casino"])
    later = await me.list_until(has_reason("Похоже на «Casino»"))  # the like's refresh
    villeneuve = {IDS["Arrival"], IDS["Blade Runner 2049"]}
    assert villeneuve <= set(film_ids(later)[:5])
    reasons = {reason.text for item in later.items[:5] for reason in item.reasons}
    assert "Похоже на «Dune»" in reasons


async def test_list_pages_follow_one_another(start_stack: StartStack, connect: Connect) -> None:
    me = connect(await start_stack())
    first = await me.my_list(page_size=7)
    second = await me.my_list(page_size=7, page_token=first.next_page_token)
    everything = await me.my_list(page_size=100)
    assert film_ids(first) + film_ids(second) == film_ids(everything)[:14]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await me.my_list(page_size=-1)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in (error.value.details() or "")


async def test_refresh_now_returns_the_new_first_page(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack(recommendations_debounce_seconds=5.0))
    old = await me.my_list()
    await me.rate(IDS["Amelie"])
    await asyncio.sleep(0.3)  # the like reaches the recommender's projection through the log
    request = pb.RefreshMyRecommendationsRequest(page_size=5)
    fresh = await me.recommendations.RefreshMyRecommendations(request, metadata=me.metadata)
    assert not fresh.fallback and len(fresh.items) == 5
    assert fresh.generate_time.ToMicroseconds() > old.generate_time.ToMicroseconds()
    assert "Romance" in GENRE_OF[fresh.items[0].film.id]


async def test_watch_pushes_a_new_list_after_a_like(
    start_stack: StartStack, connect: Connect
) -> None:
    me = connect(await start_stack())
    request = pb.WatchMyRecommendationsRequest(page_size=5)
    stream = me.recommendations.WatchMyRecommendations(request, metadata=me.metadata)
    async with asyncio.timeout(3):
        first = await stream.read()
        assert first.fallback
        await me.rate(IDS["Before Sunrise"])
        second = await stream.read()
    stream.cancel()
    assert not second.fallback
    assert IDS["Before Sunset"] in [item.film.id for item in second.items]


def refreshes(trigger: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "cinema_recommendation_refreshes_total", {"trigger": trigger, "status": status}
        )
        or 0.0
        for status in ("refreshed", "unchanged")
    )
