"""The likes store contract, run against every backend (SQLite and MongoDB/FerretDB)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.likes.feedback import Feedback
from services.likes.records import EventKind, FilmState, PageCursor, Rating
from services.likes.store import LikesStore
from services.likes.store_mongo import MongoLikesStore
from tests.likes.stores import BACKENDS, likes_dsn, logged, open_backend
from tests.reliability.storm import cancellation_storm

ALICE, BOB = "user-alice", "user-bob"
FILMS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 11)]
F1, F2, F3 = FILMS[:3]
STORM_WRITES = 600


@pytest.fixture(params=BACKENDS)
def store_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return likes_dsn(request, request.param, tmp_path)


@pytest.fixture
async def store(store_dsn: str) -> AsyncIterator[LikesStore]:
    opened = await open_backend(store_dsn)
    yield opened
    await opened.close()


async def test_same_rating_twice_changes_nothing_and_logs_one_event(store: LikesStore) -> None:
    first = await Feedback(store).rate(ALICE, F1, Rating.LIKE, 1_000)
    again = await Feedback(store).rate(ALICE, F1, Rating.LIKE, 2_000)
    assert first.changed and not again.changed
    assert again.rating.updated_us == 1_000
    events = await logged(store)
    assert [(e.sequence, e.user_id, e.film_id, e.kind) for e in events] == [
        (1, ALICE, F1, EventKind.FILM_LIKED)
    ]


async def test_rating_is_replaced_then_cleared_once(store: LikesStore) -> None:
    await Feedback(store).rate(ALICE, F1, Rating.LIKE, 1_000)
    replaced = await Feedback(store).rate(ALICE, F1, Rating.DISLIKE, 2_000)
    assert replaced.changed and replaced.rating.rating is Rating.DISLIKE
    assert await Feedback(store).clear_rating(ALICE, F1, 3_000)
    assert not await Feedback(store).clear_rating(ALICE, F1, 4_000)
    assert (await store.list_ratings(ALICE, None, None, 10)).items == []
    kinds = [e.kind for e in await logged(store)]
    assert kinds == [EventKind.FILM_LIKED, EventKind.FILM_DISLIKED, EventKind.RATING_CLEARED]


async def test_a_rating_replaced_within_the_same_microsecond_is_stored(
    store: LikesStore,
) -> None:
    await Feedback(store).rate(ALICE, F1, Rating.LIKE, 1_000)
    assert (await Feedback(store).rate(ALICE, F1, Rating.DISLIKE, 1_000)).changed
    (stored,) = (await store.list_ratings(ALICE, None, None, 10)).items
    assert stored.rating is Rating.DISLIKE


async def test_exclusion_is_listed_until_included(store: LikesStore) -> None:
    assert await Feedback(store).exclude(ALICE, F1, 1_000)
    assert not await Feedback(store).exclude(ALICE, F1, 2_000)
    assert await Feedback(store).exclude(ALICE, F2, 3_000)
    page = await store.list_exclusions(ALICE, None, 10)
    assert [(x.film_id, x.created_us) for x in page.items] == [(F2, 3_000), (F1, 1_000)]
    assert await Feedback(store).include(ALICE, F1, 4_000)
    assert not await Feedback(store).include(ALICE, F1, 5_000)
    assert [x.film_id for x in (await store.list_exclusions(ALICE, None, 10)).items] == [F2]
    kinds = [e.kind for e in await logged(store)]
    assert kinds == [
        EventKind.FILM_EXCLUDED,
        EventKind.FILM_EXCLUDED,
        EventKind.FILM_INCLUDED,
    ]


async def test_rating_and_exclusion_of_one_film_are_independent(store: LikesStore) -> None:
    await Feedback(store).exclude(ALICE, F1, 1_000)
    assert (await Feedback(store).rate(ALICE, F1, Rating.LIKE, 2_000)).changed
    assert await Feedback(store).include(ALICE, F1, 3_000)
    assert [r.film_id for r in (await store.list_ratings(ALICE, None, None, 10)).items] == [F1]


async def test_every_more_like_this_request_is_an_event(store: LikesStore) -> None:
    await Feedback(store).record_more_like_this(ALICE, F1, 1_000)
    await Feedback(store).record_more_like_this(ALICE, F1, 2_000)
    events = await logged(store)
    assert [(e.kind, e.time_us) for e in events] == [
        (EventKind.MORE_LIKE_THIS_REQUESTED, 1_000),
        (EventKind.MORE_LIKE_THIS_REQUESTED, 2_000),
    ]


async def test_ratings_page_newest_first_with_kind_filter(store: LikesStore) -> None:
    for n, film in enumerate(FILMS[:5]):
        await Feedback(store).rate(
            ALICE, film, Rating.LIKE if n % 2 == 0 else Rating.DISLIKE, 1_000 + n
        )
    seen, cursor = [], None
    while True:
        page = await store.list_ratings(ALICE, None, cursor, 2)
        seen += [r.film_id for r in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == list(reversed(FILMS[:5]))
    likes = await store.list_ratings(ALICE, Rating.LIKE, None, 10)
    assert [r.film_id for r in likes.items] == [FILMS[4], FILMS[2], FILMS[0]]
    assert likes.next_cursor is None


async def test_same_time_ratings_page_without_skips_or_repeats(store: LikesStore) -> None:
    for film in FILMS:
        await Feedback(store).rate(ALICE, film, Rating.LIKE, 5_000)
    first = await store.list_ratings(ALICE, None, None, 4)
    assert first.next_cursor == PageCursor(5_000, first.items[-1].film_id)
    rest = await store.list_ratings(ALICE, None, first.next_cursor, 100)
    assert [r.film_id for r in first.items + rest.items] == sorted(FILMS, reverse=True)


async def test_another_users_data_is_invisible(store: LikesStore) -> None:
    await Feedback(store).rate(ALICE, F1, Rating.LIKE, 1_000)
    await Feedback(store).exclude(ALICE, F2, 1_000)
    assert (await store.list_ratings(BOB, None, None, 10)).items == []
    assert (await store.list_exclusions(BOB, None, 10)).items == []
    assert not await Feedback(store).clear_rating(BOB, F1, 2_000)
    assert not await Feedback(store).include(BOB, F2, 2_000)


async def test_film_stats_count_likes_and_dislikes(store: LikesStore) -> None:
    for n, user in enumerate(["u1", "u2", "u3"]):
        await Feedback(store).rate(user, F1, Rating.LIKE if n < 2 else Rating.DISLIKE, 1_000)
    await Feedback(store).rate("u1", F2, Rating.DISLIKE, 1_000)
    await Feedback(store).rate("u2", F3, Rating.LIKE, 1_000)
    await Feedback(store).clear_rating("u2", F3, 2_000)
    stats = await store.film_stats([F1, F2, F3, FILMS[9]])
    assert {f: (s.likes, s.dislikes) for f, s in stats.items()} == {F1: (2, 1), F2: (0, 1)}


async def test_film_states_say_what_the_user_said_of_each_given_film(store: LikesStore) -> None:
    await Feedback(store).rate(ALICE, F1, Rating.LIKE, 1_000)
    await Feedback(store).rate(ALICE, F2, Rating.LIKE, 1_000)
    await Feedback(store).rate(ALICE, F2, Rating.DISLIKE, 2_000)
    await Feedback(store).exclude(ALICE, F2, 3_000)
    await Feedback(store).exclude(ALICE, F3, 4_000)
    await Feedback(store).rate(ALICE, FILMS[3], Rating.LIKE, 5_000)
    await Feedback(store).clear_rating(ALICE, FILMS[3], 6_000)
    await Feedback(store).rate(BOB, FILMS[4], Rating.LIKE, 1_000)
    states = await store.film_states(ALICE, [F1, F2, F3, FILMS[3], FILMS[4], FILMS[9]])
    assert states == {
        F1: FilmState(Rating.LIKE, 1_000, None),
        F2: FilmState(Rating.DISLIKE, 2_000, 3_000),
        F3: FilmState(None, None, 4_000),
    }
    assert await store.film_states(ALICE, []) == {}
    assert await store.film_states(BOB, [F1, F2, F3]) == {}


async def test_event_log_reads_after_a_sequence_and_by_kind(store: LikesStore) -> None:
    await Feedback(store).rate(ALICE, F1, Rating.LIKE, 1_000)
    await Feedback(store).exclude(ALICE, F2, 2_000)
    await Feedback(store).rate(ALICE, F3, Rating.DISLIKE, 3_000)
    await logged(store)
    assert await store.last_sequence() == 3
    assert [e.sequence for e in await store.events_after(1, 10)] == [2, 3]
    liked = await store.events_after(0, 10, [EventKind.FILM_EXCLUDED])
    assert [(e.sequence, e.film_id) for e in liked] == [(2, F2)]
    assert [e.sequence for e in await store.events_after(0, 2)] == [1, 2]


async def test_changes_of_one_film_are_logged_in_order_despite_clock_skew(
    store: LikesStore,
) -> None:
    await Feedback(store).rate(ALICE, F1, Rating.LIKE, 2_000)
    await Feedback(store).rate(ALICE, F1, Rating.DISLIKE, 1_000)  # another replica, a clock behind
    kinds = [e.kind for e in await logged(store)]
    assert kinds == [EventKind.FILM_LIKED, EventKind.FILM_DISLIKED]
    assert (await store.list_ratings(ALICE, None, None, 10)).items[0].rating is Rating.DISLIKE


async def test_concurrent_writers_log_exactly_their_changes_in_order(store: LikesStore) -> None:
    async def user_writes(user: str) -> list[tuple[str, EventKind]]:
        changes = []
        for n in range(25):
            film = FILMS[n % len(FILMS)]
            rating = Rating.LIKE if n % 3 else Rating.DISLIKE
            if (await Feedback(store).rate(user, film, rating, n)).changed:
                changes.append((film, EventKind.FILM_LIKED if n % 3 else EventKind.FILM_DISLIKED))
        return changes

    users = [f"user-{n}" for n in range(8)]
    expected = dict(zip(users, await asyncio.gather(*map(user_writes, users)), strict=True))
    events = await logged(store)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert len({e.event_id for e in events}) == len(events)
    for user in users:
        assert [(e.film_id, e.kind) for e in events if e.user_id == user] == expected[user]


async def test_cursor_persists_and_lease_has_one_holder(store: LikesStore) -> None:
    assert await store.get_cursor("kafka:t") == 0
    await store.set_cursor("kafka:t", 42)
    assert await store.get_cursor("kafka:t") == 42
    assert await store.acquire_lease("relay", "a", 30)
    assert await store.acquire_lease("relay", "a", 30)
    assert not await store.acquire_lease("relay", "b", 30)
    assert await store.acquire_lease("other", "b", 0.01)
    await asyncio.sleep(0.05)
    assert await store.acquire_lease("other", "a", 30)


async def test_relay_crash_between_log_and_outbox_pop_logs_each_event_once(
    mongodb_url: str, mongo_database_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = f"{mongodb_url.rstrip('/')}/{mongo_database_name}"
    crashing = await open_backend(dsn, lease_seconds=0.2)
    assert isinstance(crashing, MongoLikesStore)
    await Feedback(crashing).rate(ALICE, F1, Rating.LIKE, 1_000)
    await Feedback(crashing).exclude(ALICE, F1, 2_000)

    async def crash(change: object) -> None:
        raise ConnectionError("killed between the log insert and the outbox pop")

    monkeypatch.setattr(crashing, "_mark_logged", crash)
    with pytest.raises(ConnectionError):
        await crashing.relay_outbox()
    await crashing.close()
    await asyncio.sleep(0.3)  # the crashed relay's lease expires

    survivor = await open_backend(dsn)
    await Feedback(survivor).rate(BOB, F2, Rating.DISLIKE, 3_000)
    events = await logged(survivor)
    assert [(e.sequence, e.user_id, e.kind) for e in events] == [
        (1, ALICE, EventKind.FILM_LIKED),
        (2, ALICE, EventKind.FILM_EXCLUDED),
        (3, BOB, EventKind.FILM_DISLIKED),
    ]
    assert await survivor.relay_outbox() == 0
    await survivor.close()


async def test_cancelled_writes_never_wedge_the_store_or_split_a_change_from_its_event(
    store: LikesStore,
) -> None:
    # Each write is the only change of its own user, so its state and its event are
    # easy to pair up afterwards: both present or both absent, present if acknowledged.
    async def write(number: int) -> None:
        user = f"storm-{number}"
        if number % 2:
            await Feedback(store).exclude(user, F1, number)
        else:
            await Feedback(store).rate(user, F1, Rating.LIKE, number)

    acknowledged = await cancellation_storm(write, count=STORM_WRITES)

    assert (await Feedback(store).rate(ALICE, F2, Rating.LIKE, 10_000)).changed
    assert await Feedback(store).exclude(BOB, F2, 10_001)
    logged_users = {e.user_id for e in await logged(store)}
    for number in range(STORM_WRITES):
        user = f"storm-{number}"
        if number % 2:
            stored = bool((await store.list_exclusions(user, None, 1)).items)
        else:
            stored = bool((await store.list_ratings(user, None, None, 1)).items)
        assert stored == (user in logged_users), user
        if number in acknowledged:
            assert stored, user
    assert {ALICE, BOB} <= logged_users


async def test_mongo_log_reads_across_its_buckets(
    mongo_database_name: str, mongodb_url: str
) -> None:
    dsn = f"{mongodb_url.rstrip('/')}/{mongo_database_name}"
    store = await MongoLikesStore.open(dsn, 10.0, log_bucket=2)
    try:
        assert await store.last_sequence() == 0
        assert await store.events_after(0, 10) == []
        for n, film in enumerate(FILMS[:5]):
            await Feedback(store).rate(ALICE, film, Rating.LIKE, 1_000 + n)
            await store.relay_outbox()
            assert await store.last_sequence() == n + 1  # full buckets, half-full ones
        await Feedback(store).exclude(ALICE, F1, 9_000)
        events = await logged(store)
        assert [e.sequence for e in events] == [1, 2, 3, 4, 5, 6]
        assert [e.film_id for e in events[:5]] == FILMS[:5]
        assert [e.sequence for e in await store.events_after(1, 3)] == [2, 3, 4]
        assert [e.sequence for e in await store.events_after(4, 10)] == [5, 6]
        assert await store.events_after(6, 10) == []
        excluded = await store.events_after(0, 10, [EventKind.FILM_EXCLUDED])
        assert [(e.sequence, e.film_id) for e in excluded] == [(6, F1)]
    finally:
        await store.close()


async def test_mongo_log_of_one_collection_is_moved_into_buckets(
    mongo_database_name: str, mongodb_url: str
) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url)
    legacy = client[mongo_database_name]["events"]
    await legacy.insert_many(
        [
            {"_id": f"e{n}", "sequence": n, "user_id": ALICE, "film_id": FILMS[n], "kind": 1}
            | {"time_us": n}
            for n in (1, 2, 3)
        ]
    )
    await client.close()
    dsn = f"{mongodb_url.rstrip('/')}/{mongo_database_name}"
    store = await MongoLikesStore.open(dsn, 10.0, log_bucket=2)
    try:
        assert await store.last_sequence() == 3
        events = await store.events_after(0, 10)
        assert [(e.sequence, e.event_id, e.film_id) for e in events] == [
            (n, f"e{n}", FILMS[n]) for n in (1, 2, 3)
        ]
        await Feedback(store).rate(BOB, F1, Rating.LIKE, 5_000)
        assert [e.sequence for e in await logged(store)] == [1, 2, 3, 4]
    finally:
        await store.close()


async def test_mongo_relays_taking_turns_continue_one_dense_log(
    mongo_database_name: str, mongodb_url: str
) -> None:
    dsn = f"{mongodb_url.rstrip('/')}/{mongo_database_name}"
    first = await MongoLikesStore.open(dsn, 0.1, log_bucket=2)
    second = await MongoLikesStore.open(dsn, 0.1, log_bucket=2)
    try:
        for n, film in enumerate(FILMS[:6]):
            relay = (first, second)[n // 2 % 2]  # two in a row each: a remembered end, then not
            await Feedback(relay).rate(ALICE, film, Rating.LIKE, 1_000 + n)
            assert await relay.relay_outbox() == 1
            await asyncio.sleep(0.15)  # the lease lapses; the other one takes it next
        events = await first.events_after(0, 10)
        assert [(e.sequence, e.film_id) for e in events] == list(enumerate(FILMS[:6], 1))
    finally:
        await first.close()
        await second.close()
