"""One contract for every recommendation store backend: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.auth.store import open_store as open_auth_store
from services.recommendations.engines import Interaction, Reason, Recommended, Source
from services.recommendations.records import Change, LikesEvent, StoredList
from services.recommendations.store import RecommendationStore, StaleList, open_store
from tests.reliability.storm import cancellation_storm

STORM_WRITES = 300


@pytest.fixture(params=["sqlite", "postgresql"])
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/recommendations.db"
    return str(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
async def store(dsn: str) -> AsyncIterator[RecommendationStore]:
    opened = await open_store(dsn)
    yield opened
    await opened.close()


def event(sequence: int, user: str, film: str, change: Change) -> LikesEvent:
    return LikesEvent(sequence, user, film, change, 1_000_000 + sequence)


async def test_reopening_migrates_once_and_keeps_the_data(
    dsn: str, store: RecommendationStore
) -> None:
    await store.put_list(StoredList("u1", (), 10, True))
    again = await open_store(dsn)
    try:
        assert await again.get_list("u1") == StoredList("u1", (), 10, True)
    finally:
        await again.close()


async def test_auth_and_recommendations_can_share_one_database(dsn: str) -> None:
    # Each store keeps its schema version in a table of its own: the auth store
    # migrating first must not make this one believe it is up to date.
    auth = await open_auth_store(dsn)
    await auth.close()
    store = await open_store(dsn)
    try:
        await store.put_list(StoredList("u1", (), 10, True))
        assert await store.get_list("u1") == StoredList("u1", (), 10, True)
    finally:
        await store.close()


async def test_list_round_trips_and_is_replaced(store: RecommendationStore) -> None:
    assert await store.get_list("u1") is None
    item = Recommended(
        "f1", 0.5, (Source.CONTENT, Source.LLM), (Reason("Похоже на «Брат»", Source.CONTENT, "f0"),)
    )
    first = StoredList("u1", (item,), 10, False, (Source.CONTENT,), llm_used=True)
    await store.put_list(first)
    assert await store.get_list("u1") == first
    second = StoredList("u1", (), 20, True, (Source.POPULAR,))
    await store.put_list(second)
    assert await store.get_list("u1") == second


async def test_stale_lists_are_the_oldest_and_page_on_from_a_position(
    store: RecommendationStore,
) -> None:
    for user, generated in (("a", 30), ("b", 10), ("c", 20), ("d", 20)):
        await store.put_list(StoredList(user, (), generated, True))
    assert await store.stale_lists(25, 10) == [(10, "b"), (20, "c"), (20, "d")]
    first = await store.stale_lists(25, 2)
    assert [s.user_id for s in first] == ["b", "c"]
    assert await store.stale_lists(25, 2, after=first[-1]) == [StaleList(20, "d")]
    assert await store.stale_lists(25, 2, after=StaleList(20, "d")) == []


async def test_events_fold_into_tastes_with_the_cursor(store: RecommendationStore) -> None:
    assert await store.get_cursor("likes") == 0
    await store.apply_events(
        [
            event(1, "u", "liked", Change.LIKED),
            event(2, "u", "flipped", Change.LIKED),
            event(3, "u", "flipped", Change.DISLIKED),
            event(4, "u", "cleared", Change.LIKED),
            event(5, "u", "cleared", Change.CLEARED),
            event(6, "u", "excluded", Change.EXCLUDED),
            event(7, "u", "back", Change.EXCLUDED),
            event(8, "v", "liked", Change.LIKED),
        ],
        "likes",
    )
    await store.apply_events(
        [event(9, "u", "back", Change.INCLUDED), event(10, "u", "seed", Change.MORE_LIKE_THIS)],
        "likes",
    )
    assert await store.get_cursor("likes") == 10
    taste = await store.taste("u")
    assert taste.liked == ("liked",)
    assert taste.disliked == ("flipped",)
    assert taste.excluded == frozenset({"excluded"})
    assert sorted(await store.interactions()) == sorted(
        [
            Interaction("u", "liked", 1),
            Interaction("u", "flipped", -1),
            Interaction("v", "liked", 1),
        ]
    )


async def test_more_like_this_is_remembered_without_reordering_the_likes(
    store: RecommendationStore,
) -> None:
    await store.apply_events(
        [
            event(1, "u", "old", Change.LIKED),
            event(2, "u", "seed", Change.MORE_LIKE_THIS),
            event(3, "u", "new", Change.LIKED),
            event(4, "u", "old", Change.MORE_LIKE_THIS),  # a liked film can be a seed too
            event(5, "u", "other", Change.MORE_LIKE_THIS),
            event(6, "u", "other", Change.MORE_LIKE_THIS),  # pressed again: the latest counts
        ],
        "likes",
    )
    taste = await store.taste("u")
    assert taste.liked == ("new", "old")
    assert taste.seeds == (("other", 1_000_006), ("old", 1_000_004), ("seed", 1_000_002))
    assert taste.rated_us == (1_000_003, 1_000_001)
    assert taste.hidden == frozenset({"new", "old"})  # a seed is not a verdict
    assert sorted(await store.interactions()) == [
        Interaction("u", "new", 1),
        Interaction("u", "old", 1),
    ]


async def test_cache_entries_expire(store: RecommendationStore) -> None:
    await store.cache_put("k", '[{"film_id": "f"}]', expires_us=100)
    assert await store.cache_get("k", now_us=99) == '[{"film_id": "f"}]'
    assert await store.cache_get("k", now_us=100) is None
    await store.cache_put("k", "[]", expires_us=200)
    assert await store.cache_get("k", now_us=150) == "[]"


async def test_cancelled_writes_never_wedge_the_store_or_fold_without_the_cursor(
    store: RecommendationStore,
) -> None:
    # Each write folds two events of its own user under a cursor of its own: both
    # interactions and the cursor, or none of them.
    async def write(number: int) -> None:
        user = f"storm-{number}"
        if number % 3 == 0:
            await store.put_list(StoredList(user, (), number, True))
            return
        events = [event(1, user, "liked", Change.LIKED), event(2, user, "other", Change.LIKED)]
        await store.apply_events(events, f"cursor-{number}")

    acknowledged = await cancellation_storm(write, count=STORM_WRITES)

    await store.apply_events([event(1, "after", "liked", Change.LIKED)], "after")
    await store.put_list(StoredList("after", (), 1, True))
    assert (await store.taste("after")).liked == ("liked",)
    for number in range(STORM_WRITES):
        user = f"storm-{number}"
        if number % 3 == 0:
            stored = await store.get_list(user) is not None
        else:
            liked = set((await store.taste(user)).liked)
            cursor = await store.get_cursor(f"cursor-{number}")
            assert (liked, cursor) in ((set(), 0), ({"liked", "other"}, 2)), number
            stored = cursor == 2
        if number in acknowledged:
            assert stored, number


async def test_reads_between_writes_see_every_write_even_a_cancelled_one(
    store: RecommendationStore,
) -> None:
    # Lists and tastes are read on every request, so a store may keep them; never stale.
    assert await store.get_list("r") is None
    assert await store.taste("r") == await store.taste("r")
    for number in range(1, 6):
        await store.put_list(StoredList("r", (), number, number % 2 == 0))
        assert (await store.get_list("r")) == StoredList("r", (), number, number % 2 == 0)
        change = Change.LIKED if number % 2 else Change.DISLIKED
        await store.apply_events([event(number, "r", "film", change)], "reads")
        taste = await store.taste("r")
        assert (taste.liked, taste.disliked) == ((("film",), ()) if number % 2 else ((), ("film",)))
    write = asyncio.create_task(store.put_list(StoredList("r", (), 99, True)))
    fold = asyncio.create_task(
        store.apply_events([event(99, "r", "film", Change.EXCLUDED)], "reads")
    )
    await asyncio.sleep(0)
    write.cancel()
    fold.cancel()
    await asyncio.gather(write, fold, return_exceptions=True)
    assert (await store.get_list("r")) == StoredList("r", (), 99, True)
    assert (await store.taste("r")).excluded == frozenset({"film"})
